"""`devstack init` on a bare FastAPI project, brought up; `logs -f` across a restart."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import LOCAL_IMAGES, leftovers
from tests.integration.helpers import Project, docker, free_port, get, wait_for

pytestmark = pytest.mark.docker

APP = """from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index() -> dict[str, str]:
    return {"hello": "init"}
"""


def test_init_scaffolds_a_project_that_comes_up(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text(APP)
    (tmp_path / "requirements.txt").write_text(
        "fastapi>=0.110\nredis>=5\nSQLAlchemy>=2\npsycopg[binary]>=3.1\n"
    )
    (tmp_path / ".gitignore").write_text("dist/\n")
    tmp_path.chmod(0o755)  # as a project directory is; the app runs unprivileged
    port = free_port()
    p = Project(
        dir=tmp_path,
        name=project_name,
        env={
            **LOCAL_IMAGES,
            "REDIS_SEARCH_MODULE": "/usr/lib/redis/modules/redisearch.so",
            "APP_PORT": str(port),
        },
    )
    r = p.devstack("init", str(tmp_path), check=True)
    assert "app module: app.main:app" in r.stderr
    for rel in ("docker/Dockerfile", "compose.yaml", ".env", "devstack.toml", ".dockerignore"):
        assert (tmp_path / rel).is_file(), rel
    env = (tmp_path / ".env").read_text()
    assert "REDIS_PASSWORD=" in env and "POSTGRES_PASSWORD=" in env
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert (tmp_path / ".gitignore").read_text().splitlines() == ["dist/", ".env", ".devstack/"]

    # Never overwrites without --force.
    (tmp_path / "compose.yaml").write_text((tmp_path / "compose.yaml").read_text() + "# mine\n")
    r = p.devstack("init", str(tmp_path), check=True)
    assert "kept    compose.yaml" in r.stdout
    assert (tmp_path / "compose.yaml").read_text().endswith("# mine\n")
    assert (tmp_path / ".env").read_text() == env  # the secrets were not regenerated

    try:
        p.devstack("up", check=True)
        assert json.loads(get(f"http://127.0.0.1:{port}/")) == {"hello": "init"}
        rows = {r["service"]: r for r in json.loads(p.devstack("ps", "--json", check=True).stdout)}
        assert set(rows) == {"app", "redis", "db"} and all(
            r["state"] == "running" for r in rows.values()
        )
        for secret in (line.split("=", 1)[1] for line in env.splitlines() if "=" in line):
            assert secret not in p.devstack("config").stdout
    finally:
        p.devstack("down", "-v")
    assert not any(leftovers(project_name).values())


def test_init_refuses_a_directory_without_an_app(tmp_path: Path) -> None:
    p = Project(dir=tmp_path, name="unused")
    r = p.devstack("init", str(tmp_path))
    assert r.returncode == 2 and "no FastAPI app found" in r.stderr
    assert not any(tmp_path.iterdir())


def test_logs_follow_survives_a_restart(tmp_path: Path, project_name: str) -> None:
    tick = "import time\nfor i in range(10**6):\n    print('tick', i, flush=True)\n"
    tick += "    time.sleep(0.3)"
    (tmp_path / "tick.py").write_text(tick + "\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: devstack-local/python:3.11\n"
    )
    (tmp_path / "devstack.toml").write_text('reload_command = "python -u /app/tick.py"\n')
    p = Project(dir=tmp_path, name=project_name)
    try:
        p.devstack("up", check=True)
        proc = p.popen("logs", "-f", "--tail", "1")
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
        )  # type: ignore[union-attr]
        reader.start()
        wait_for(lambda: len(lines) >= 2, timeout=20)
        docker("restart", "-t", "0", f"{project_name}-app-1")
        seen = len(lines)
        wait_for(
            lambda: any(" 1" in line for line in lines[seen:]) and len(lines) > seen + 3, timeout=30
        )
        assert all(line.startswith("app | ") for line in lines)
        os.killpg(proc.pid, 2)
        proc.wait(timeout=10)
        time.sleep(0.1)
    finally:
        p.devstack("down", "-v")
