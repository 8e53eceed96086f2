"""Dependencies without a health check are waited on until they answer, never a sleep."""

from __future__ import annotations

import json
import subprocess
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


# A stand-in for the memcached image, from Debian's package on the local base (~15 s once;
# kept for later runs like the other stand-ins). Memcached's image has no client to run.
MEMCACHED_IMAGE = "devstack-test/memcached:bookworm"
MEMCACHED_DOCKERFILE = """\
FROM devstack-local/debian:bookworm
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends memcached \\
 && rm -rf /var/lib/apt/lists/*
EXPOSE 11211
USER memcache
CMD ["memcached", "-l", "0.0.0.0", "-p", "11211"]
"""


@pytest.fixture(scope="module")
def memcached_image() -> str:
    found = subprocess.run(["docker", "image", "inspect", MEMCACHED_IMAGE], capture_output=True)
    if found.returncode != 0:
        subprocess.run(
            ["docker", "build", "-q", "-t", MEMCACHED_IMAGE, "-"],
            input=MEMCACHED_DOCKERFILE.encode(),
            capture_output=True,
            check=True,
            timeout=600,
        )
    return MEMCACHED_IMAGE


@pytest.mark.parametrize("probe_from", ["host", "container"])
def test_memcached_without_healthcheck_answers_version_when_ready(
    tmp_path: Path, project_name: str, memcached_image: str, probe_from: str
) -> None:
    (tmp_path / "compose.yaml").write_text(
        f"""
services:
  cache:
    image: {memcached_image}
    command: ["sh", "-c", "sleep 3; exec memcached -l 0.0.0.0 -p 11211"]
  app:
    image: devstack-local/python:3.11
    healthcheck:
      test: ["CMD", "true"]
    depends_on: [cache]
"""
    )
    (tmp_path / "devstack.toml").write_text(
        'reload_command = "sleep infinity"\nprobe_from = "' + probe_from + '"\n'
    )
    p = Project(dir=tmp_path, name=project_name)
    ask = (
        "import socket; s = socket.create_connection(('cache', 11211), timeout=2); "
        "s.sendall(b'version\\r\\n'); assert s.recv(64).startswith(b'VERSION')"
    )
    try:
        r = p.devstack("--json", "up")
        assert r.returncode == 0, r.stderr
        rows = {s["service"]: s for s in json.loads(r.stdout)["services"]}
        assert rows["cache"]["ready_by"] == "probe: memcached version"
        p.devstack("exec", "app", "python", "-c", ask, check=True)  # answers at once
    finally:
        p.devstack("down", "-v")
