"""`devstack test` without an engine: the copy's layer, the test command, whose copy it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import config
from devstack.project import Project, Service
from devstack.testrun import command, copy, owners

LABELS = {owners.OF: "shop", owners.OWNER: "h:1:2"}


def _project() -> Project:
    plain = {"builds": False, "depends_on": (), "ports": ()}
    return Project(
        name="shop-test-1",
        services={"app": Service("app", **{**plain, "builds": True}), "db": Service("db", **plain)},
        app="app",
    )


def _settings(tmp_path: Path, **values: object) -> config.Settings:
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: x\n")
    return config.load(tmp_path, environ={}, overrides=values)


def test_layer_removes_host_ports_and_keeps_every_volume_and_network_apart(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    data_dir.mkdir()
    (tmp_path / "init.sql").write_text("")
    model = {
        "name": "shop-test-1",
        "services": {
            "app": {
                "build": {"context": "."},
                "ports": [{"target": 80, "published": "8000"}],
                "container_name": "shop-app",
                "networks": {"default": None, "proxy": None},
                "volumes": [{"type": "volume", "source": "shared", "target": "/s"}],
            },
            "db": {
                "image": "postgres",
                "ports": [{"target": 5432, "published": "5432"}],
                "volumes": [
                    {"type": "volume", "source": "db-data", "target": "/var/lib/postgresql/data"},
                    {"type": "bind", "source": str(data_dir), "target": "/backup"},
                    {"type": "bind", "source": str(tmp_path / "init.sql"), "target": "/i.sql"},
                    {"type": "bind", "source": str(data_dir), "target": "/ro", "read_only": True},
                ],
            },
        },
        "volumes": {
            "db-data": {"name": "shop-test-1_db-data"},
            "fixed": {"name": "shop-data"},
            "shared": {"name": "shared", "external": True},
        },
        "networks": {
            "default": {"name": "shop-test-1_default"},
            "proxy": {"name": "traefik-public", "external": True},
        },
    }
    settings = _settings(tmp_path)
    layer = copy.render(model, _project(), settings, dev_project="shop", labels=LABELS)
    app, db = layer["services"]["app"], layer["services"]["db"]
    assert isinstance(app["ports"], list) and app["ports"] == [] and db["ports"] == []
    assert type(app["ports"]).__name__ == "_Reset"  # written as `!reset []`
    assert app["image"] == "shop-app"  # the development stack's build, not a new one
    assert app["container_name"] == "shop-test-1-app"
    assert app["labels"] == db["labels"] == LABELS
    # an external volume and network are swapped for fresh ones of the copy
    assert app["volumes"] == [{"type": "volume", "source": "devstack-test-shared", "target": "/s"}]
    assert set(app["networks"]) == {"default", "devstack-test-proxy"}
    # a volume the files name themselves is renamed after the copy (`down -v` deletes it)
    assert layer["volumes"]["fixed"]["name"] == "shop-test-1_fixed"
    assert "name" not in layer["volumes"]["db-data"]
    # a dependency's writable bind-mounted directory gets a fresh volume; files and
    # read-only mounts stay
    fresh = {"type": "volume", "source": "devstack-test-db-1", "target": "/backup"}
    assert db["volumes"] == [fresh]
    for name in ("db-data", "fixed", "devstack-test-shared", "devstack-test-db-1"):
        assert layer["volumes"][name]["labels"] == LABELS
    assert layer["networks"]["default"]["labels"] == LABELS


def test_layer_is_written_with_compose_tags(tmp_path: Path) -> None:
    import yaml

    model = {"name": "n", "services": {"app": {"image": "x", "ports": [{"target": 80}]}}}
    layer = copy.render(model, _project(), _settings(tmp_path), dev_project="d", labels=LABELS)
    text = yaml.dump(layer, Dumper=copy._Dumper)
    assert "ports: !reset []" in text and "&id" not in text


def test_test_command_setting_wins_and_arguments_follow(tmp_path: Path) -> None:
    settings = _settings(tmp_path, test_command="python -m pytest -x")
    found = command.resolve(settings, ["--junitxml=r.xml"])
    assert found.argv == ("python", "-m", "pytest", "-x", "--junitxml=r.xml")
    assert "test_command" in found.why


def test_the_projects_own_script_comes_next_run_by_its_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "scripts" / "tests-start.sh"
    script.parent.mkdir()
    script.write_text('#! /usr/bin/env bash\nset -e\npytest "$@"\n')
    found = command.resolve(_settings(tmp_path), ["-k", "x"])
    assert found.argv == ("bash", "/app/scripts/tests-start.sh", "-k", "x")
    assert "scripts/tests-start.sh" in found.why


def test_pytest_is_the_default(tmp_path: Path) -> None:
    found = command.resolve(_settings(tmp_path))
    assert found.argv == ("pytest",)
    assert "no test_command" in found.why


def test_interpreters() -> None:
    assert command._interpreter(b"#!/bin/sh\n", False) == ("sh",)
    assert command._interpreter(b"#!/bin/bash -e\n", False) == ("bash",)
    assert command._interpreter(b"#!/usr/bin/env python3\n", True) == ()
    assert command._interpreter(b"echo hi\n", True) == ("sh",)


def test_test_command_must_be_a_command(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="test_command"):
        _settings(tmp_path, test_command=3)


def test_owner_is_alive_while_its_process_runs() -> None:
    assert owners.alive(owners.me()) is True
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host = owners.me().split(":")[0]
        theirs = f"{host}:{proc.pid}:{owners._started(proc.pid)}"
        assert owners.alive(theirs) is True
        assert owners.alive(f"{host}:{proc.pid}:1") is False  # the id reused by another process
    finally:
        proc.kill()
        proc.wait()
    assert owners.alive(theirs) is False
    assert owners.alive(f"another-machine:{os.getpid()}:1") is None


def test_the_copys_volumes_are_made_with_its_labels_and_names() -> None:
    """`up` creates the named volumes before compose does: from the copy's view of them."""
    model = {"db-data": {"name": "n-test-1_db-data"}, "fixed": {"name": "shop-data"}}
    layer = {
        "db-data": {"labels": LABELS},
        "fixed": {"name": "n-test-1_fixed", "labels": LABELS},
        "devstack-test-shared": {"labels": LABELS},
        "shared": {"labels": LABELS},  # external in the files: not the copy's to make
    }
    volumes = copy._volumes(model, layer)
    assert set(volumes) == {"db-data", "fixed", "devstack-test-shared"}
    assert volumes["fixed"]["name"] == "n-test-1_fixed"
    assert all(v["labels"] == LABELS for v in volumes.values())


def test_the_script_is_found_where_the_runtime_keeps_the_code(tmp_path: Path) -> None:
    """A project's own image keeps backend/ at /app/backend (the template's shape)."""
    script = tmp_path / "backend" / "scripts" / "tests-start.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#! /usr/bin/env bash\n")
    settings = _settings(tmp_path)
    assert command.resolve(settings).argv == ("pytest",)  # not in the project's root
    found = command.resolve(settings, code=(tmp_path / "backend", "/app/backend"))
    assert found.argv == ("bash", "/app/backend/scripts/tests-start.sh")
