"""`devstack test` on a project whose own one-shot prestart service prepares the database
(FastAPI's template's shape): the copy runs it, on the copy's fresh volume, before the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import docker

pytestmark = pytest.mark.docker

COMPOSE = """services:
  db:
    image: devstack-local/postgres:15
    environment: {POSTGRES_PASSWORD: pw}
    volumes: ["db-data:/var/lib/postgresql/data", "marks:/marks"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres -h 127.0.0.1"]
      interval: 5s
  prestart:
    image: devstack-local/python:3.11
    command: ["sh", "-c", "echo $$HOSTNAME >> /marks/prestart"]
    volumes: ["marks:/marks"]
    depends_on: {db: {condition: service_healthy}}
  app:
    image: devstack-local/python:3.11
    volumes: ["marks:/marks"]
    depends_on:
      prestart: {condition: service_completed_successfully}
volumes:
  db-data:
  marks:
"""
SETTINGS = """[tool.devstack]
app_service = "app"
reload_command = "sleep infinity"
test_command = "sh -c 'test $(wc -l < /marks/prestart) = 1 && echo prestart ran once here'"
"""


def test_the_projects_prestart_service_runs_in_the_copy(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    argv = [sys.executable, "-m", "devstack", "-C", str(tmp_path), "-p", project_name]
    label = f"label=dev.devstack.test.of={project_name}"
    try:
        up = subprocess.run([*argv, "up"], capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        for _ in range(2):  # the dev stack's mark stays one line: the copies have their own
            done = subprocess.run([*argv, "test"], capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "prestart ran once here" in done.stdout
            assert "test_command in" in done.stderr.splitlines()[1]
        of_project = f"label=com.docker.compose.project={project_name}"
        dev_db = docker(
            "ps", "-q", "--filter", of_project, "--filter", "label=com.docker.compose.service=db"
        )
        dev_db = dev_db.split()
        marks = docker("exec", dev_db[0], "cat", "/marks/prestart").splitlines()
        assert len(marks) == 1, marks
        assert not docker("ps", "-aq", "--filter", label).split()
        assert not docker("volume", "ls", "-q", "--filter", label).split()
        assert not docker("network", "ls", "-q", "--filter", label).split()
    finally:
        subprocess.run([*argv, "down", "-v"], capture_output=True, timeout=120)
