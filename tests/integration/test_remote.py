"""The same stack on a remote engine (scripts/remote-engine: its own filesystem, reached
over ssh): the code is synced into the app container, never bind-mounted."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import remote_engine as re
from tests.integration.helpers import Project, example, get, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def remote_host(docker_engine: None) -> Iterator[str]:
    """The remote engine for this module's tests; removed afterwards, nothing left."""
    host = re.start()
    try:
        yield host
    finally:
        re.stop()


def remote_example(name: str, dest: Path, project: str, host: str) -> Project:
    p = example(name, dest, project)
    p.env["DOCKER_HOST"] = host
    (p.dir / ".dockerignore").write_text("secrets/\n*.log\n!keep.log\n")
    (p.dir / "devstack.toml").write_text('sync_ignore = ["scratch/"]\n')
    return p


@pytest.fixture(scope="module")
def redis_stack(
    remote_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Project, str]]:
    """fastapi-redis brought up on the remote engine once for the module's tests."""
    name = f"dsremote-{os.urandom(4).hex()}"
    p = remote_example("fastapi-redis", tmp_path_factory.mktemp("redis"), name, remote_host)
    try:
        # Build the image and bring it down, then edit: the image holds stale code, so the
        # first response shows whether the sync ran before the app started.
        p.devstack("up", check=True)
        p.devstack("down", check=True)
        edit_message(p, "synced before the start")
        up = p.devstack("up", check=True)
        FIRST[name] = (up.stdout + up.stderr, message(p))
        yield p, remote_host
    finally:
        p.devstack("down", "-v")
        left = re.leftovers(remote_host, name)
        re.remove_project(remote_host, name)
        assert not any(left.values()), f"project {name} leaked on the remote engine: {left}"


FIRST: dict[str, tuple[str, str]] = {}  # project -> (`up` output, the first response's message)


def edit_message(p: Project, text: str) -> None:
    main = p.dir / "app" / "main.py"
    source = main.read_text()
    start = source.index('MESSAGE = "') + len('MESSAGE = "')
    end = source.index('"', start)
    main.write_text(source[:start] + text + source[end:])


def url(p: Project) -> str:
    return f"http://127.0.0.1:{p.env['APP_PORT']}"


def message(p: Project) -> str:
    return str(json.loads(get(url(p)))["message"])


def app_id(p: Project, host: str) -> str:
    label = f"label=com.docker.compose.project={p.name}"
    ids = re.docker(host, "ps", "-q", "--filter", label, "--filter", "name=app").split()
    assert len(ids) == 1, ids
    return ids[0]


def synced_tree(p: Project, host: str) -> dict[str, list[object]]:
    """The container's /app, without what devstack leaves alone there (ignored paths, which
    a rebuilt image may hold: its build context is not filtered by the sync's rules)."""
    from devstack.delivery.sync.ignore import load

    ignore = load(p.dir, ["scratch/"])
    tree = re.container_tree(host, app_id(p, host))
    return {k: v for k, v in tree.items() if not ignore.ignored(k) and not ignore.in_venv(p.dir, k)}


def synced(p: Project, host: str) -> bool:
    return synced_tree(p, host) == expected_tree(p)


def expected_tree(p: Project) -> dict[str, list[object]]:
    from devstack.delivery.sync.ignore import load

    ignore = load(p.dir, ["scratch/"])
    tree = re.host_tree(p.dir)
    return {k: v for k, v in tree.items() if not ignore.ignored(k) and not ignore.in_venv(p.dir, k)}


def test_negative_control_a_bind_mount_on_the_remote_engine_is_empty(
    remote_host: str, tmp_path: Path
) -> None:
    """Plain compose, the example's kind of bind mount: the remote engine's host lacks the
    files (and the same file against the local engine shows them: the check can fail)."""
    (tmp_path / "marker.txt").write_text("here")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  look:\n    image: devstack-local/python:3.11\n"
        "    volumes: ['./:/app']\n    command: ['ls', '-A', '/app']\n"
    )
    name = f"dsneg-{os.urandom(4).hex()}"
    args = ["compose", "-p", name, "--project-directory", str(tmp_path), "run", "--rm", "look"]
    try:
        remote = re.docker(remote_host, *args)
        local = re.docker("", *args) if not os.environ.get("DOCKER_HOST") else "marker.txt"
    finally:
        re.docker(remote_host, "compose", "-p", name, "--project-directory", str(tmp_path),
                  "down", check=False)  # fmt: skip
        re.docker("", "compose", "-p", name, "--project-directory", str(tmp_path), "down",
                  check=False)  # fmt: skip
    assert "marker.txt" not in remote
    assert "marker.txt" in local


def test_up_serves_the_synced_code_from_the_first_response(
    redis_stack: tuple[Project, str],
) -> None:
    p, host = redis_stack
    output, first = FIRST[p.name]
    assert "remote engine" in output
    assert first == "synced before the start"
    rows = json.loads(p.devstack("ps", "--json", check=True).stdout)
    assert {row["engine"] for row in rows} == {host}
    app = next(row for row in rows if row["service"] == "app")
    assert app["sync"].startswith("watching"), app
    # Never a bind mount of the code into the remote engine.
    mounts = json.loads(re.docker(host, "inspect", app_id(p, host)))[0]["Mounts"]
    assert not [m for m in mounts if m["Type"] == "bind"], mounts
    # Ports stay bound to 127.0.0.1 on the engine's host.
    ports = json.loads(re.docker(host, "inspect", app_id(p, host)))[0]["NetworkSettings"]["Ports"]
    assert {b["HostIp"] for bs in ports.values() for b in bs or []} == {"127.0.0.1"}


def test_edits_deletions_and_ignored_paths(redis_stack: tuple[Project, str]) -> None:
    p, host = redis_stack
    edit_message(p, "edited remotely")
    wait_for(lambda: message(p) == "edited remotely", timeout=20)

    extra = p.dir / "app" / "extra.py"
    extra.write_text("X = 1\n")
    (p.dir / "app" / "pkg").mkdir()
    (p.dir / "app" / "pkg" / "mod.py").write_text("Y = 2\n")
    (p.dir / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (p.dir / "run.sh").chmod(0o755)
    (p.dir / "link.py").symlink_to("app/extra.py")
    for ignored in (".git/HEAD", ".venv/pyvenv.cfg", "app/__pycache__/x.pyc", "secrets/key",
                    "debug.log", "scratch/tmp.txt", "env2/pyvenv.cfg"):  # fmt: skip
        (p.dir / ignored).parent.mkdir(parents=True, exist_ok=True)
        (p.dir / ignored).write_text("never synced\n")
    (p.dir / "keep.log").write_text("allow-listed\n")
    cid = app_id(p, host)
    wait_for(lambda: synced(p, host), timeout=20)
    tree = re.container_tree(host, cid)
    assert tree["run.sh"][1] == 0o755 and tree["link.py"] == ["l", 0, "app/extra.py"]
    assert "keep.log" in tree and "app/pkg/mod.py" in tree
    for ignored in (".git", ".venv", "app/__pycache__", "secrets", "debug.log", "scratch",
                    "env2"):  # fmt: skip
        assert ignored not in tree, ignored

    extra.unlink()
    shutil.rmtree(p.dir / "app" / "pkg")
    (p.dir / "run.sh").rename(p.dir / "start.sh")
    wait_for(lambda: synced(p, host), timeout=20)
    tree = re.container_tree(host, cid)
    assert "app/extra.py" not in tree and "app/pkg" not in tree and "start.sh" in tree
    assert "run.sh" not in tree


def test_logs_exec_and_pull(redis_stack: tuple[Project, str]) -> None:
    p, host = redis_stack
    get(url(p))
    logs = p.devstack("logs", "app", check=True).stdout
    assert "GET / " in logs
    r = p.devstack("exec", "app", "python", "-c", "import app.main as m; print(m.MESSAGE)")
    assert r.returncode == 0 and r.stdout.strip() == message(p), r.stderr
    # A file the app writes in the container survives a full resync and comes back on request.
    cid = app_id(p, host)
    re.docker(host, "exec", cid, "sh", "-c", "echo generated > /app/app/written_there.py")
    re.channel("down")
    re.channel("up")
    wait_for(lambda: "watching" in p.devstack("sync", "status").stdout, timeout=30)
    assert "app/written_there.py" in re.container_tree(host, cid)
    assert not (p.dir / "app" / "written_there.py").exists()
    r = p.devstack("sync", "pull", "app/written_there.py", check=True)
    assert "copied app/written_there.py" in r.stdout
    assert (p.dir / "app" / "written_there.py").read_text() == "generated\n"


def test_doctor_says_where_the_engine_is_and_its_probe_finds_the_files_missing(
    redis_stack: tuple[Project, str],
) -> None:
    p, _ = redis_stack
    checks = {c["name"]: c for c in json.loads(p.devstack("--json", "doctor").stdout)["checks"]}
    assert "remote engine" in checks["engine-files"]["detail"], checks["engine-files"]
    assert checks["bind-mount"]["status"] == "skip"
    # Told the engine is local, the bind-mount probe finds the project missing there.
    r = p.devstack("--json", "doctor", env={"DEVSTACK_REMOTE": "0"})
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["bind-mount"]["status"] == "fail", checks["bind-mount"]
    assert "lacks the project directory" in checks["bind-mount"]["detail"]
    assert "DEVSTACK_REMOTE=1" in checks["bind-mount"]["fix"]
    # The overlay written by that run is put back for the running stack's next command.
    p.devstack("config", check=True)


def test_a_burst_of_3000_changes_ends_identical(redis_stack: tuple[Project, str]) -> None:
    p, host = redis_stack
    bulk = p.dir / "bulk"
    bulk.mkdir()
    for i in range(1000):
        (bulk / f"old_{i}.txt").write_text(f"old {i}\n")
    wait_for(lambda: synced(p, host), timeout=60)
    for i in range(1000):  # created, changed and deleted within about a second
        (bulk / f"new_{i}.txt").write_text(f"new {i}\n")
        (bulk / f"old_{i}.txt").write_text(f"changed {i}\n" * 2) if i % 2 else None
        (bulk / f"old_{i}.txt").unlink() if not i % 2 else None
    edit_message(p, "after the burst")
    wait_for(lambda: synced(p, host), timeout=60)
    wait_for(lambda: message(p) == "after the burst", timeout=20)
    shutil.rmtree(bulk)
    wait_for(lambda: synced(p, host), timeout=60)


def test_channel_killed_during_a_sync_then_restored(redis_stack: tuple[Project, str]) -> None:
    p, host = redis_stack
    more = p.dir / "more"
    more.mkdir()
    for i in range(500):
        (more / f"f_{i}.py").write_text(f"V = {i}\n")
    re.channel("down")  # while those are being pushed
    for i in range(0, 500, 3):
        (more / f"f_{i}.py").unlink()
    (more / "late.py").write_text("LATE = True\n")
    edit_message(p, "after the channel came back")
    time.sleep(1)
    status = json.loads(p.devstack("--json", "sync", "status", check=True).stdout)
    assert status["state"] in ("lost", "watching"), status
    re.channel("up")
    wait_for(lambda: synced(p, host), timeout=60)
    wait_for(lambda: message(p) == "after the channel came back", timeout=20)
    log = (p.dir / ".devstack" / "sync" / "log").read_text()
    assert "lost" in log  # the drop was reported


def test_watch_rebuilds_there_and_the_new_container_is_synced(
    redis_stack: tuple[Project, str],
) -> None:
    """A dependency change rebuilds on the remote engine; the new container's app waits for
    its code, so it only turns healthy once the background sync has filled it."""
    from tests.integration.test_watch import Watcher

    p, host = redis_stack
    before = app_id(p, host)
    watcher = Watcher(p)
    try:
        watcher.next("watching", timeout=60)
        requirements = p.dir / "requirements.txt"
        requirements.write_text(requirements.read_text() + "six  # remote rebuild\n")
        done = watcher.next("done", timeout=900)
        assert done["result"] == "ok", done["detail"]
    finally:
        watcher.interrupt()
    assert app_id(p, host) != before
    wait_for(lambda: synced(p, host), timeout=60)
    r = p.devstack("exec", "app", "python", "-c", "import six; print('six ok')")
    assert "six ok" in r.stdout, r.stderr
    edit_message(p, "served by the rebuilt app")
    wait_for(lambda: message(p) == "served by the rebuilt app", timeout=30)


def test_down_leaves_only_named_volumes(redis_stack: tuple[Project, str]) -> None:
    p, host = redis_stack
    p.devstack("down", check=True)
    left = re.leftovers(host, p.name)
    assert not left["containers"] and not left["networks"], left
    assert left["volumes"], "the named volume is kept"
    status = json.loads(p.devstack("--json", "sync", "status", check=True).stdout)
    assert status["running"] is False


def test_fastapi_postgres_on_the_remote_engine(remote_host: str, tmp_path: Path) -> None:
    name = f"dsremote-{os.urandom(4).hex()}"
    p = remote_example("fastapi-postgres", tmp_path, name, remote_host)
    try:
        p.devstack("up", check=True)
        assert json.loads(get(url(p) + "/items"))[0]["name"] == "created by migration 0001"
        edit_message(p, "postgres remote edit")
        wait_for(lambda: message(p) == "postgres remote edit", timeout=20)
        r = p.devstack("migrate", check=True)
        assert "migrated" in r.stderr + r.stdout
        r = p.devstack("exec", "db", "psql", "-U", "app", "-d", "app", "-tAc",
                       "select count(*) from items")  # fmt: skip
        assert r.returncode == 0 and r.stdout.strip().isdigit(), r.stderr
        watch_applies_a_new_revision(p)
        p.devstack("down", check=True)
        left = re.leftovers(remote_host, name)
        assert not left["containers"] and not left["networks"], left
    finally:
        p.devstack("down", "-v")
        re.remove_project(remote_host, name)


def watch_applies_a_new_revision(p: Project) -> None:
    """`watch` migrates the synced code: a revision written now exists only here and in
    the app container, never in the image (a one-off container would not see it, print
    "migrated" and leave the table missing)."""
    from tests.integration.test_watch import Watcher, revision, tables

    watcher = Watcher(p)
    try:
        watcher.next("watching", timeout=60)
        revision(p, "0002", "0001", 'op.create_table("widgets", sa.Column("id", sa.Integer))')
        done = watcher.next("done", timeout=120)
        assert done["result"] == "ok", done["detail"]
        assert "0001 -> 0002" in done["detail"]
    finally:
        watcher.interrupt()
    assert "widgets" in tables(p)
