"""Compose projects on disk for the benchmarks: copies of the examples and generated stacks.

Every project gets a unique name and free loopback ports, and is registered so that
`cleanup()` takes it down with its volumes (and its built images) whatever happened.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = f"bench{os.getpid()}"
LOCAL_IMAGES = {
    "PYTHON_IMAGE": "devstack-local/python:3.11",
    "REDIS_IMAGE": "devstack-local/redis:7",
    "POSTGRES_IMAGE": "devstack-local/postgres:15",
    "REDIS_SEARCH_MODULE": "/usr/lib/redis/modules/redisearch.so",
}
DEVSTACK = str(Path(sys.executable).parent / "devstack")
_WORKDIRS: list[Path] = []
_PROJECTS: list[Project] = []
_IMAGES: list[str] = []


class CommandFailed(Exception):
    """A command the benchmark needed did not succeed; keeps its argv, exit code and output."""

    def __init__(self, argv: list[str], code: int, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(f"`{shlex.join(argv)}` exited {code}\n{tail}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env() -> dict[str, str]:
    """The caller's environment as a normal install sees it: bytecode caching allowed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("COMPOSE_FILE", None)
    env.pop("COMPOSE_PROJECT_NAME", None)
    return env


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout)
    return done


@dataclass
class Project:
    """A compose project directory driven by devstack or by plain `docker compose`."""

    dir: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # extra compose files, after compose.yaml

    @property
    def full_env(self) -> dict[str, str]:
        return {**base_env(), **self.env}

    def _file_args(self) -> list[str]:
        if not self.files:
            return []
        return [a for f in ("compose.yaml", *self.files) for a in ("-f", f)]

    def compose_argv(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.name, *self._file_args(), *args]

    def devstack_argv(self, *args: str) -> list[str]:
        return [DEVSTACK, "-C", str(self.dir), "-p", self.name, *self._file_args(), *args]

    def compose(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self._run(self.compose_argv(*args), check, timeout, env)

    def devstack(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self._run(self.devstack_argv(*args), check, timeout, env)

    def _run(
        self, argv: list[str], check: bool, timeout: float, env: dict[str, str] | None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**self.full_env, **(env or {})}
        return run(argv, cwd=self.dir, env=full_env, check=check, timeout=timeout)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.env['APP_PORT']}{path}"

    def down(self) -> None:
        """Containers, networks and volumes gone; the built image kept for the next run."""
        self.compose("down", "-v", "--remove-orphans", "-t", "2", check=False, timeout=120)


def _workdir() -> Path:
    """This run's temporary directory, made on first use (importing bench makes none)."""
    if not _WORKDIRS:
        _WORKDIRS.append(Path(tempfile.mkdtemp(prefix="devstack-bench-")))
    return _WORKDIRS[0]


def _register(project: Project) -> Project:
    _PROJECTS.append(project)
    return project


def example(name: str, suffix: str) -> Project:
    """A copy of examples/NAME with the recipe beside it, fresh passwords and free ports."""
    dest = _workdir() / suffix
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "compose", dest / "compose", ignore=skip)
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
        "APP_PORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
        "DB_PORT": str(free_port()),
    }
    return _register(Project(dir=target, name=f"{RUN_ID}-{suffix}", env=env))


def write_override(project: Project, filename: str, text: str) -> None:
    (project.dir / filename).write_text(text)


def app_image() -> str:
    """The fastapi-redis app image, built once per run and tagged for `docker run` and the
    generated stacks."""
    tag = f"devstack-bench/app:{RUN_ID}"
    if tag not in _IMAGES:
        project = example("fastapi-redis", "image")
        project.compose("build")
        run(["docker", "tag", f"{project.name}-app", tag])
        _IMAGES.append(tag)
    return tag


APP_MAIN = '''\
"""A tiny FastAPI app for the generated stacks."""

from fastapi import FastAPI

app = FastAPI()

MESSAGE = "hello from devstack"


@app.get("/")
def index() -> dict[str, str]:
    return {"message": MESSAGE}
'''


def generated(suffix: str, *, image: str, dependencies: int, files: int = 0) -> Project:
    """An app (a built app image, code bind-mounted by devstack) beside N Redis stand-ins,
    each with a health check; optionally `files` small modules under app/generated/."""
    dest = _workdir() / suffix
    (dest / "app").mkdir(parents=True)
    (dest / "app" / "__init__.py").write_text("")
    (dest / "app" / "main.py").write_text(APP_MAIN)
    if files:
        gen = dest / "app" / "generated"
        for i in range(files):
            sub = gen / f"pkg{i // 500:03d}"
            if i % 500 == 0:
                sub.mkdir(parents=True)
                (sub / "__init__.py").write_text("")
            module = f"VALUE = {i}\n\n\ndef f() -> int:\n    return VALUE\n"
            (sub / f"mod{i:05d}.py").write_text(module)
    port = free_port()
    lines = ["services:", "  app:", f"    image: {image}", "    ports:", '      - "${APP_PORT}:80"']
    lines += ["    environment:", "      HEALTH_PATH: /"]
    if dependencies:
        lines.append("    depends_on:")
        lines += [f"      dep{i}:\n        condition: service_healthy" for i in range(dependencies)]
    for i in range(dependencies):
        lines += [
            f"  dep{i}:",
            "    image: ${REDIS_IMAGE}",
            '    command: ["redis-server", "--save", ""]',
            "    healthcheck:",
            '      test: ["CMD", "redis-cli", "ping"]',
            "      interval: 5s",
            "      timeout: 3s",
            "      retries: 10",
        ]
    (dest / "compose.yaml").write_text("\n".join(lines) + "\n")
    env = {**LOCAL_IMAGES, "APP_PORT": str(port)}
    return _register(Project(dir=dest, name=f"{RUN_ID}-{suffix}", env=env))


def heavy(suffix: str) -> Project:
    """bench/apps/heavy (many third-party imports) built with the recipe, code bind-mounted."""
    dest = _workdir() / suffix
    skip = shutil.ignore_patterns("__pycache__", ".devstack")
    shutil.copytree(ROOT / "compose", dest / "compose", ignore=skip)
    target = dest / "heavy"
    shutil.copytree(ROOT / "bench" / "apps" / "heavy", target, ignore=skip)
    (target / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    build:\n"
        "      context: ..\n"
        "      dockerfile: compose/Dockerfile\n"
        "      args:\n"
        "        PYTHON_IMAGE: ${PYTHON_IMAGE}\n"
        "        APP_DIR: heavy\n"
        "    ports:\n"
        '      - "${APP_PORT}:80"\n'
        "    environment:\n"
        "      HEALTH_PATH: /\n"
    )
    env = {**LOCAL_IMAGES, "APP_PORT": str(free_port())}
    return _register(Project(dir=target, name=f"{RUN_ID}-{suffix}", env=env))


def sigterm_ignoring(suffix: str) -> Project:
    """A stack whose app's PID 1 is a shell that ignores SIGTERM, beside a Redis."""
    dest = _workdir() / suffix
    dest.mkdir(parents=True)
    (dest / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    image: ${PYTHON_IMAGE}\n"
        '    command: ["sh", "-c", "sleep infinity"]\n'
        "  redis:\n"
        "    image: ${REDIS_IMAGE}\n"
        '    command: ["redis-server", "--save", ""]\n'
    )
    return _register(Project(dir=dest, name=f"{RUN_ID}-{suffix}", env=dict(LOCAL_IMAGES)))


def cleanup() -> list[str]:
    """Take down every project this run created, remove its images; what failed, if anything."""
    problems = []
    for project in _PROJECTS:
        done = project.compose(
            "down", "-v", "--remove-orphans", "--rmi", "local", "-t", "1", check=False, timeout=180
        )
        if done.returncode != 0:
            problems.append(f"{project.name}: {done.stdout.strip()[-200:]}")
        # `down --rmi local` skips the images of a project that has no containers left
        run(["docker", "image", "rm", f"{project.name}-app"], check=False)
    for tag in _IMAGES:
        run(["docker", "image", "rm", "-f", tag], check=False)
    for workdir in _WORKDIRS:
        shutil.rmtree(workdir, ignore_errors=True)
    return problems
