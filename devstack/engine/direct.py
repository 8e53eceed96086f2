"""Plain `docker` calls outside a compose project: engine facts (doctor), commands in a
running container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.engine import api, runner, volumes
from devstack.engine.command import CLI, Cli
from devstack.engine.throwaway import read_image_file, run_throwaway
from devstack.errors import EngineTimeout, EngineUnavailable

if TYPE_CHECKING:
    import subprocess


@dataclass(frozen=True)
class EngineInfo:
    server_version: str
    root_dir: str


def exec_in(
    container_id: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cli: Cli = CLI,
) -> tuple[int, str]:
    """Run `command` in a running container: (exit code, output); 124 when it did not
    finish within `timeout`. `env` reaches the command by name only (`--env KEY`, the value
    from the client's environment), so a password never shows in a process list or in `-v`
    logs."""
    names = [arg for key in env for arg in ("--env", key)]
    try:
        done = runner.run(
            cli.docker("exec", *names, container_id, *command), timeout=timeout, env=env
        )
    except EngineTimeout as exc:
        return 124, exc.message
    return done.code, done.text


def engine_info(timeout: float = 10, *, cli: Cli = CLI) -> EngineInfo:
    """The engine's version and data root; EngineUnavailable when it does not answer."""
    done = runner.run(
        cli.docker("info", "--format", "{{.ServerVersion}}\t{{.DockerRootDir}}"), timeout=timeout
    )
    version, _, root = done.text.partition("\t")
    if done.code != 0 or not version or "error" in version.lower():
        raise EngineUnavailable(
            "the Docker engine does not answer",
            hint="start Docker, or fix DOCKER_HOST; check `docker info`",
            details=done.text,
        )
    return EngineInfo(server_version=version.strip(), root_dir=root.strip())


def compose_version(timeout: float = 10, *, cli: Cli = CLI) -> str:
    """The compose v2 plugin's version; EngineUnavailable when it is missing."""
    done = runner.run(cli.docker("compose", "version", "--short"), timeout=timeout)
    if done.code != 0:
        raise EngineUnavailable(
            "docker compose (v2) is not installed",
            hint="install the Compose v2 plugin",
            details=done.text,
        )
    return done.text


def image_ids(names: Sequence[str], *, cli: Cli = CLI) -> dict[str, str]:
    """The local image id of each of `names` that exists (one engine call)."""
    fmt = "{{.Repository}}:{{.Tag}}\t{{.ID}}"
    done = runner.run(cli.docker("image", "ls", "--no-trunc", "--format", fmt), timeout=30)
    if done.code != 0:
        return {}
    local = dict(line.split("\t", 1) for line in done.out.splitlines() if "\t" in line)
    found = {}
    for name in names:
        tagged = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
        if tagged in local:
            found[name] = local[tagged]
    return found


def image_healthcheck(image: str, *, cli: Cli = CLI) -> bool | None:
    """Whether a local image has a HEALTHCHECK; None when the image is not here."""
    with api.local() as client:
        if client:
            return api.healthcheck_of(client, image)
    fmt = "{{json .Config.Healthcheck}}"
    done = runner.run(cli.docker("image", "inspect", "--format", fmt, image), timeout=30)
    if done.code != 0:
        return None
    return done.out.strip() not in ("null", "") and '"NONE"' not in done.out


def exec_stream(
    container_id: str, command: Sequence[str], *, user: str | None = None, cli: Cli = CLI
) -> subprocess.Popen[bytes]:
    """`docker exec -i` kept open: the caller speaks to `command` over its stdin/stdout."""
    cmd = cli.docker("exec", "-i", *(["--user", user] if user else []), container_id, *command)
    return runner.pipe(cmd, shown=[*cmd[:-1], "..."])


class DirectCalls:
    """The calls above as methods, so that they are reached through the engine client
    (EngineClient) and a fake can stand in for them; `cli` aims them at the engine."""

    cli: Cli = CLI

    def exec_in(
        self, container_id: str, command: Sequence[str], *, env: Mapping[str, str], timeout: float
    ) -> tuple[int, str]:
        return exec_in(container_id, command, env=env, timeout=timeout, cli=self.cli)

    def exec_stream(
        self, container_id: str, command: Sequence[str], *, user: str | None = None
    ) -> subprocess.Popen[bytes]:
        return exec_stream(container_id, command, user=user, cli=self.cli)

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
            cli=self.cli,
        )

    def image_healthcheck(self, image: str) -> bool | None:
        return image_healthcheck(image, cli=self.cli)

    def image_ids(self, names: Sequence[str]) -> dict[str, str]:
        return image_ids(names, cli=self.cli)

    def read_image_file(self, image: str, paths: Sequence[str]) -> tuple[str, bytes] | None:
        return read_image_file(image, paths, cli=self.cli)

    def volume_labels(self, project: str) -> dict[str, dict[str, str]]:
        return volumes.labels(project, cli=self.cli)

    def create_volume(
        self, name: str, *, labels: dict[str, str], driver: str | None, options: dict[str, str]
    ) -> None:
        volumes.create(name, labels=labels, driver=driver, options=options, cli=self.cli)
