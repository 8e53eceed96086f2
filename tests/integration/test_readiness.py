"""Dependencies without a health check are waited on until they answer, never a sleep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import Project, docker, example, get

pytestmark = pytest.mark.docker

# The seed document's compose shape: no health checks, `depends_on` as a list, the data
# directory bind-mounted from $PWD. Redis takes seconds to listen (as a real one loading
# its data set would), so an app that did not wait would fail its first request.
SEED_COMPOSE = """\
services:
  redis:
    image: ${REDIS_IMAGE}
    command: ["sh", "-c", "sleep 6; exec /entrypoint.sh --dir /data"]
    ports:
      - "${REDIS_PORT}:6379"
    volumes:
      - $PWD/data:/data
  web:  # an image devstack knows nothing about, exposing a port it opens late
    image: ${PYTHON_IMAGE}
    command: ["sh", "-c", "sleep 3; exec python -m http.server 8000"]
    expose: ["8000"]
  worker:  # exposes nothing: judged by its running state
    image: ${PYTHON_IMAGE}
    command: ["sleep", "infinity"]
  app:
    build:
      context: ../..
      dockerfile: compose/Dockerfile
      args:
        PYTHON_IMAGE: ${PYTHON_IMAGE}
        APP_DIR: examples/fastapi-redis
    ports:
      - "${APP_PORT}:80"
    environment:
      REDIS_URL: redis://redis:6379/0
      HEALTH_PATH: /health
    depends_on:
      - redis
      - web
      - worker
"""


def seed_shaped(tmp_path: Path, project_name: str) -> Project:
    p = example("fastapi-redis", tmp_path, project_name)
    (p.dir / "compose.yaml").write_text(SEED_COMPOSE)
    (p.dir / "data").mkdir()
    p.env["PWD"] = str(p.dir)  # as in a shell in the project directory
    return p


@pytest.mark.parametrize("probe_from", ["host", "container"])
def test_seed_compose_shape_waits_on_real_readiness(
    tmp_path: Path, project_name: str, probe_from: str
) -> None:
    p = seed_shaped(tmp_path, project_name)
    try:
        r = p.devstack("--json", "up", env={"DEVSTACK_PROBE_FROM": probe_from})
        assert r.returncode == 0, r.stderr
        rows = {s["service"]: s for s in json.loads(r.stdout)["services"]}
        # The first request after `up` reaches redis.
        assert json.loads(get(f"http://127.0.0.1:{p.env['APP_PORT']}/"))["hits"] == 1
        # And web, which opens its port seconds after it starts, answers at once too.
        app_id = docker(
            "ps", "-q", "--filter", f"label=com.docker.compose.project={project_name}",
            "--filter", "label=com.docker.compose.service=app",
        ).split()[0]  # fmt: skip
        docker(
            "exec",
            app_id,
            "python",
            "-c",
            "import urllib.request as u; u.urlopen('http://web:8000/')",
        )
        assert rows["redis"]["ready_by"] == "probe: redis PING"
        assert rows["web"]["ready_by"] == "tcp 8000"
        assert rows["worker"]["ready_by"] == "running"
        assert rows["app"]["ready_by"] == "healthcheck" and rows["app"]["health"] == "healthy"

        table = p.devstack("up", env={"DEVSTACK_PROBE_FROM": probe_from}, check=True).stdout
        assert "probe: redis PING" in table and "tcp 8000" in table
    finally:
        p.devstack("down", "-v")


def test_postgres_without_healthcheck_is_ready_before_migrating(
    tmp_path: Path, project_name: str
) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    compose = yaml.safe_load((p.dir / "compose.yaml").read_text())
    for spec in compose["services"].values():
        spec.pop("healthcheck", None)
    compose["services"]["app"]["depends_on"] = ["db", "redis"]
    (p.dir / "compose.yaml").write_text(yaml.safe_dump(compose))
    try:
        r = p.devstack("--json", "up")
        assert r.returncode == 0, r.stderr  # the migration found the database answering
        rows = {s["service"]: s for s in json.loads(r.stdout)["services"]}
        assert rows["db"]["ready_by"] == "probe: postgres startup"
        assert rows["redis"]["ready_by"] == "probe: redis PING"
        shown = p.devstack("config", "--settings", check=True).stdout
        assert json.loads(shown)["readiness"]["db"].startswith("probe: postgres startup")
    finally:
        p.devstack("down", "-v")
