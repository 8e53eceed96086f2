"""Plain `docker` calls outside a compose project: engine facts (doctor) and
throw-away containers (certs, doctor)."""

from __future__ import annotations

import io
import logging
import os
import shlex
import subprocess
import tarfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.engine import api
from devstack.errors import DevstackError, EngineUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineInfo:
    server_version: str
    root_dir: str


def _docker(
    args: Sequence[str],
    *,
    timeout: float,
    binary: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """Run `docker ARGS` directly: (exit code, stdout + stderr); 127 when docker is missing.
    `env` is added to the docker client's environment (never to its argv)."""
    cmd = ["docker", *args]
    log.debug("%s", shlex.join(cmd))
    full_env = {**os.environ, **env} if env else None
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, env=full_env)
    except FileNotFoundError:
        return 127, b"" if binary else "the docker command is not installed"
    except subprocess.TimeoutExpired:
        return 124, b"" if binary else f"timed out after {timeout:.0f}s"
    if binary:
        return done.returncode, done.stdout
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace").strip()


def exec_in(
    container_id: str, command: Sequence[str], *, env: Mapping[str, str], timeout: float
) -> tuple[int, str]:
    """Run `command` in a running container: (exit code, output). `env` reaches the
    command by name only (`--env KEY`, the value from the client's environment), so a
    password never shows in a process list or in `-v` logs."""
    names = [arg for key in env for arg in ("--env", key)]
    code, out = _docker(["exec", *names, container_id, *command], timeout=timeout, env=env)
    return code, str(out)


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
    code, out = _docker(
        ["image", "inspect", "--format", "{{json .Config.Healthcheck}}", image], timeout=30
    )
    if code != 0:
        return None
    text = str(out).strip()
    return text not in ("null", "") and '"NONE"' not in text


def read_image_file(image: str, paths: Sequence[str]) -> tuple[str, bytes] | None:
    """The first of `paths` that exists in `image` (symlinks followed), without running it."""
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
    drop_capabilities: bool = False,
    timeout: float = 60,
) -> tuple[int, str]:
    """Run `command` in a removed-afterwards container: (exit code, output).
    `mounts` are (host path, container path, read-only)."""
    name = f"devstack-throwaway-{uuid.uuid4().hex[:12]}"
    args = ["run", "--rm", "--name", name, "--entrypoint", command[0]]
    if user:
        args += ["--user", user]
    if drop_capabilities:
        args += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"]
    for source, target, read_only in mounts:
        spec = f"type=bind,source={source},target={target}"
        args += ["--mount", spec + (",readonly" if read_only else "")]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    code, out = _docker([*args, image, *command[1:]], timeout=timeout)
    if code == 124:  # the client timed out; the container may still run
        _docker(["rm", "-f", name], timeout=30)
    return code, str(out)


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
