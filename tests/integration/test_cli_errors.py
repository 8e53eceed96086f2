"""Every exit code provoked against the real engine, with clear messages and no leaks."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import leftovers
from tests.integration.helpers import Project, free_port

pytestmark = pytest.mark.docker

APP = """
  app:
    image: devstack-local/python:3.11
    command: ["python", "-m", "http.server", "8000"]
    healthcheck:
      test: ["CMD", "python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/')"]
      interval: 30s
"""


def make(tmp_path: Path, name: str, compose: str, toml: str = "") -> Project:
    (tmp_path / "compose.yaml").write_text(compose)
    toml = toml or 'reload_command = "python -m http.server 8000 --directory /app"\n'
    (tmp_path / "devstack.toml").write_text(toml)
    return Project(dir=tmp_path, name=name)


def test_dependency_never_healthy_is_exit_4_within_timeout(
    tmp_path: Path, project_name: str
) -> None:
    compose = (
        "services:"
        + APP
        + """    depends_on: [db]
  db:
    image: devstack-local/redis:7
    healthcheck:
      test: ["CMD-SHELL", "echo not-ready-yet; exit 1"]
      interval: 1s
      retries: 1000
"""
    )
    p = make(tmp_path, project_name, compose)
    start = time.monotonic()
    r = p.devstack("up", "--wait-timeout", "4")
    took = time.monotonic() - start
    assert r.returncode == ExitCode.UNHEALTHY, r.stderr
    assert took < 4 + 2 + 3, took  # the wait timeout plus 2 s, plus process start-up
    assert "db did not become healthy within 4s" in r.stderr
    assert "not-ready-yet" in r.stderr  # its last health-check output
    assert "last 20 log lines" in r.stderr and "Traceback" not in r.stderr
    p.devstack("down", "-v", check=True)


def test_dependency_exiting_fails_fast(tmp_path: Path, project_name: str) -> None:
    compose = (
        "services:"
        + APP
        + """    depends_on: [db]
  db:
    image: devstack-local/redis:7
    command: ["sh", "-c", "echo starting; sleep 1; echo fatal: bad config >&2; exit 3"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
"""
    )
    p = make(tmp_path, project_name, compose)
    start = time.monotonic()
    r = p.devstack("up", "--wait-timeout", "60")
    took = time.monotonic() - start
    assert r.returncode == ExitCode.UNHEALTHY
    assert took < 1 + 3 + 3, took  # exits after 1 s; we fail within 3 s of that
    assert "db exited with code 3" in r.stderr and "fatal: bad config" in r.stderr
    p.devstack("down", "-v", check=True)


def test_migration_failure_is_exit_5_then_applies_after_fix(
    tmp_path: Path, project_name: str
) -> None:
    (tmp_path / "migrate.py").write_text("raise RuntimeError('boom: column missing')\n")
    p = make(
        tmp_path,
        project_name,
        "services:" + APP,
        'reload_command = "python -m http.server 8000"\n'
        'migrate_command = "python /app/migrate.py"\n',
    )
    r = p.devstack("migrate")
    assert r.returncode == ExitCode.MIGRATION, r.stderr
    assert "boom: column missing" in r.stderr and "exited with code 1" in r.stderr
    assert not leftovers(project_name)["containers"]  # no one-off left
    (tmp_path / "migrate.py").write_text("print('applied 0002')\n")
    r = p.devstack("migrate")
    assert r.returncode == 0, r.stderr
    assert "applied 0002" in r.stderr
    p.devstack("down", "-v", check=True)


def test_invalid_compose_files_are_exit_2(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name, "services:\n  app: [unclosed\n")
    r = p.devstack("up")
    assert r.returncode == ExitCode.USAGE
    assert "compose" in r.stderr and "line" in r.stderr.lower() and "Traceback" not in r.stderr
    p = make(tmp_path, project_name, "services:\n  app:\n    image: x\n    bogus_key: 1\n")
    r = p.devstack("ps")
    assert r.returncode == ExitCode.USAGE
    assert "bogus_key" in r.stderr


def test_unknown_service_is_exit_2(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name, "services:" + APP)
    for args in (["up", "nope"], ["logs", "nope"], ["exec", "nope", "true"], ["shell", "nope"]):
        r = p.devstack(*args)
        assert r.returncode == ExitCode.USAGE, (args, r.stderr)
        assert "unknown service nope" in r.stderr and "services in this project: app" in r.stderr


def test_build_failure_is_exit_6(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM devstack-local/python:3.11\nRUN echo compiling && exit 7\n"
    )
    p = make(tmp_path, project_name, "services:\n  app:\n    build: .\n")
    r = p.devstack("up", "--build")
    assert r.returncode == ExitCode.COMPOSE, r.stderr
    assert "build failed" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_engine_and_missing_compose_are_exit_3(
    tmp_path: Path, project_name: str
) -> None:
    p = make(tmp_path, project_name, "services:" + APP)
    for env in (
        {"DOCKER_HOST": f"tcp://127.0.0.1:{free_port()}"},
        {"DOCKER_CONFIG": str(tmp_path)},
    ):
        start = time.monotonic()
        r = p.devstack("up", env=env)
        took = time.monotonic() - start
        assert r.returncode == ExitCode.ENGINE, (env, r.stderr)
        assert took < 2 + 1, took
        assert "hint:" in r.stderr and "Traceback" not in r.stderr


def test_sigint_while_waiting_is_130_and_next_up_works(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "ready").write_text("no")
    compose = (
        "services:"
        + APP
        + """    depends_on: [db]
  db:
    image: devstack-local/redis:7
    volumes: ["./ready:/ready:ro"]
    healthcheck:
      test: ["CMD-SHELL", "grep -q yes /ready"]
      interval: 1s
      retries: 1000
"""
    )
    p = make(tmp_path, project_name, compose)
    proc = p.popen("up", "--wait-timeout", "60")
    time.sleep(6)  # well into waiting on db
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "interrupted while waiting on dependencies" in err
    assert "containers left running: db" in err
    left = leftovers(project_name)
    assert len(left["containers"]) == 1  # db only, as the message says; no one-off containers
    (tmp_path / "ready").write_text("yes")
    r = p.devstack("up", "--wait-timeout", "60")
    assert r.returncode == 0, r.stderr
    p.devstack("down", "-v", check=True)
