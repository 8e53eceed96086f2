"""The read snapshot holds only while everything it was made from reads the same: every
change a full resolve would see is a miss."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from devstack import snapshot
from devstack.delivery import BindMount
from devstack.delivery.synced import Synced
from devstack.engine import api

COMPOSE = "services:\n  app:\n    image: ${APP_IMAGE:-x}\n    ports: ['${APP_PORT}:80']\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "backend").mkdir(parents=True)
    (root / "compose.yaml").write_text(COMPOSE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setattr(api, "socket_path", lambda environ=None: "/var/run/docker.sock")
    monkeypatch.chdir(root / "backend")
    for name in list(os.environ):
        if name.startswith(("DEVSTACK_", "COMPOSE_")) or name == "APP_PORT":
            monkeypatch.delenv(name)
    return root


def fake_stack(root: Path, remote: bool = False) -> SimpleNamespace:
    services = {"app": SimpleNamespace(replicas=1), "db": SimpleNamespace(replicas=0)}
    synced = SimpleNamespace(snapshot_socket=lambda: None)  # what Synced answers
    return SimpleNamespace(
        name="proj",
        delivery=synced if remote else BindMount(),
        settings=SimpleNamespace(
            project_dir=root,
            compose_files=(root / "compose.yaml",),
            state_dir=root / ".devstack",
            wait_timeout=120.0,
            stop_timeout=5,
        ),
        project=SimpleNamespace(app="app", oneshots=frozenset(), services=services),
        runtime=None,
        inputs=(str(root / "app.env"),),
        variables=frozenset({"APP_IMAGE", "APP_PORT"}),
    )


def saved(root: Path, key: str | None = None) -> str:
    key = key or snapshot.call_key(None, [], None)
    snapshot.save(fake_stack(root), key, start=".")  # type: ignore[arg-type]
    return key


def test_a_saved_snapshot_is_read_back_while_nothing_changed(project: Path) -> None:
    key = saved(project)
    found = snapshot.load(key)
    assert found is not None
    assert found["project"] == "proj" and found["app"] == "app"
    assert found["services"] == {"app": 1, "db": 0}
    assert found["socket"] == "/var/run/docker.sock"
    assert found["state_dir"] == str(project / ".devstack") and found["stop_timeout"] == 5
    os.environ["UNRELATED_VARIABLE"] = "x"  # not read by settings or the model
    try:
        assert snapshot.load(key) is not None
    finally:
        del os.environ["UNRELATED_VARIABLE"]


@pytest.mark.parametrize(
    "change",
    [
        "compose file edited",
        "env_file appears",
        ".env appears",
        "override file appears",
        "compose file in the working directory",
        "settings file in the working directory",
        "docker context changed",
        "DEVSTACK_ variable set",
        "COMPOSE_ variable set",
        "interpolated variable changed",
        "image variable set",
    ],
)
def test_any_input_changed_is_a_miss(
    project: Path, change: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = saved(project)
    assert snapshot.load(key) is not None
    if change == "compose file edited":
        (project / "compose.yaml").write_text(COMPOSE + "  db:\n    image: y\n")
    elif change == "env_file appears":
        (project / "app.env").write_text("A=1\n")
    elif change == ".env appears":
        (project / ".env").write_text("APP_PORT=1\n")
    elif change == "override file appears":
        (project / "compose.override.yaml").write_text("services: {}\n")
    elif change == "compose file in the working directory":
        (project / "backend" / "compose.yml").write_text("services: {}\n")
    elif change == "settings file in the working directory":
        (project / "backend" / "pyproject.toml").write_text("[tool.devstack]\n")
    elif change == "docker context changed":
        (tmp_path / "docker").mkdir()
        (tmp_path / "docker" / "config.json").write_text('{"currentContext": "remote"}')
    elif change == "DEVSTACK_ variable set":
        monkeypatch.setenv("DEVSTACK_APP_SERVICE", "db")
    elif change == "COMPOSE_ variable set":
        monkeypatch.setenv("COMPOSE_PROFILES", "debug")
    elif change == "interpolated variable changed":
        monkeypatch.setenv("APP_PORT", "9999")
    elif change == "image variable set":
        monkeypatch.setenv("REDIS_IMAGE", "other")
    assert snapshot.load(key) is None


def test_another_directory_or_other_options_miss(project: Path) -> None:
    key = saved(project)
    assert snapshot.load(snapshot.call_key(None, [], "other-name")) is None
    assert snapshot.load(snapshot.call_key(None, ["compose.yaml"], None)) is None
    os.chdir(project)
    assert snapshot.load(snapshot.call_key(None, [], None)) is None
    os.chdir(project / "backend")
    assert snapshot.load(key) is not None


def test_a_damaged_snapshot_is_a_miss(project: Path) -> None:
    key = saved(project)
    files = list((Path(os.environ["XDG_CACHE_HOME"]) / "devstack" / "reads").iterdir())
    assert len(files) == 1
    files[0].write_text("{not json")
    assert snapshot.load(key) is None
    files[0].write_text('{"format": 3, "key": "other"}')
    assert snapshot.load(key) is None


def test_nothing_is_saved_for_a_remote_engine(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = snapshot.call_key(None, [], None)
    snapshot.save(fake_stack(project, remote=True), key, start=".")  # type: ignore[arg-type]
    assert snapshot.load(key) is None
    monkeypatch.setattr(api, "socket_path", lambda environ=None: None)  # ssh://, tcp://
    snapshot.save(fake_stack(project), key, start=".")  # type: ignore[arg-type]
    assert snapshot.load(key) is None


def test_only_a_bind_mount_names_a_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    from devstack.delivery.location import locate

    monkeypatch.setattr(api, "socket_path", lambda environ=None: "/run/x.sock")
    assert BindMount().snapshot_socket() == "/run/x.sock"
    remote = locate({"DOCKER_HOST": "ssh://user@box"})
    assert Synced(remote).snapshot_socket() is None


def test_a_cache_that_cannot_be_written_is_no_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where a directory should be
    key = saved(project)
    assert snapshot.load(key) is None
