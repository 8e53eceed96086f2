"""Every command on both examples, against the real engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import leftovers
from tests.integration.helpers import Project, docker, example, get, post, wait_for

pytestmark = pytest.mark.docker


def published_bindings(project: str) -> list[str]:
    """Host IPs of every published port of the project's containers, from the engine."""
    ids = docker("ps", "-q", "--filter", f"label=com.docker.compose.project={project}").split()
    ips = []
    for info in json.loads(docker("inspect", *ids)):
        for bindings in (info["NetworkSettings"]["Ports"] or {}).values():
            ips += [b["HostIp"] for b in bindings or []]
    return ips


def app_url(p: Project) -> str:
    return f"http://127.0.0.1:{p.env['APP_PORT']}"


def edit_message(p: Project, text: str) -> None:
    main = p.dir / "app" / "main.py"
    source = main.read_text()
    start = source.index('MESSAGE = "') + len('MESSAGE = "')
    end = source.index('"', start)
    main.write_text(source[:start] + text + source[end:])


def test_fastapi_postgres_every_command(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    try:
        r = p.devstack("up", check=True)
        assert "app" in r.stdout and app_url(p) in r.stdout
        assert json.loads(get(app_url(p)))["message"] == "hello from devstack"
        # The migration ran before the app started: its table is there.
        assert json.loads(get(app_url(p) + "/items"))[0]["name"] == "created by migration 0001"
        ips = published_bindings(project_name)
        assert ips and set(ips) == {"127.0.0.1"}, ips

        # An edit to the bind-mounted code is served.
        edit_message(p, "edited once")
        wait_for(lambda: json.loads(get(app_url(p)))["message"] == "edited once", timeout=20)

        # ps reports every service healthy, as JSON too.
        rows = json.loads(p.devstack("ps", "--json", check=True).stdout)
        assert {r["service"]: r["state"] for r in rows} == {
            "app": "running",
            "db": "running",
            "redis": "running",
        }

        # logs shows the request, lines in time order.
        r = p.devstack("--json", "logs", check=True)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        assert any(line["service"] == "app" and "GET /items" in line["text"] for line in lines)
        stamps = [line["timestamp"] for line in lines]
        assert stamps == sorted(stamps, key=lambda s: s.rstrip("Z").ljust(30, "0"))

        # exec runs in the container.
        r = p.devstack(
            "exec", "db", "psql", "-U", "app", "-d", "app", "-tAc", "select count(*) from items"
        )
        assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr

        # Data survives down + up.
        post(app_url(p) + "/items/kept")
        hits = json.loads(get(app_url(p)))["hits"]
        r = p.devstack("down", check=True)
        left = leftovers(project_name)
        assert not left["containers"] and not left["networks"] and len(left["volumes"]) == 2
        p.devstack("up", check=True)
        assert [i["name"] for i in json.loads(get(app_url(p) + "/items"))][-1] == "kept"
        assert json.loads(get(app_url(p)))["hits"] == hits + 1

        # migrate on a stopped stack starts and waits for the database, then applies.
        p.devstack("down", check=True)
        r = p.devstack("migrate", check=True)
        assert "migrating" in r.stderr
        states = json.loads(p.devstack("ps", "--json", check=True).stdout)
        assert {r["service"]: r["state"] for r in states}["db"] == "running"

        # down -v deletes the data and names the volumes.
        r = p.devstack("down", "-v", check=True)
        assert "deleted volumes" in r.stdout and "db-data" in r.stdout
        assert not any(leftovers(project_name).values())
        p.devstack("up", check=True)
        assert [i["name"] for i in json.loads(get(app_url(p) + "/items"))] == [
            "created by migration 0001"
        ]
    finally:
        p.devstack("down", "-v")


def test_fastapi_redis_module_counter_reload(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    try:
        start = time.monotonic()
        p.devstack("up", check=True)
        took = time.monotonic() - start
        search = json.loads(get(app_url(p) + "/search?q=devstack"))
        assert search["total"] == 1 and search["ids"] == ["doc:1"]
        first = json.loads(get(app_url(p)))["hits"]
        assert json.loads(get(app_url(p)))["hits"] == first + 1
        assert set(published_bindings(project_name)) == {"127.0.0.1"}
        edit_message(p, "reloaded")
        wait_for(lambda: json.loads(get(app_url(p)))["message"] == "reloaded", timeout=20)
        # Redis requires the password from .env; devstack's output never shows it.
        r = p.devstack("-v", "config")
        assert r.returncode == 0
        for secret in (p.env["REDIS_PASSWORD"],):
            assert secret not in r.stdout + r.stderr
        print(f"fastapi-redis up in {took:.1f}s")
    finally:
        p.devstack("down", "-v")
    assert not any(leftovers(project_name).values())
