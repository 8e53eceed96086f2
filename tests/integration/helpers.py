"""Running the real devstack CLI against a real engine, as a user would."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import LOCAL_IMAGES, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Project:
    """A compose project on disk, driven through `python -m devstack`."""

    dir: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)

    def devstack(
        self,
        *args: str,
        timeout: float = 600,
        check: bool = False,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "devstack", "-C", str(self.dir), "-p", self.name, *args]
        full_env = {**os.environ, **self.env, **(env or {})}
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
        if check and result.returncode != 0:
            raise AssertionError(
                f"devstack {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "devstack", "-C", str(self.dir), "-p", self.name, *args]
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **self.env},
            start_new_session=True,  # its own process group, like a command typed in a terminal
            preexec_fn=_interruptible,
        )


def _interruptible() -> None:
    """SIGINT as a terminal gives it: a runner started in the background (`cmd &` in a
    script) has it ignored, which every child would inherit and Ctrl-C could not be tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ctrl_c(proc: subprocess.Popen[str]) -> None:
    """What Ctrl-C in a terminal does: SIGINT to the whole foreground process group."""
    os.killpg(proc.pid, signal.SIGINT)


def ctrl_c_when(
    proc: subprocess.Popen[str], marker: str, *, settle: float, timeout: float
) -> tuple[str, str]:
    """Press Ctrl-C once `proc`'s stderr shows `marker` (and `settle` seconds more); its
    stderr up to the marker and the rest, after it ended within `timeout`."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 300
    while marker not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert marker in seen, seen
    time.sleep(settle)
    ctrl_c(proc)
    _, rest = proc.communicate(timeout=timeout)
    return seen, rest


def example(name: str, dest: Path, project_name: str) -> Project:
    """A copy of examples/NAME (with the recipe beside it, as in the repository), a fresh
    .env of random passwords, free host ports and the local stand-in images."""
    shutil.copytree(
        ROOT / "compose", dest / "compose", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = dest / "examples" / name
    shutil.copytree(
        ROOT / "examples" / name,
        target,
        ignore=shutil.ignore_patterns("__pycache__", ".devstack", ".env"),
    )
    passwords = {
        "REDIS_PASSWORD": f"redis-{secrets.token_hex(8)}",
        "POSTGRES_PASSWORD": f"pg-{secrets.token_hex(8)}",
    }
    (target / ".env").write_text("".join(f"{k}={v}\n" for k, v in passwords.items()))
    env = {
        **LOCAL_IMAGES,
        "REDIS_SEARCH_MODULE": "/usr/lib/redis/modules/redisearch.so",
        "APP_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
        "DB_PORT": str(free_port()),
    }
    return Project(dir=target, name=project_name, env={**env, **passwords})


def get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return str(resp.read().decode())


def post(url: str, timeout: float = 5) -> str:
    req = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return str(resp.read().decode())


def wait_for(predicate: object, timeout: float = 15, every: float = 0.1) -> float:
    """Poll `predicate` until it returns true; seconds it took. Fails at `timeout`."""
    start = time.monotonic()
    last: object = None
    while time.monotonic() - start < timeout:
        try:
            last = predicate()  # type: ignore[operator]
            if last:
                return time.monotonic() - start
        except Exception as exc:  # the server may be restarting
            last = exc
        time.sleep(every)
    raise AssertionError(f"not true within {timeout}s; last: {last!r}")


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


RECIPE_COMPOSE = """services:
  app:
    image: {tag}
    build:
      context: .
      dockerfile: compose/Dockerfile
      args:
        PYTHON_IMAGE: {python}
        APP_DIR: {app_dir}
        DEPS_DIR: {deps_dir}
"""


def build_recipe_image(
    context: Path, tag: str, *, app_dir: str = ".", deps_dir: str | None = None
) -> None:
    """Build devstack's image recipe (copied to context/compose) for the app in
    context/APP_DIR (its dependencies declared in context/DEPS_DIR, by default the app's),
    through compose as a user's build runs (BuildKit)."""
    if not (context / "compose").exists():
        shutil.copytree(
            ROOT / "compose", context / "compose", ignore=shutil.ignore_patterns("__pycache__")
        )
    (context / "compose.yaml").write_text(
        RECIPE_COMPOSE.format(
            tag=tag,
            python=LOCAL_IMAGES["PYTHON_IMAGE"],
            app_dir=app_dir,
            deps_dir=deps_dir or app_dir,
        )
    )
    built = subprocess.run(
        ["docker", "compose", "-p", f"dsimg-{uuid.uuid4().hex[:8]}", "build", "app"],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stdout + built.stderr
