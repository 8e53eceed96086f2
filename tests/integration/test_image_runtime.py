"""The app image built from compose/ on a real engine: workers sized to the CPU limit, reload
without stale code, fast stops, WAIT_FOR, the health check and a non-root server."""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.helpers import build_recipe_image, wait_for

APP = """import os
from pathlib import Path

from fastapi import FastAPI

app = FastAPI()
VALUE = "v000"


@app.get("/")
def root() -> dict[str, object]:
    return {"value": VALUE, "uid": os.getuid()}


@app.get("/write")
def write() -> dict[str, str]:
    Path("written-by-app.txt").write_text("hello")
    return {"ok": "yes"}
"""
# The templates' prestart, run as `python /app/app/backend_pre_start.py`: it imports `app`.
PRESTART = """import app.main

print("imported app.main from", app.main.__file__)
"""


def run(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def write_project(directory: Path) -> Path:
    """A tiny FastAPI project with the recipe beside it, as `devstack init` leaves it."""
    shutil.copytree(
        ROOT / "compose", directory / "compose", ignore=shutil.ignore_patterns("__pycache__")
    )
    (directory / "app").mkdir()
    (directory / "app" / "__init__.py").write_text("")
    (directory / "app" / "main.py").write_text(APP)
    (directory / "app" / "backend_pre_start.py").write_text(PRESTART)
    (directory / "requirements.txt").write_text("fastapi\n")
    return directory


@pytest.fixture(scope="session")
def image(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app image, built once per session through compose (BuildKit), removed at the end."""
    tag = f"devstack-image-test:{uuid.uuid4().hex[:10]}"
    build_recipe_image(write_project(tmp_path_factory.mktemp("image-project")), tag)
    yield tag
    run("rmi", "-f", tag, check=False)


@dataclass
class Container:
    id: str

    def port(self) -> int:
        return int(run("port", self.id, "80").stdout.split()[0].rsplit(":", 1)[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port()}{path}"

    def logs(self) -> str:
        done = run("logs", self.id)
        return done.stdout + done.stderr

    def inspect(self, fmt: str) -> str:
        return run("inspect", "-f", fmt, self.id).stdout.strip()

    def processes(self) -> list[dict[str, object]]:
        """pid, ppid, uid and argv of every process in the container, from /proc."""
        script = (
            "import json, os\n"
            "out = []\n"
            "for p in filter(str.isdigit, os.listdir('/proc')):\n"
            "    try:\n"
            "        stat = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()\n"
            "        argv = open(f'/proc/{p}/cmdline').read().split('\\0')\n"
            "        uid = os.stat(f'/proc/{p}').st_uid\n"
            "    except OSError:\n"
            "        continue\n"
            "    out.append({'pid': int(p), 'ppid': int(stat[1]), 'uid': uid, 'argv': argv})\n"
            "print(json.dumps(out))\n"
        )
        done = run("exec", self.id, "python", "-c", script)
        procs: list[dict[str, object]] = json.loads(done.stdout)
        return [p for p in procs if "import json, os" not in " ".join(map(str, p["argv"]))]

    def stop_seconds(self) -> float:
        start = time.monotonic()
        run("stop", "-t", "10", self.id, timeout=30)
        return time.monotonic() - start


@pytest.fixture
def start(image: str, project_name: str) -> Iterator[object]:
    """Start containers of the image (labelled into the test's compose project for cleanup)."""
    started: list[str] = []

    def _start(*args: str, command: tuple[str, ...] = ()) -> Container:
        done = run(
            "run", "-d", "--label", f"com.docker.compose.project={project_name}",
            "-p", "127.0.0.1::80", *args, image, *command,
        )  # fmt: skip
        started.append(done.stdout.strip())
        return Container(started[-1])

    yield _start
    if started:
        run("rm", "-f", "-v", *started, check=False)


def get_json(url: str, timeout: float = 2) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


# The shared poller, polling faster: reloads are timed with it.
wait_until = functools.partial(wait_for, every=0.05)


def gunicorn_workers(container: Container) -> int:
    procs = container.processes()
    (master,) = [p for p in procs if p["pid"] == 1]
    assert "gunicorn" in " ".join(map(str, master["argv"]))
    return sum(1 for p in procs if p["ppid"] == 1 and "gunicorn" in " ".join(map(str, p["argv"])))


def settings(container: Container) -> dict[str, object]:
    """The runtime's settings with devstack's facts (cores, worker class, why that many)."""
    done = run("exec", container.id, "python", "/devstack/devstack_runtime.py", "settings")
    return dict(json.loads(done.stdout))


def test_pythonpath_is_app_as_on_tiangolo_images(image: str) -> None:
    """PYTHONPATH=/app, as tiangolo's images set it: a script in the app's package imports
    the package from any working directory (the full-stack templates' prestart does)."""
    done = run("run", "--rm", "-w", "/tmp", image, "python", "/app/app/backend_pre_start.py")
    assert done.stdout.strip() == "imported app.main from /app/app/main.py", done.stderr


@pytest.mark.parametrize(
    ("args", "cores", "workers"),
    [(("--cpus", "1", "-e", "WORKERS_PER_CORE=3"), 1, 3), (("--cpuset-cpus", "0"), 1, 2)],
)
def test_workers_follow_container_cpus(
    start: object, args: tuple[str, ...], cores: int, workers: int
) -> None:
    app: Container = start(*args)  # type: ignore[operator]
    wait_until(lambda: get_json(app.url())["value"] == "v000", 30)
    facts = settings(app)
    assert (facts["cores"], facts["workers"]) == (cores, workers)
    assert f"devstack: {workers} workers (WORKERS_PER_CORE" in app.logs()
    wait_until(lambda: gunicorn_workers(app) == workers, 10)
    time.sleep(0.5)
    assert gunicorn_workers(app) == workers


def test_production_non_root_healthy_and_stops_on_sigterm(start: object) -> None:
    app: Container = start()  # type: ignore[operator]
    wait_until(lambda: get_json(app.url()), 30, every=0.02)
    to_healthy = wait_until(lambda: app.inspect("{{.State.Health.Status}}") == "healthy", 10)
    print(f"production: healthy {to_healthy:.2f}s after the server accepted connections")
    assert get_json(app.url())["uid"] == 10001
    assert {p["uid"] for p in app.processes()} == {10001}
    seconds = app.stop_seconds()
    print(f"production: docker stop took {seconds:.2f}s")
    assert app.inspect("{{.State.ExitCode}}") == "0"  # SIGTERM reached it: no SIGKILL (137)


def test_health_check_follows_port_and_counts_any_status_below_500(start: object) -> None:
    app: Container = start("-e", "HEALTH_PATH=/nope", "-e", "PORT=8080")  # type: ignore[operator]
    wait_until(lambda: app.inspect("{{.State.Health.Status}}") == "healthy", 30)
    idle: Container = start(command=("sleep", "30"))  # type: ignore[operator]
    time.sleep(3)
    assert idle.inspect("{{.State.Health.Status}}") == "starting"
    assert "127.0.0.1:80/: connection refused" in idle.inspect("{{json .State.Health.Log}}")


def test_wait_for_timeout_fails_the_start_naming_the_target(start: object) -> None:
    began = time.monotonic()
    app: Container = start("-e", "WAIT_FOR=127.0.0.1:9", "-e", "WAIT_TIMEOUT=3")  # type: ignore[operator]
    code = run("wait", app.id, timeout=30).stdout.strip()
    elapsed = time.monotonic() - began
    print(f"WAIT_FOR: start failed {elapsed:.2f}s after `docker run` (WAIT_TIMEOUT=3)")
    assert code == "1"
    logs = app.logs()
    assert "127.0.0.1:9: connection refused" in logs
    assert "gave up after 3s" in logs


def test_wait_for_then_prestart_then_server(start: object, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "prestart.sh").write_text('echo "prestart ran as $(id -u)"\nexport VIA=prestart\n')
    app: Container = start(  # type: ignore[operator]
        "-e", "WAIT_FOR=127.0.0.1:80", "-e", "WAIT_TIMEOUT=1",
        "-e", "PRE_START_PATH=/hooks/prestart.sh", "-v", f"{tmp_path}:/hooks:ro",
        command=("/start.sh",),
    )  # fmt: skip
    # The server itself is the target: the start waits, gives up and says so.
    assert run("wait", app.id, timeout=30).stdout.strip() == "1"
    assert "prestart ran" not in app.logs()
    ok: Container = start(  # type: ignore[operator]
        "-e", "PRE_START_PATH=/hooks/prestart.sh", "-v", f"{tmp_path}:/hooks:ro",
    )  # fmt: skip
    wait_until(lambda: get_json(ok.url()), 30)
    assert "prestart ran as 10001" in ok.logs()


def edit(path: Path, value: str, *, atomic: bool, keep_mtime: bool) -> None:
    """Replace the VALUE line: in place (same inode) or by an atomic rename (editor save)."""
    before = path.stat()
    text = path.read_text()
    start = text.index('VALUE = "') + len('VALUE = "')
    new = text[:start] + value + text[start + len(value) :]
    assert len(new) == len(text)
    if atomic:
        tmp = path.with_name(f".{path.name}.swp~")
        tmp.write_text(new)
        os.replace(tmp, path)
    else:
        with path.open("r+") as fh:
            fh.write(new)
    if keep_mtime:  # the worst case for mtime+size bytecode checks
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_reload_serves_every_edit_and_stops_fast(start: object, tmp_path: Path) -> None:
    code = write_project(tmp_path / "project")
    shutil.rmtree(code / "compose")
    for noisy in (".venv/lib/site", "node_modules/pkg", ".git/hooks"):
        (code / noisy).mkdir(parents=True)
        (code / noisy / "x.py").write_text("X = 1\n")
    os.chmod(code, 0o777)
    main = code / "app" / "main.py"
    app: Container = start(  # type: ignore[operator]
        "--user", "1234:1234", "-v", f"{code}:/app", command=("/start-reload.sh",)
    )
    wait_until(lambda: get_json(app.url())["value"] == "v000", 30)
    assert get_json(app.url())["uid"] == 1234
    url = app.url()

    # 20 same-size edits, alternating in-place writes and atomic renames; edits 5/6, 10/11
    # and 15/16 land 0.3 s apart with the same mtime and size (the stale-bytecode case).
    latencies: list[float] = []
    gaps: list[float] = []
    order = ["v000"]
    edited_at = time.monotonic()
    n = 0
    while n < 20:
        n += 1
        batch = [n]
        if n % 5 == 0 and n < 20:
            batch.append(n + 1)
        for k, m in enumerate(batch):
            if k:
                time.sleep(0.3)
                gaps.append(time.monotonic() - edited_at)
            edited_at = time.monotonic()
            edit(main, f"v{m:03d}", atomic=m % 2 == 0, keep_mtime=k > 0 or m % 4 == 1)
            order.append(f"v{m:03d}")
        n = batch[-1]
        value, floor = order[-1], order.index(order[-1]) - len(batch)
        seen_at = None
        while time.monotonic() - edited_at < 10:
            try:
                got = get_json(url, timeout=1)["value"]
            except OSError:
                got = None  # restarting
            if got == value:
                seen_at = time.monotonic()
                break
            if got is not None:
                assert got in order and order.index(got) >= floor, f"edit {n}: stale {got}"
                floor = order.index(got)  # never older than what was already served
            time.sleep(0.01)
        assert seen_at is not None, f"edit {n} ({value}) never served within 10s:\n{app.logs()}"
        latencies.append(seen_at - edited_at)
        for _ in range(3):  # once seen, never stale again
            assert get_json(url, timeout=1)["value"] == value
    assert len(order) == 21 and min(gaps) < 1
    print("reload latencies:", " ".join(f"{x:.2f}" for x in latencies))
    print(
        f"reload: 20 edits ({len(latencies)} waits), latency median "
        f"{statistics.median(latencies):.2f}s, worst {max(latencies):.2f}s"
    )

    reloads = app.logs().count("Reloading")
    for noisy in (".venv/lib/site", "node_modules/pkg", ".git/hooks"):
        (code / noisy / "x.py").write_text("X = 2\n")
    time.sleep(1.5)
    assert app.logs().count("Reloading") == reloads, "a change in an excluded tree reloaded"

    get_json(app.url("/write"))
    assert (code / "written-by-app.txt").stat().st_uid == 1234
    assert not list(code.rglob("__pycache__")), "bytecode written into the bind mount"

    seconds = app.stop_seconds()
    print(f"reload: docker stop took {seconds:.2f}s")
    assert app.inspect("{{.State.ExitCode}}") == "0"  # SIGTERM reached it: no SIGKILL (137)


def test_reload_mode_switch_is_read(start: object) -> None:
    app: Container = start("-e", "RELOAD_MODE=bogus", command=("/start-reload.sh",))  # type: ignore[operator]
    assert run("wait", app.id, timeout=30).stdout.strip() == "1"
    assert "RELOAD_MODE='bogus'" in app.logs()
