"""The app held at its start while `up` migrates (devstack/delivery/hold.py), on
fastapi-postgres and the real engine: it serves only after the migration; a container the
engine restarts starts with no devstack around; a failed migration leaves no app behind;
a hold a killed devstack left is cleared by the next `up`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import leftovers
from tests.integration.helpers import docker, example, get, wait_for

pytestmark = pytest.mark.docker

# A migration that ends when the test says so: it waits for a file in the mounted code.
GATED = """\
import os, time
revision = "0002"
down_revision = "0001"
def upgrade():
    deadline = time.monotonic() + 120
    while not os.path.exists("/app/migration-may-end") and time.monotonic() < deadline:
        time.sleep(0.05)
"""
FAILING = 'revision = "0002"\ndown_revision = "0001"\ndef upgrade():\n    raise SystemExit(3)\n'


def app_container(project: str, *, running: bool = False) -> str:
    return docker(
        "ps", *([] if running else ["-a"]), "-q",
        "--filter", f"label=com.docker.compose.project={project}",
        "--filter", "label=com.docker.compose.service=app",
        "--filter", "label=com.docker.compose.oneoff=False",
    ).strip()  # fmt: skip


def test_the_app_serves_only_after_the_migration_and_restarts_alone(
    tmp_path: Path, project_name: str
) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    url = f"http://127.0.0.1:{p.env['APP_PORT']}"
    held = p.dir / ".devstack" / "hold" / "held"
    try:
        p.devstack("up", check=True)
        p.devstack("down", check=True)  # containers gone, the database kept
        (p.dir / "migrations" / "versions" / "0002_gated.py").write_text(GATED)
        proc = p.popen("up")
        # while the migration runs, the app's container is up and held: nothing serves
        wait_for(lambda: app_container(project_name, running=True), timeout=60)
        assert held.exists()
        with pytest.raises(OSError):
            get(url, timeout=1)
        (p.dir / "migration-may-end").touch()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert not held.exists()
        assert json.loads(get(url + "/items"))[0]["name"] == "created by migration 0001"
        # restarted by the engine, no devstack around: it starts and serves again
        docker("restart", "-t", "1", app_container(project_name))
        wait_for(lambda: get(url + "/items"), timeout=60)
    finally:
        p.devstack("down", "-v")
    assert not any(leftovers(project_name).values())


def test_a_failed_migration_leaves_no_held_app(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    url = f"http://127.0.0.1:{p.env['APP_PORT']}"
    held = p.dir / ".devstack" / "hold" / "held"
    failing = p.dir / "migrations" / "versions" / "0002_failing.py"
    try:
        failing.write_text(FAILING)
        r = p.devstack("up")
        assert r.returncode == ExitCode.MIGRATION, r.stderr
        assert "exited with code 3" in r.stderr
        assert not app_container(project_name)  # removed before it was let go
        assert not held.exists()
        failing.unlink()
        p.devstack("up", check=True)
        # a devstack killed while it held the app left the file: a restart waits on it ...
        held.touch()
        docker("restart", "-t", "1", app_container(project_name))
        time.sleep(1)  # the wait loop polls every 0.05 s: had it not held, it would serve
        with pytest.raises(OSError):
            get(url, timeout=1)
        # ... until the next up, which migrates, then lets it go
        p.devstack("up", check=True)
        assert not held.exists()
        assert json.loads(get(url + "/items"))[0]["name"] == "created by migration 0001"
    finally:
        p.devstack("down", "-v")
    assert not any(leftovers(project_name).values())
