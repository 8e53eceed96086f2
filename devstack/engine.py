"""The one adapter to the Docker engine: every engine call goes through here.

python-on-whales runs the docker CLI; its errors become devstack errors that keep
the command, exit code and stderr.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException, NoSuchContainer
from python_on_whales.utils import stream_stdout_and_stderr

from devstack.errors import ComposeError, ConfigError, EngineUnavailable

log = logging.getLogger("devstack.engine")

_ENGINE_DOWN = (
    "cannot connect to the docker daemon",
    "error during connect",
    "is the docker daemon running",
    "connection refused",
    "no such host",
)
_NO_COMPOSE = (
    "'compose' is not a docker command",
    "unknown command: docker compose",
    "unknown shorthand flag: 'p'",
    "unknown shorthand flag: 'f'",
    "unknown flag: --file",
)
_BAD_COMPOSE = (
    "yaml:",
    "validating",
    "services.",
    "invalid compose project",
    "additional properties",
    "unknown service",
    "no such service",
)

LineSink = Callable[[str], None]


@dataclass(frozen=True)
class Port:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerState:
    id: str
    name: str
    service: str
    state: str  # created, running, restarting, exited, dead, paused
    health: str | None  # None when the container has no health check
    exit_code: int
    started_at: datetime | None
    ports: tuple[Port, ...]
    health_test: tuple[str, ...]
    health_timeout: float
    health_output: str
    restart_count: int
    oneoff: bool


_PORT_TAKEN = re.compile(r"(?:listen tcp[46]? |Bind for )(?P<ip>[\d.:\[\]]*?):(?P<port>\d+)")
_ENDPOINT = re.compile(r"endpoint (?P<name>[\w.-]+?)(?:-\d+)? ")


def _port_taken(stderr: str, command: list[str]) -> ComposeError | None:
    if "address already in use" not in stderr and "port is already allocated" not in stderr:
        return None
    port = _PORT_TAKEN.search(stderr)
    endpoint = _ENDPOINT.search(stderr)
    where = f"{port['ip'] or '0.0.0.0'}:{port['port']}" if port else "a host port"
    wanted = f" (wanted by {endpoint['name']})" if endpoint else ""
    return ComposeError(
        f"{where} is already taken{wanted}",
        command=command,
        stderr=stderr,
        hint=f"stop what listens there (`ss -ltnp 'sport = :{port['port'] if port else 'PORT'}'`), "
        "or change the service's published port in your compose file",
    )


def _engine_error(exc: DockerException, what: str, output: Sequence[str] = ()) -> Exception:
    """The devstack error for a failed engine command; `output` is what it printed, where
    it was streamed (compose prints build logs on stdout, not in the error's stderr)."""
    stderr = (exc.stderr or "").strip()
    low = stderr.lower()
    command = [str(c) for c in exc.docker_command]
    taken = _port_taken(stderr, command)
    if taken:
        return taken
    if any(s in low for s in _NO_COMPOSE):
        return EngineUnavailable(
            "docker compose (v2) is not installed",
            hint="install the Compose v2 plugin (scripts/ensure-docker does it), "
            "then check `docker compose version`",
            details=stderr,
        )
    if any(s in low for s in _ENGINE_DOWN) and "port is already allocated" not in low:
        return EngineUnavailable(
            "the Docker engine does not answer",
            hint="start Docker (or scripts/ensure-docker), or fix DOCKER_HOST; check `docker info`",
            details=stderr,
        )
    if what == "config" or (any(s in low for s in _BAD_COMPOSE) and "build" not in what):
        return ConfigError(
            f"the compose project is invalid: {_first_line(stderr)}",
            hint="fix the compose file it names, then `devstack config` to check",
            details=stderr,
        )
    from devstack import certs, dependencies  # a build failed: a certificate, the app's deps

    return ComposeError(
        f"{what} failed (exit {exc.return_code})",
        command=command,
        return_code=exc.return_code,
        stderr=stderr,
        hint=certs.build_hint(stderr + "\n".join(output), command)
        or dependencies.build_hint(stderr + "\n".join(output)),
    )


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), text)[:300]


@contextmanager
def translated(what: str, output: Sequence[str] = ()) -> Iterator[None]:
    try:
        yield
    except DockerException as exc:
        raise _engine_error(exc, what, output) from exc
    except FileNotFoundError as exc:
        raise EngineUnavailable(
            "the docker command is not installed", hint="install Docker, then check `docker info`"
        ) from exc


def _parse_time(value: Any) -> datetime | None:
    """The engine's RFC 3339 time (nanoseconds trimmed); None for its zero time."""
    if not isinstance(value, str) or value.startswith("0001"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    frac = frac.split("+")[0].split("-")[0]
    try:
        return datetime.fromisoformat(f"{head}.{frac[:6].ljust(6, '0')}+00:00")
    except ValueError:
        return None


def _state(c: dict[str, Any]) -> ContainerState:
    config = c.get("Config") or {}
    state = c.get("State") or {}
    labels = config.get("Labels") or {}
    hc = config.get("Healthcheck") or {}
    test = tuple(hc.get("Test") or ())
    health = state.get("Health") or {}
    log = health.get("Log") or []
    ports: list[Port] = []
    for key, bindings in ((c.get("NetworkSettings") or {}).get("Ports") or {}).items():
        target, _, proto = key.partition("/")
        for b in bindings or []:
            ports.append(Port(b.get("HostIp", ""), int(b.get("HostPort") or 0), int(target), proto))
    return ContainerState(
        id=c["Id"],
        name=c.get("Name", "").lstrip("/"),
        service=labels.get("com.docker.compose.service", c.get("Name", "")),
        state=state.get("Status", "unknown"),
        health=health.get("Status") or None,
        exit_code=int(state.get("ExitCode") or 0),
        started_at=_parse_time(state.get("StartedAt")),
        ports=tuple(sorted(ports, key=lambda p: (p.container_port, p.host_ip))),
        health_test=test if test and test[0] != "NONE" else (),
        health_timeout=(hc.get("Timeout") or 30e9) / 1e9,
        health_output=(log[-1].get("Output") or "").strip() if log else "",
        restart_count=int(c.get("RestartCount") or 0),
        oneoff=labels.get("com.docker.compose.oneoff") == "True",
    )


class Engine:
    """A compose project on the engine."""

    def __init__(
        self, *, project_dir: Path, files: Sequence[Path], project_name: str | None = None
    ) -> None:
        self.project_dir = project_dir
        self.files = list(files)
        self.docker = DockerClient(
            compose_files=list[str | Path](self.files),
            compose_project_name=project_name,
            compose_project_directory=project_dir,
        )

    def _compose_cmd(self) -> list[str]:
        return [str(c) for c in self.docker.compose.docker_compose_cmd]

    def _stream(self, args: Sequence[str], what: str, sink: LineSink | None) -> str:
        cmd = self._compose_cmd() + list(args)
        log.debug("%s", shlex.join(cmd))
        out: list[str] = []
        with translated(what, out):
            for _source, raw in stream_stdout_and_stderr(cmd):
                line = raw.decode(errors="replace").rstrip("\n")
                out.append(line)
                if sink:
                    sink(line)
        return "\n".join(out)

    # ---- project -------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        with translated("config"):
            return self.docker.compose.config(return_json=True)

    def config_yaml(self) -> str:
        cmd = [*self._compose_cmd(), "config"]
        log.debug("%s", shlex.join(cmd))
        from python_on_whales.utils import run

        with translated("config"):
            return str(run(cmd))

    def build(self, services: Sequence[str], *, sink: LineSink | None = None) -> None:
        if services:
            self._stream(["build", *services], "build", sink)

    def up(
        self, services: Sequence[str], *, build: bool | None = None, sink: LineSink | None = None
    ) -> None:
        """Create and start `services` without their dependencies; returns at once."""
        if not services:
            return
        args = ["up", "--detach", "--no-deps", "--remove-orphans"]
        if build is True:
            args.append("--build")
        elif build is False:
            args.append("--no-build")
        self._stream([*args, *services], "up", sink)

    def down(self, *, volumes: bool, timeout: int, sink: LineSink | None = None) -> None:
        self._stream(
            [
                "down",
                "--remove-orphans",
                "--timeout",
                str(timeout),
                *(["--volumes"] if volumes else []),
            ],
            "down",
            sink,
        )

    def stop(self, services: Sequence[str], *, timeout: int) -> None:
        self._stream(["stop", "--timeout", str(timeout), *services], "stop", None)

    # ---- containers ----------------------------------------------------------

    def project_label(self) -> str:
        name = self.config().get("name", "")
        return f"com.docker.compose.project={name}"

    def container_ids(self, project: str) -> list[str]:
        """Ids of every container of the project, one-off ones included (one docker call)."""
        from python_on_whales.utils import run

        base = [str(c) for c in self.docker.client_config.docker_cmd]
        label = f"label=com.docker.compose.project={project}"
        with translated("ps"):
            return str(
                run([*base, "container", "ls", "-aq", "--no-trunc", "--filter", label])
            ).split()

    def containers(self, project: str, *, oneoff: bool = False) -> list[ContainerState]:
        """Every container of the project, straight from the engine (two docker calls)."""
        from python_on_whales.utils import run

        base = [str(c) for c in self.docker.client_config.docker_cmd]
        ids = self.container_ids(project)
        if not ids:
            return []
        with translated("ps"):
            try:
                raw = json.loads(str(run([*base, "container", "inspect", *ids])))
            except NoSuchContainer:  # removed between the two calls: ask again
                return self.containers(project, oneoff=oneoff)
        states = [_state(c) for c in raw]
        return [s for s in states if s.oneoff == oneoff]

    def probe(self, container_id: str, test: Sequence[str], timeout: float) -> tuple[bool, str]:
        """Run a container's health-check command now, as the engine would."""
        kind, *rest = test
        command = ["/bin/sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
        cmd = ["docker", "exec", container_id, *command]
        try:
            out = self.docker.container.execute(container_id, command, tty=False)
            return True, str(out or "")
        except NoSuchContainer:
            return False, "container is gone"
        except DockerException as exc:
            log.debug("probe %s: exit %s", shlex.join(cmd), exc.return_code)
            return False, ((exc.stdout or "") + (exc.stderr or "")).strip()

    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        try:
            return str(self.docker.container.logs(container_id, tail=lines))
        except DockerException:
            return ""

    def remove(self, container_ids: Sequence[str]) -> None:
        if container_ids:
            with translated("rm"):
                self.docker.container.remove(list(container_ids), force=True, volumes=True)

    def volumes(self, project: str) -> list[str]:
        with translated("volume ls"):
            return sorted(
                v.name
                for v in self.docker.volume.list(
                    filters={"label": f"com.docker.compose.project={project}"}
                )
            )

    # ---- one-off commands, logs, exec ----------------------------------------

    def run(self, service: str, command: Sequence[str], *, name: str, sink: LineSink) -> int:
        """Run `command` in a one-off container of `service` (no deps), streaming its output."""
        args = ["run", "--rm", "--no-deps", "-T", "--name", name, service, *command]
        try:
            self._stream(args, "run", sink)
        except ComposeError as exc:
            return exc.return_code or 1
        return 0

    def logs(
        self, services: Sequence[str], *, tail: int | None, since: str | None, follow: bool
    ) -> Iterator[str]:
        args = ["logs", "--no-color", "--timestamps"]
        if tail is not None:
            args += ["--tail", str(tail)]
        if since:
            args += ["--since", since]
        if follow:
            args.append("--follow")
        cmd = self._compose_cmd() + args + list(services)
        log.debug("%s", shlex.join(cmd))
        with translated("logs"):
            for _source, raw in stream_stdout_and_stderr(cmd):
                yield raw.decode(errors="replace").rstrip("\n")

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> int:
        """Run a command in the service's running container, attached to this terminal."""
        import subprocess

        cmd = [*self._compose_cmd(), "exec", *([] if tty else ["-T"]), service, *command]
        log.debug("%s", shlex.join(cmd))
        try:
            return subprocess.call(cmd)
        except FileNotFoundError as exc:
            raise EngineUnavailable("the docker command is not installed") from exc

    def versions(self) -> tuple[str, str]:
        with translated("version"):
            server = self.docker.version().server
            compose = self.docker.compose.version()
        return str(server.version if server else "unknown"), compose


# ---- throw-away containers and engine facts (certs, doctor) ---------------------------


@dataclass(frozen=True)
class EngineInfo:
    server_version: str
    root_dir: str


def _docker(args: Sequence[str], *, timeout: float, binary: bool = False) -> tuple[int, Any]:
    """Run `docker ARGS` directly: (exit code, stdout + stderr); 127 when docker is missing."""
    import subprocess

    cmd = ["docker", *args]
    log.debug("%s", shlex.join(cmd))
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return 127, b"" if binary else "the docker command is not installed"
    except subprocess.TimeoutExpired:
        return 124, b"" if binary else f"timed out after {timeout:.0f}s"
    if binary:
        return done.returncode, done.stdout
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace").strip()


def engine_info(timeout: float = 10) -> EngineInfo:
    """The engine's version and data root; EngineUnavailable when it does not answer."""
    code, out = _docker(
        ["info", "--format", "{{.ServerVersion}}\t{{.DockerRootDir}}"], timeout=timeout
    )
    version, _, root = str(out).partition("\t")
    if code != 0 or not version or "error" in version.lower():
        raise EngineUnavailable(
            "the Docker engine does not answer",
            hint="start Docker, or fix DOCKER_HOST; check `docker info`",
            details=str(out),
        )
    return EngineInfo(server_version=version.strip(), root_dir=root.strip())


def compose_version(timeout: float = 10) -> str:
    """The compose v2 plugin's version; EngineUnavailable when it is missing."""
    code, out = _docker(["compose", "version", "--short"], timeout=timeout)
    if code != 0:
        raise EngineUnavailable(
            "docker compose (v2) is not installed",
            hint="install the Compose v2 plugin",
            details=str(out),
        )
    return str(out).strip()


def image_ids(names: Sequence[str]) -> dict[str, str]:
    """The local image id of each of `names` that exists (one engine call)."""
    code, out = _docker(
        ["image", "ls", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}}\t{{.ID}}"],
        timeout=30,
    )
    if code != 0:
        return {}
    local = dict(line.split("\t", 1) for line in str(out).splitlines() if "\t" in line)
    found = {}
    for name in names:
        tagged = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
        if tagged in local:
            found[name] = local[tagged]
    return found


def read_image_file(image: str, paths: Sequence[str]) -> tuple[str, bytes] | None:
    """The first of `paths` that exists in `image` (symlinks followed), without running it."""
    import io
    import tarfile

    code, out = _docker(["create", image, "devstack-read"], timeout=60)
    if code != 0:
        return None
    cid = str(out).splitlines()[-1].strip()
    try:
        for path in paths:
            code, data = _docker(["cp", "-L", f"{cid}:{path}", "-"], timeout=60, binary=True)
            if code != 0 or not data:
                continue
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                member = next((m for m in tar.getmembers() if m.isfile()), None)
                extracted = tar.extractfile(member) if member else None
                if extracted is not None:
                    return path, extracted.read()
        return None
    finally:
        _docker(["rm", "-f", cid], timeout=60)


def run_throwaway(
    image: str,
    command: Sequence[str],
    *,
    user: str | None = None,
    mounts: Sequence[tuple[Path, str, bool]] = (),
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, str]:
    """Run `command` in a removed-afterwards container: (exit code, output).
    `mounts` are (host path, container path, read-only)."""
    import uuid

    name = f"devstack-throwaway-{uuid.uuid4().hex[:12]}"
    args = ["run", "--rm", "--name", name, "--entrypoint", command[0]]
    if user:
        args += ["--user", user]
    for source, target, read_only in mounts:
        spec = f"type=bind,source={source},target={target}"
        args += ["--mount", spec + (",readonly" if read_only else "")]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    code, out = _docker([*args, image, *command[1:]], timeout=timeout)
    if code == 124:  # the client timed out; the container may still run
        _docker(["rm", "-f", name], timeout=30)
    return code, str(out)
