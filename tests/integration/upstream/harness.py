"""What upstream's tests/utils.py gives its tests, on the docker CLI: run a container of an
image with a port published, its logs, its processes (`docker top`), the gunicorn config it
runs (`python CONF` in the container, as upstream reads it), stop and start."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.conftest import LOCAL_IMAGES
from tests.integration.helpers import free_port, wait_for

PYTHON_VERSION = LOCAL_IMAGES["PYTHON_IMAGE"].rsplit(":", 1)[1]
HELLO = f"Hello world! From Uvicorn with Gunicorn. Using Python {PYTHON_VERSION}"
TEST_APP = f"Test app. From Uvicorn with Gunicorn. Using Python {PYTHON_VERSION}"
PRESTART_LINES = (
    "Checking for script in /app/prestart.sh",
    "Running script /app/prestart.sh",
    "Running inside /app/prestart.sh, you could add migrations to this file",
)
# The one intended difference: upstream logs "Using worker: uvicorn.workers.UvicornWorker".
DEFAULT_WORKER = "Using worker: uvicorn_worker.UvicornWorker"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Box:
    """A container of an upstream test: started, restarted, looked at."""

    id: str
    host_port: int
    started: list[str] = field(default_factory=list)

    @classmethod
    def run(
        cls,
        image: str,
        project: str,
        *,
        env: dict[str, str] | None = None,
        port: int = 80,
        command: tuple[str, ...] = (),
    ) -> Box:
        host_port = free_port()
        args = [f"--env={k}={v}" for k, v in (env or {}).items()]
        done = docker(
            "run", "-d", "--label", f"com.docker.compose.project={project}",
            "-p", f"127.0.0.1:{host_port}:{port}", *args, image, *command,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return cls(done.stdout.strip(), host_port)

    def get(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.host_port}", timeout=5) as resp:
            return str(resp.read().decode())

    def logs(self) -> str:
        done = docker("logs", self.id)
        return done.stdout + done.stderr

    def health(self) -> str:
        return docker("inspect", "-f", "{{.State.Health.Status}}", self.id).stdout.strip()

    def wait_serving(self) -> None:
        """Instead of upstream's sleep: until the published port answers."""
        wait_for(self.get, 60)

    def wait_healthy(self) -> None:
        """Instead of upstream's sleep, where the server is not published (HOST=127.0.0.1)."""
        wait_for(lambda: self.health() == "healthy", 60)

    def gunicorn_processes(self) -> list[str]:
        """The command lines of `docker top` that name gunicorn (upstream's process names),
        in full: `ps -ef` cuts them to COLUMNS when the engine runs with it set."""
        lines = docker("top", self.id, "-ww", "-eo", "pid,args").stdout.splitlines()[1:]
        commands = [line.split(None, 1)[1] for line in lines if len(line.split(None, 1)) == 2]
        return [c for c in commands if "gunicorn" in c]

    def gunicorn_conf_path(self) -> str:
        argv = self.gunicorn_processes()[0].split()
        return argv[argv.index("-c") + 1]

    def config(self) -> dict[str, object]:
        """The config file the master runs, run as a script: it prints its settings."""
        done = docker("exec", self.id, "python", self.gunicorn_conf_path())
        return dict(json.loads(done.stdout + done.stderr))

    def edit(self, path: str, old: str, new: str) -> None:
        """An edit inside the container, as root (upstream's image runs as root)."""
        done = docker("exec", "-u", "0", self.id, "sed", "-i", f"s|{old}|{new}|", path)
        assert done.returncode == 0, done.stderr

    def stop(self) -> None:
        assert docker("stop", self.id, timeout=30).returncode == 0

    def start(self) -> None:
        assert docker("start", self.id).returncode == 0

    def remove(self) -> None:
        docker("rm", "-f", "-v", self.id)


def assert_prestart_ran(logs: str, script_line: str = PRESTART_LINES[2]) -> None:
    for line in (*PRESTART_LINES[:2], script_line):
        assert line in logs, f"{line!r} not in the logs:\n{logs}"


def restarted(app: Box, verify: Callable[[Box], None], *, published: bool = True) -> None:
    """Upstream checks, stops the container, starts it again and checks again."""
    for turn in range(2):
        if turn:
            app.stop()
            app.start()
        if published:
            app.wait_serving()
        else:
            app.wait_healthy()
        verify(app)


def reloaded(app: Box, verify: Callable[[Box, str], None], path: str, text: str) -> None:
    """Upstream's reload tests: check, edit the app in the container, check the new text."""
    app.wait_serving()
    verify(app, text)
    app.edit(path, "Uvicorn with Gunicorn", "Uvicorn with autoreload")
    new = text.replace("Uvicorn with Gunicorn", "Uvicorn with autoreload")
    wait_for(lambda: app.get() == new, 30)
    verify(app, new)
