"""Plain `docker` calls outside a compose project: engine facts (doctor), commands in a
running container."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.engine import api
from devstack.engine.runner import docker
from devstack.engine.throwaway import read_image_file, run_throwaway
from devstack.errors import DevstackError, EngineUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineInfo:
    server_version: str
    root_dir: str


def exec_in(
    container_id: str, command: Sequence[str], *, env: Mapping[str, str], timeout: float
) -> tuple[int, str]:
    """Run `command` in a running container: (exit code, output). `env` reaches the
    command by name only (`--env KEY`, the value from the client's environment), so a
    password never shows in a process list or in `-v` logs."""
    names = [arg for key in env for arg in ("--env", key)]
    code, out = docker(["exec", *names, container_id, *command], timeout=timeout, env=env)
    return code, str(out)


def engine_info(timeout: float = 10) -> EngineInfo:
    """The engine's version and data root; EngineUnavailable when it does not answer."""
    code, out = docker(
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
    code, out = docker(["compose", "version", "--short"], timeout=timeout)
    if code != 0:
        raise EngineUnavailable(
            "docker compose (v2) is not installed",
            hint="install the Compose v2 plugin",
            details=str(out),
        )
    return str(out).strip()


def image_ids(names: Sequence[str]) -> dict[str, str]:
    """The local image id of each of `names` that exists (one engine call)."""
    code, out = docker(
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


def image_healthcheck(image: str) -> bool | None:
    """Whether a local image has a HEALTHCHECK; None when the image is not here."""
    path = api.socket_path()
    if path:
        try:
            check = (api.Api(path).image(image).get("Config") or {}).get("Healthcheck")
            return isinstance(check, dict) and "NONE" not in (check.get("Test") or [])
        except (KeyError, DevstackError):
            return None
        except api.Unusable as exc:
            log.debug("engine socket unusable (%s): running docker", exc)
    code, out = docker(
        ["image", "inspect", "--format", "{{json .Config.Healthcheck}}", image], timeout=30
    )
    if code != 0:
        return None
    text = str(out).strip()
    return text not in ("null", "") and '"NONE"' not in text


def exec_stream(
    container_id: str, command: Sequence[str], *, user: str | None = None
) -> subprocess.Popen[bytes]:
    """`docker exec -i` kept open: the caller speaks to `command` over its stdin/stdout."""
    cmd = ["docker", "exec", "-i", *(["--user", user] if user else []), container_id, *command]
    log.debug("%s", shlex.join([*cmd[:-1], "..."]))
    try:
        return subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError as exc:
        raise EngineUnavailable("the docker command is not installed") from exc


class DirectCalls:
    """The calls above as methods, so that they are reached through the engine client
    (EngineClient) and a fake can stand in for them."""

    def exec_in(
        self, container_id: str, command: Sequence[str], *, env: Mapping[str, str], timeout: float
    ) -> tuple[int, str]:
        return exec_in(container_id, command, env=env, timeout=timeout)

    def exec_stream(
        self, container_id: str, command: Sequence[str], *, user: str | None = None
    ) -> subprocess.Popen[bytes]:
        return exec_stream(container_id, command, user=user)

    def run_throwaway(
        self,
        image: str,
        command: Sequence[str],
        *,
        user: str | None = None,
        mounts: Sequence[tuple[Path, str, bool]] = (),
        env: dict[str, str] | None = None,
        drop_capabilities: bool = False,
        timeout: float = 60,
    ) -> tuple[int, str]:
        return run_throwaway(
            image,
            command,
            user=user,
            mounts=mounts,
            env=env,
            drop_capabilities=drop_capabilities,
            timeout=timeout,
        )

    def image_healthcheck(self, image: str) -> bool | None:
        return image_healthcheck(image)

    def image_ids(self, names: Sequence[str]) -> dict[str, str]:
        return image_ids(names)

    def read_image_file(self, image: str, paths: Sequence[str]) -> tuple[str, bytes] | None:
        return read_image_file(image, paths)
