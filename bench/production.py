"""5. Production start (/start.sh): requests per second and memory, by worker count."""

from __future__ import annotations

import os
import re
import shutil
import time

from bench import stacks
from bench.report import Table, say
from bench.stacks import RUN_ID, free_port, run
from bench.timing import ok, poll, stats

WRK = ["wrk", "-t2", "-c32"]
SEED_HOST_CORES = 8  # what the seed's formula does on a bigger host, in a one-CPU container


def _rps(port: int, seconds: int) -> float:
    done = run([*WRK, f"-d{seconds}s", f"http://127.0.0.1:{port}/health"], timeout=seconds + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if not m:
        raise RuntimeError(f"wrk gave no Requests/sec:\n{done.stdout[-500:]}")
    return float(m.group(1))


def _mib(text: str) -> float:
    m = re.match(r"([\d.]+)\s*([KMG]i?B)", text.strip())
    if not m:
        return float("nan")
    scale = {"KiB": 1 / 1024, "KB": 1 / 1024, "MiB": 1, "MB": 1, "GiB": 1024, "GB": 1024}
    return float(m.group(1)) * scale[m.group(2)]


def _memory(name: str) -> tuple[float, float, int]:
    """(cgroup MiB from docker stats, sum of the processes' RSS in MiB, worker count)."""
    usage = run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", name]).stdout
    top = run(["docker", "top", name, "-eo", "pid,rss,args"]).stdout.splitlines()[1:]
    rss = sum(int(line.split()[1]) for line in top if line.split()) / 1024
    workers = sum(1 for line in top if "gunicorn" in line) - 1
    return _mib(usage.split("/")[0]), rss, max(workers, 0)


def _config(
    image: str, label: str, *, cpus: str | None, workers: int | None, reps: int, seconds: int
) -> list[str]:
    name = f"{RUN_ID}-prod-{free_port()}"
    port = free_port()
    argv = ["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80"]
    argv += ["-e", "REDIS_URL=redis://127.0.0.1:6379/0"]
    if cpus:
        argv += ["--cpus", cpus]
    if workers:
        argv += ["-e", f"WEB_CONCURRENCY={workers}"]
    run([*argv, image, "/start.sh"])
    try:
        poll(f"http://127.0.0.1:{port}/health", ok, timeout=60, every=0.1)
        _rps(port, 2)  # warm-up
        values = []
        for rep in range(reps):
            values.append(_rps(port, seconds))
            say(f"  production {label} {rep + 1}/{reps}: {values[-1]:.0f} req/s")
        cgroup, rss, count = _memory(name)
    finally:
        run(["docker", "rm", "-f", name], check=False)
    st = stats(values)
    return [
        label,
        str(count),
        f"{st.median:.0f}",
        f"{st.min:.0f}",
        f"{st.max:.0f}",
        f"{cgroup:.0f}",
        f"{rss:.0f}",
    ]


def measure(reps: int, seconds: int) -> list[Table]:
    if not shutil.which("wrk"):
        return [Table("Production mode", ["-"], [], ["wrk is not installed: not measured."])]
    say("production: the fastapi-redis app image (built once)")
    image = stacks.app_image()
    host = os.cpu_count() or 1
    seed = max(2, host)
    rows = []
    for label, cpus, workers in (
        ("default workers, --cpus 1", "1", None),
        ("default workers, no CPU limit", None, None),
        (f"seed's formula (max(2, {host} host cores)), --cpus 1", "1", seed),
        (f"seed's formula on a {SEED_HOST_CORES}-core host, --cpus 1", "1", SEED_HOST_CORES),
    ):
        say(f"production: {label}")
        rows.append(_config(image, label, cpus=cpus, workers=workers, reps=reps, seconds=seconds))
        time.sleep(0.5)
    base = float(rows[0][2])
    for r in rows:
        r.insert(5, f"{float(r[2]) / base:.2f}x")
    return [
        Table(
            "Production mode: /start.sh under load",
            [
                "configuration",
                "workers",
                "median req/s",
                "min req/s",
                "max req/s",
                "ratio to the first",
                "memory, cgroup (MiB)",
                "memory, sum of RSS (MiB)",
            ],
            rows,
            [
                f"`{' '.join(WRK)} -d{seconds}s http://127.0.0.1:PORT/health` against `docker run` "
                "of the built fastapi-redis app image (/health touches no Redis), after a 2 s "
                "warm-up; memory read after the load.",
                f"The seed sized workers as max(2, host cores x WORKERS_PER_CORE): {seed} on this "
                f"host, whatever the container's CPU limit.",
                "wrk runs on the same 2 cores as the server, so absolute figures are low; compare "
                "the rows.",
            ],
        )
    ]
