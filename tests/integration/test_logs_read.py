"""`logs` without -f reads each container's log from the engine's socket (a local engine),
with `docker logs` (a few containers) or through compose (many): all give the same lines,
in time order, as the engine has them. The container list and state read the same way."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from devstack import config, logs
from devstack.engine import ContainerState, Engine, api, image_healthcheck
from devstack.errors import ComposeError, EngineUnavailable, ExitCode
from devstack.stack import open_stack
from tests.integration.helpers import example

pytestmark = pytest.mark.docker


def test_direct_and_compose_reads_agree(
    tmp_path: Path, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        for key, value in p.env.items():
            monkeypatch.setenv(key, value)
        stack = open_stack(config.load(p.dir, overrides={"project_name": p.name}))
        monkeypatch.setattr(api, "socket_path", lambda environ=None: None)  # the docker CLI
        direct = logs.read(stack, tail=5)
        redis_direct = logs.read(stack, ["redis"], tail=3)  # Redis logs nothing more once up
        monkeypatch.setattr(Engine, "container_logs", lambda self, *a, **kw: None)  # "many"
        via_compose = logs.read(stack, tail=5)
        redis_via_compose = logs.read(stack, ["redis"], tail=3)
        assert {line.service for line in direct} == {line.service for line in via_compose}
        assert {line.service for line in direct} == {"app", "redis"}
        assert [line.timestamp for line in direct] == sorted(line.timestamp for line in direct)
        assert len(redis_direct) == 3 and redis_direct == redis_via_compose
    finally:
        p.devstack("down", "-v")


def test_socket_and_cli_read_the_same(
    tmp_path: Path, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's API on its socket and the docker CLI give the same containers (states,
    health, ports) and the same log lines, for a real stack."""
    p = example("fastapi-redis", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        for key, value in p.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("DOCKER_HOST", raising=False)
        monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
        stack = open_stack(config.load(p.dir, overrides={"project_name": p.name}))
        assert api.socket_path() is not None
        used: list[str] = []
        real_get = api.Api.get
        monkeypatch.setattr(
            api.Api, "get", lambda self, *a, **kw: used.append(a[1]) or real_get(self, *a, **kw)
        )
        by_socket = stack.engine.containers(p.name, oneoff=None)
        ids_socket = stack.engine.container_ids(p.name)
        existing_socket = stack.engine._existing([*ids_socket, "0" * 64])  # remove()'s wait
        cli = pytest.MonkeyPatch()
        cli.setattr(api, "socket_path", lambda environ=None: None)
        by_cli = stack.engine.containers(p.name, oneoff=None)
        ids_cli = stack.engine.container_ids(p.name)
        existing_cli = stack.engine._existing([*ids_socket, "0" * 64])
        cli.undo()
        short = sorted(i[:12] for i in ids_socket)  # `docker container ls -q` shortens them
        assert sorted(i[:12] for i in existing_socket) == short
        assert sorted(i[:12] for i in existing_cli) == short
        assert {c.service for c in by_socket} == {"app", "redis"}
        assert all(c.state == "running" for c in by_socket) and any(c.ports for c in by_socket)
        # a health check may have run between the reads: its output is not compared
        assert _without_health_output(by_socket) == _without_health_output(by_cli)
        assert sorted(ids_socket) == sorted(ids_cli)
        stack.engine.stop([], timeout=5)  # the logs stop growing
        logs_socket = logs.read(stack, tail=20)
        since_socket = logs.read(stack, ["app"], since="2000-01-01T00:00:00Z")
        assert any(u.endswith("/logs") for u in used) and "/containers/json" in used
        used.clear()
        cli.setattr(api, "socket_path", lambda environ=None: None)
        logs_cli = logs.read(stack, tail=20)
        since_cli = logs.read(stack, ["app"], since="2000-01-01T00:00:00Z")
        cli.undo()
        assert used == []
        assert {line.service for line in logs_socket} == {"app", "redis"}
        assert logs_socket == logs_cli
        assert since_socket == since_cli and since_socket
    finally:
        p.devstack("down", "-v")


def test_socket_errors_are_the_cli_errors(
    project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket that is not there is left for the CLI path, which reports the engine as
    unavailable (exit 3); the engine's own refusals become devstack errors."""
    engine = Engine(project_dir=Path.cwd(), files=[], project_name=project_name)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable) as caught:
        engine.containers(project_name)
    assert caught.value.exit_code == ExitCode.ENGINE
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    path = api.socket_path()
    assert path is not None
    client = api.Api(path)
    with pytest.raises(KeyError):
        client.inspect("no-such-container-" + project_name)
    with pytest.raises(ComposeError) as refused:
        client.get("ps", "/containers/json", {"filters": "{not json"})
    assert "answered 500" in refused.value.message  # the engine says 500 for this
    assert refused.value.exit_code == ExitCode.COMPOSE
    assert engine.containers(project_name) == []


def _without_health_output(states: list[ContainerState]) -> list[ContainerState]:
    return sorted((replace(c, health_output="") for c in states), key=lambda c: c.id)


def test_image_healthcheck_same_both_ways(
    tmp_path: Path, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether an image has a HEALTHCHECK reads the same from the socket and the CLI."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    images = {}
    for name, line in (("with", "HEALTHCHECK CMD true"), ("none", "HEALTHCHECK NONE")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(
            f"FROM devstack-local/debian:bookworm\n{line}\n"
        )
        images[name] = f"{project_name}-{name}:test"
        subprocess.run(
            ["docker", "build", "-q", "-t", images[name], str(tmp_path / name)],
            check=True,
            capture_output=True,
        )
    try:
        names = [images["with"], images["none"], "devstack-local/debian:bookworm", "no/such:x"]
        by_socket = [image_healthcheck(n) for n in names]
        monkeypatch.setattr(api, "socket_path", lambda environ=None: None)
        assert by_socket == [image_healthcheck(n) for n in names] == [True, False, False, None]
    finally:
        subprocess.run(["docker", "image", "rm", *images.values()], capture_output=True)
