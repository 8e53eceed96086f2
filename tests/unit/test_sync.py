"""Code sync for remote engines, without an engine: ignore rules, locating the engine, the
overlay, and the agent applying archives of a real tree (host and container sides in-process)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devstack.delivery.location import locate
from devstack.delivery.sync import _agent as agent
from devstack.delivery.sync.ignore import Ignore, load, parse
from devstack.delivery.sync.tree import archive, scan


def ignored(rules: str, path: str) -> bool:
    return Ignore(rules=parse(rules.splitlines())).ignored(path)


@pytest.mark.parametrize(
    ("rules", "path", "expected"),
    [
        ("*.log", "debug.log", True),
        ("*.log", "logs/debug.log", False),  # * does not cross a slash
        ("**/*.log", "logs/debug.log", True),
        ("secrets/", "secrets/key", True),  # a directory excludes its content
        ("/build", "build/x", True),
        ("*.log\n!keep.log", "keep.log", False),  # allow-list lines honoured
        ("*.log\n!keep.log\nkeep.log", "keep.log", True),  # the last matching line wins
        ("docs\n!docs/readme.md", "docs/readme.md", False),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/b", True),
        ("# comment\n\n", "x", False),
        ("te?t.py", "test.py", True),
        ("[a-c].py", "b.py", True),
    ],
)
def test_dockerignore_rules(rules: str, path: str, expected: bool) -> None:
    assert ignored(rules, path) is expected


def test_always_ignored() -> None:
    ig = Ignore()
    for path in (".git/HEAD", "app/__pycache__/m.pyc", ".devstack/x", ".venv/bin/python"):
        assert ig.ignored(path), path
    assert not ig.ignored("app/main.py")


def test_sync_ignore_setting_and_venv_detection(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*.tmp\n")
    (tmp_path / "env" / "bin").mkdir(parents=True)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "a").write_text("a")
    (tmp_path / "x.tmp").write_text("x")
    (tmp_path / "main.py").write_text("m")
    ig = load(tmp_path, ["scratch/"])
    assert set(scan(tmp_path, ig)) == {"main.py", ".dockerignore"}
    assert ig.ignored("env/bin/python")  # found while scanning


@pytest.mark.parametrize(
    ("env", "remote", "source"),
    [
        ({"DOCKER_HOST": "ssh://me@box"}, True, "DOCKER_HOST"),
        ({"DOCKER_HOST": "tcp://10.0.0.5:2376"}, True, "DOCKER_HOST"),
        ({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, False, "DOCKER_HOST"),
        ({"DOCKER_HOST": "unix:///run/docker.sock"}, False, "DOCKER_HOST"),
        ({"DOCKER_HOST": "unix:///run/docker.sock", "DEVSTACK_REMOTE": "1"}, True, "DOCKER_HOST"),
        ({"DOCKER_HOST": "ssh://box", "DEVSTACK_REMOTE": "0"}, False, "DOCKER_HOST"),
    ],
)
def test_locate(env: dict[str, str], remote: bool, source: str) -> None:
    loc = locate(env)
    assert (loc.remote, loc.source) == (remote, source)


def test_locate_ssh_target_and_forwarding() -> None:
    loc = locate({"DOCKER_HOST": "ssh://root@127.0.0.1:2222"})
    assert loc.ssh_target == ("-p", "2222", "root@127.0.0.1") and loc.can_forward
    assert not locate({"DOCKER_HOST": "tcp://10.0.0.5:2376"}).can_forward


def test_locate_default_context(tmp_path: Path) -> None:
    loc = locate({"DOCKER_CONFIG": str(tmp_path)})
    assert not loc.remote and loc.source == "default"


def test_overlay_never_mounts_the_code_on_a_remote_engine(tmp_path: Path) -> None:
    from devstack.config import Settings
    from devstack.delivery import for_location
    from devstack.delivery.sync.channel import MARKER
    from devstack.overlay import render
    from devstack.project import Project, Service
    from devstack.runtime.recipe import Recipe

    project = Project("p", {"app": Service("app", True, (), ())}, "app")
    settings = Settings(project_dir=tmp_path)
    code = Recipe(settings)
    bind = for_location(locate({"DOCKER_CONFIG": str(tmp_path)}))
    synced = for_location(locate({"DOCKER_HOST": "ssh://me@far"}))
    local = render(project, settings, bind.app_fragment(code, settings.state_dir))["services"][
        "app"
    ]
    remote = render(project, settings, synced.app_fragment(code, settings.state_dir))["services"][
        "app"
    ]
    assert MARKER in remote["command"][2]
    assert local["volumes"][0]["type"] == "bind"
    assert "volumes" not in remote
    assert (
        remote["command"][:2] == ["/bin/sh", "-c"] and remote["command"][-1] == "/start-reload.sh"
    )


def test_archive_applied_by_the_agent_gives_the_same_tree(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "pkg" / "sub").mkdir(parents=True)
    (src / "pkg" / "sub" / "m.py").write_text("x = 1\n")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o750)
    (src / "link").symlink_to("pkg/sub/m.py")
    dst.mkdir()
    (dst / "stale.py").write_text("old")
    (dst / "pkg").write_text("a file where a directory goes")
    ig = Ignore()
    host = scan(src, ig)
    data = archive(src, host.items()).close()
    assert agent.apply(str(dst), ["stale.py"], None, data) == []
    assert agent.manifest(str(dst)) == {k: list(v) for k, v in host.items()}
    assert os.readlink(dst / "link") == "pkg/sub/m.py"


def test_agent_refuses_paths_outside_its_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        agent.safe(str(tmp_path), "../escape")
    with pytest.raises(ValueError):
        agent.safe(str(tmp_path), "/etc/passwd")


def test_unreadable_file_is_skipped_with_its_reason_and_a_vanished_one_quietly(
    tmp_path: Path,
) -> None:
    (tmp_path / "gone.py").write_text("ok")
    (tmp_path / "odd").mkdir()  # entered as a file below: reading it fails (EISDIR)
    entries = scan(tmp_path, Ignore())
    (tmp_path / "gone.py").unlink()
    arc = archive(tmp_path, [*entries.items(), ("odd", ("f", 0o644, 1, 0, ""))])
    arc.close()
    assert [p for p, _ in arc.skipped] == ["odd"]


class LocalChannel:
    """The agent's own functions on a local directory: the container side without an engine."""

    def __init__(self, root: Path, *, synced: bool) -> None:
        self.root, self.synced = str(root), synced

    def manifest(self) -> tuple[dict[str, tuple[str, int, int, int, str]], bool]:
        tree = agent.manifest(self.root)
        return {k: tuple(v) for k, v in tree.items()}, self.synced  # type: ignore[misc]

    def apply(self, delete: list[str], tar: bytes) -> list[str]:
        return agent.apply(self.root, delete, None, tar)


def test_full_sync_keeps_what_the_app_wrote_and_deletes_what_you_deleted(tmp_path: Path) -> None:
    from devstack.delivery.sync.push import full_sync

    host, box = tmp_path / "host", tmp_path / "box"
    (host / "migrations").mkdir(parents=True)
    (host / "main.py").write_text("v2")
    box.mkdir()
    (box / "migrations").mkdir()
    (box / "main.py").write_text("v1")
    (box / "deleted_here.py").write_text("old")
    (box / "migrations" / "0002_generated.py").write_text("by alembic in the container")
    channel = LocalChannel(box, synced=True)
    baseline = {"main.py", "deleted_here.py", "migrations"}
    result, _ = full_sync(channel, host, Ignore(), baseline=baseline)  # type: ignore[arg-type]
    assert result.kept == ("migrations/0002_generated.py",)
    assert sorted(p.name for p in box.iterdir()) == ["main.py", "migrations"]
    assert (box / "main.py").read_text() == "v2"
    # A container never synced holds the image's copy: everything the host lacks goes.
    fresh, _ = full_sync(LocalChannel(box, synced=False), host, Ignore(), baseline=None)  # type: ignore[arg-type]
    assert fresh.deleted == 1 and not (box / "migrations" / "0002_generated.py").exists()
