"""7. A remote engine (scripts/remote-engine, reached over ssh): devstack's code sync beside
`docker compose watch` with a sync rule, on the same project and engine, in one run.

Edit-to-served latency, the initial sync of a 10,000-file tree, a 3,000-change burst to
"serving the final state", and `devstack up` to ready, remote vs local.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from bench import reload, stacks
from bench.report import Table, Target, say, timing_table
from bench.stacks import ROOT, Project
from bench.timing import Stats, poll, ratio, stats, timed

SCRIPT = ROOT / "scripts" / "remote-engine"
WATCH_OVERRIDE = """\
services:
  app:
    command: ["/start-reload.sh"]
    user: root  # compose watch cannot copy into a container whose user is "10001:10001"
    ports: !override
      - "127.0.0.1:${APP_PORT}:80"
    develop:
      watch:
        - action: sync
          path: ./
          target: /app
          initial_sync: true
          ignore: [.devstack/, .git/, __pycache__/]
"""
_SYNCED = re.compile(r"synced the code: (\d+) sent, (\d+) deleted of (\d+) paths in ([\d.]+)s")


def _start_engine() -> str:
    done = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/remote-engine start failed: {done.stderr[-500:]}")
    return done.stdout.strip().splitlines()[-1].split("=", 1)[1]


def _remote(project: Project, host: str) -> Project:
    project.env["DOCKER_HOST"] = host
    stacks._PROJECTS.remove(project)  # taken down here, before the engine goes
    return project


def _forward(host: str, port: int) -> subprocess.Popen[bytes]:
    """An ssh forward of one port, for compose watch (devstack makes its own)."""
    target = host.removeprefix("ssh://")
    proc = subprocess.Popen(
        ["ssh", "-N", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o",
         "ExitOnForwardFailure=yes", "-L", f"127.0.0.1:{port}:127.0.0.1:{port}", target],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    return proc


def _bulk(root: Path, files: int) -> Path:
    bulk = root / "bulk"
    for i in range(files):
        d = bulk / f"d{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i:05d}.py").write_text(f"VALUE = {i}\n")
    return bulk


def _burst(bulk: Path, main: Path, message: str) -> None:
    """3,000 changes: 1,000 files created, 1,000 changed, 1,000 deleted; then an edit."""
    for i in range(1000):
        d = bulk / f"d{i // 100:03d}"
        (d / f"new{i:05d}.py").write_text(f"NEW = {i}\n")
        (d / f"m{i:05d}.py").write_text(f"CHANGED = {i}\n")
        (bulk / f"d{(i + 1000) // 100:03d}" / f"m{i + 1000:05d}.py").unlink()
    text = main.read_text()
    main.write_text(re.sub(r'MESSAGE = "[^"]*"', f'MESSAGE = "{message}"', text))


def _served(project: Project, message: str, start: float, timeout: float = 120) -> float:
    return poll(project.url(), lambda s, b: s == 200 and message in b, timeout=timeout,
                start=start)  # fmt: skip


def _exists(project: Project, path: str) -> bool:
    done = project.compose("exec", "-T", "app", "test", "-e", path, check=False, timeout=60)
    return done.returncode == 0


def _devstack_run(host: str, edits: int, files: int) -> dict[str, object]:
    """devstack on the remote engine: edit latency, initial sync of `files`, the burst."""
    p = _remote(stacks.example("fastapi-redis", "remote-devstack"), host)
    try:
        p.devstack("up")  # builds the image on the remote engine
        main = p.dir / "app" / "main.py"
        say(f"remote devstack: {edits} edits")
        edit = reload.edit_series(p.url(), main, edits, "remote")
        p.devstack("down")
        bulk = _bulk(p.dir, files)
        say(f"remote devstack: up with {files} new files to sync")
        out = p.devstack("up").stdout
        m = _SYNCED.search(out)
        initial = float(m.group(4)) if m else float("nan")
        sent = int(m.group(1)) if m else 0
        say("remote devstack: the 3,000-change burst")
        start = time.monotonic()
        _burst(bulk, main, "after-the-burst")
        burst = _served(p, "after-the-burst", start)
        return {"edit": edit, "initial": initial, "sent": sent, "burst": burst}
    finally:
        p.devstack("down", "-v", check=False)
        p.compose("down", "-v", "--rmi", "local", check=False)


def _watch_run(host: str, edits: int, files: int) -> dict[str, object]:
    """compose watch (sync rule) on the same project and engine."""
    p = _remote(stacks.example("fastapi-redis", "remote-watch"), host)
    p.files = ("compose.watch.yaml",)
    stacks.write_override(p, "compose.watch.yaml", WATCH_OVERRIDE)
    forward = _forward(host, int(p.env["APP_PORT"]))
    watch: subprocess.Popen[str] | None = None
    try:
        p.compose("up", "-d", "--build", "--wait")

        log = p.dir.parent / "compose-watch.log"  # outside the watched tree

        def start_watch() -> subprocess.Popen[str]:
            """compose watch, returned once it says it watches (its output in a file)."""
            log.write_text("")
            proc = subprocess.Popen(
                p.compose_argv("watch", "--no-up"), cwd=p.dir, env=p.full_env,
                stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + 120
            while "Watch enabled" not in log.read_text() and time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"compose watch exited: {log.read_text()[-500:]}")
                time.sleep(0.1)
            return proc

        watch = start_watch()
        main = p.dir / "app" / "main.py"
        say(f"remote compose watch: {edits} edits")
        edit = reload.edit_series(p.url(), main, edits, "watch")
        watch.terminate()
        watch.wait(30)
        bulk = _bulk(p.dir, files)
        last = f"/app/bulk/d{(files - 1) // 100:03d}/m{files - 1:05d}.py"
        say(f"remote compose watch: initial sync of {files} new files")
        start = time.monotonic()
        watch = start_watch()  # its initial sync starts as it starts watching
        initial = float("nan")
        while time.monotonic() - start < 600:
            if _exists(p, last):
                initial = time.monotonic() - start
                break
            time.sleep(0.2)
        time.sleep(3)
        say("remote compose watch: the 3,000-change burst")
        start = time.monotonic()
        _burst(bulk, main, "after-the-burst")
        try:
            burst = _served(p, "after-the-burst", start)
        except Exception:
            burst = float("nan")
        return {"edit": edit, "initial": initial, "burst": burst}
    finally:
        if watch is not None and watch.poll() is None:
            watch.terminate()
            watch.wait(30)
        forward.terminate()
        p.compose("down", "-v", "--rmi", "local", check=False)


def _up_times(host: str, reps: int) -> dict[str, Stats]:
    out = {}
    for label, where in (("local", None), ("remote", host)):
        p = stacks.example("fastapi-redis", f"up-{label}")
        if where:
            _remote(p, where)
        try:
            p.devstack("up")
            p.devstack("down")
            times = []
            for _ in range(reps):
                times.append(timed(lambda p=p: p.devstack("up")))  # type: ignore[misc]
                p.devstack("down")
            out[f"devstack up, {label} engine"] = stats(times)
        finally:
            if where:
                p.devstack("down", "-v", check=False)
                p.compose("down", "-v", "--rmi", "local", check=False)
    return out


def measure(edits: int, reps: int, files: int = 10_000) -> tuple[list[Table], list[Target]]:
    say("starting the remote engine (scripts/remote-engine)")
    host = _start_engine()
    try:
        ups = _up_times(host, reps)
        ours = _devstack_run(host, edits, files)
        theirs = _watch_run(host, edits, files)
    finally:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=300)
    ours_edit = stats(ours["edit"].latencies)  # type: ignore[attr-defined]
    theirs_edit = stats(theirs["edit"].latencies)  # type: ignore[attr-defined]
    tables = [
        timing_table(
            "Remote engine: edit to served (ssh engine on this machine)",
            {"devstack sync": ours_edit, "compose watch (sync rule)": theirs_edit},
            baseline="compose watch (sync rule)",
            notes=[
                f"p95: devstack {ours_edit.p95:.3f} s, compose watch {theirs_edit.p95:.3f} s; "
                f"never served: devstack {ours['edit'].never_served}, "  # type: ignore[attr-defined]
                f"compose watch {theirs['edit'].never_served} of {edits}",  # type: ignore[attr-defined]
            ],
        ),
        Table(
            "Remote engine: initial sync and burst",
            ["measurement", "devstack", "compose watch"],
            [
                [
                    f"initial sync of {files:,} new files (s)",
                    f"{ours['initial']:.2f}",
                    f"{theirs['initial']:.2f}",
                ],
                [
                    "3,000-change burst to serving the final state (s)",
                    f"{ours['burst']:.2f}",
                    f"{theirs['burst']:.2f}",
                ],
            ],
            notes=[
                f"devstack's initial sync sent {ours['sent']:,} files (parsed from `up`); compose "
                "watch's is timed until the last file exists in the container (initial_sync).",
            ],
        ),
        timing_table(
            "Remote engine: devstack up to ready", ups, baseline="devstack up, local engine"
        ),
    ]
    fast = ratio(theirs_edit, ours_edit)
    targets = [
        Target(
            "remote edit-to-served median",
            "<= 0.3 s",
            f"{ours_edit.median:.3f} s",
            ours_edit.median <= 0.3,
        ),
        Target("remote edit vs compose watch", ">= 2x faster", f"{fast:.1f}x", fast >= 2),
    ]
    return tables, targets
