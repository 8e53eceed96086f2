"""The engine and the stand-in images work: Redis with a health check, through python-on-whales."""

from __future__ import annotations

import os
from pathlib import Path

from python_on_whales import DockerClient

from tests.conftest import leftovers

COMPOSE = """
services:
  redis:
    image: devstack-local/redis:7
    ports: ["127.0.0.1::6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      timeout: 2s
      retries: 30
"""


def test_redis_stand_in_healthy_and_answers_ping(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    docker = DockerClient(
        compose_files=[tmp_path / "compose.yaml"], compose_project_name=project_name
    )
    try:
        docker.compose.up(detach=True, wait=True)
        (container,) = docker.compose.ps()
        assert container.state.health is not None
        assert container.state.health.status == "healthy"
        assert docker.compose.execute("redis", ["redis-cli", "ping"], tty=False) == "PONG"
        modules = docker.compose.execute("redis", ["redis-cli", "MODULE", "LIST"], tty=False)
        assert "ft" in str(modules).lower()
    finally:
        docker.compose.down(volumes=True)
    assert not any(leftovers(project_name).values())


def test_probe_and_volumes_through_the_socket(tmp_path: Path, project_name: str) -> None:
    """A health check run now through the engine's API (no docker process): its exit code
    and output, a timeout, a container that is gone; the project's volumes listed."""
    from devstack.engine import Engine

    (tmp_path / "compose.yaml").write_text(
        COMPOSE + '    volumes: ["data:/data"]\nvolumes:\n  data: {}\n'
    )
    docker = DockerClient(
        compose_files=[tmp_path / "compose.yaml"], compose_project_name=project_name
    )
    engine = Engine(project_dir=tmp_path, files=[tmp_path / "compose.yaml"])
    try:
        docker.compose.up(detach=True, wait=True)  # redis answers: the probe is not a race
        (c,) = engine.containers(project_name)
        assert engine.probe(c.id, ["CMD", "redis-cli", "ping"], 5.0) == (True, "PONG")
        failed = engine.probe(c.id, ["CMD-SHELL", "echo broken >&2; exit 3"], 5.0)
        assert failed == (False, "broken")
        assert engine.probe(c.id, ["CMD-SHELL", "sleep 5"], 0.5) == (False, "timed out")
        assert engine.probe("0" * 64, ["CMD", "true"], 5.0) == (False, "container is gone")
        assert engine.volumes(project_name) == [f"{project_name}_data"]
    finally:
        docker.compose.down(volumes=True)
    assert engine.volumes(project_name) == []
    assert not any(leftovers(project_name).values())


def test_one_answer_to_which_engine_for_a_docker_context(tmp_path: Path) -> None:
    """A context made with the docker CLI: location (does the engine see my files?) and the
    socket reader (is there a local socket?) read the same address from it."""
    import subprocess

    from devstack.delivery.location import locate
    from devstack.engine import api

    env = {"DOCKER_CONFIG": str(tmp_path), "PATH": os.environ["PATH"]}
    for name, host in [("far", "ssh://me@box.invalid"), ("near", "unix:///var/run/docker.sock")]:
        made = subprocess.run(
            ["docker", "context", "create", name, "--docker", f"host={host}"],
            env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    far = {**env, "DOCKER_CONTEXT": "far"}
    assert (locate(far).host, locate(far).remote, locate(far).source) == (
        "ssh://me@box.invalid", True, "context far"
    )  # fmt: skip
    assert api.socket_path(far) is None
    near = {**env, "DOCKER_CONTEXT": "near"}
    assert (locate(near).remote, locate(near).source) == (False, "context near")
    assert api.socket_path(near) == "/var/run/docker.sock"
    missing = {**env, "DOCKER_CONTEXT": "no-such-context"}
    assert api.socket_path(missing) is None  # the docker CLI reports it when it runs
