"""`down` through the engine's API: a PID 1 that ignores SIGTERM goes down in stop_timeout,
one-off and orphaned containers and the network go with the rest, volumes stay unless -v."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import LOCAL_IMAGES, leftovers

pytestmark = pytest.mark.docker

COMPOSE = """\
services:
  app:
    image: ${PYTHON_IMAGE}
    command: ["sh", "-c", "sleep infinity"]
  redis:
    image: ${REDIS_IMAGE}
    command: ["redis-server", "--save", ""]
    volumes: ["data:/data"]
volumes:
  data: {}
"""


def test_down_stops_what_ignores_sigterm_in_stop_timeout(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    env = {**os.environ, **LOCAL_IMAGES, "DEVSTACK_STOP_TIMEOUT": "2"}
    compose = ["docker", "compose", "-p", project_name]

    def devstack(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "devstack", "-C", str(tmp_path), "-p", project_name, *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)

    try:
        subprocess.run([*compose, "up", "-d"], cwd=tmp_path, env=env, check=True)
        oneoff = [*compose, "run", "-d", "--no-deps", "redis", "sleep", "600"]
        subprocess.run(oneoff, cwd=tmp_path, env=env, check=True, capture_output=True)
        start = time.monotonic()
        r = devstack("down")
        took = time.monotonic() - start
        assert r.returncode == 0, r.stderr
        assert "removed 3 container(s)" in r.stdout and f"{project_name}_data" in r.stderr
        assert 2 <= took < 10, took  # SIGKILL after stop_timeout (2 s), not compose's 10 s
        left = leftovers(project_name)
        assert left["volumes"] and not left["containers"] and not left["networks"], left
        subprocess.run([*compose, "up", "-d", "redis"], cwd=tmp_path, env=env, check=True)
        r = devstack("down", "-v")
        assert r.returncode == 0 and f"deleted volumes: {project_name}_data" in r.stdout, r
    finally:
        subprocess.run([*compose, "down", "-v", "-t", "1"], cwd=tmp_path, capture_output=True)
    assert not any(leftovers(project_name).values())
