"""The engine and the stand-in images work: Redis with a health check, through python-on-whales."""

from __future__ import annotations

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
