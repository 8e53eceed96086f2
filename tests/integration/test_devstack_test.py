"""`devstack test` on examples/fastapi-postgres with a real engine: the development stack is
untouched by a destructive test run, runs do not collide, and no copy is left behind
however a run ends (pass, fail, Ctrl-C at each stage, a failing migration, kill -9)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import remove_project
from tests.integration.helpers import (
    Project,
    ctrl_c_when,
    docker,
    example,
    free_port,
    get,
    post,
)

pytestmark = pytest.mark.docker

OF = "dev.devstack.test.of"

# The project's own tests: one deletes every row (as FastAPI's template's teardown does).
DESTRUCTIVE = """from sqlalchemy import text

from app.db import engine


def test_delete_every_row():
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO items (name) VALUES ('from-the-tests')"))
        conn.execute(text("DELETE FROM items"))
        assert conn.execute(text("SELECT count(*) FROM items")).scalar_one() == 0
"""
FAILING = "def test_fails():\n    assert 1 == 2\n"
SLOW = "import time\n\n\ndef test_slow():\n    time.sleep(120)\n"


def copies_of(project: str) -> dict[str, list[str]]:
    """Every container, network and volume of any test copy of `project`."""
    label = f"label={OF}={project}"
    return {
        "containers": docker("ps", "-aq", "--filter", label).split(),
        "networks": docker("network", "ls", "-q", "--filter", label).split(),
        "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
    }


def remove_copies(project: str) -> None:
    names = set()
    for kind, ids in copies_of(project).items():
        if ids:
            fmt = '{{index .Labels "com.docker.compose.project"}}'
            kind_cmd = {"containers": "container", "networks": "network", "volumes": "volume"}
            out = docker(kind_cmd[kind], "inspect", "--format", fmt, *ids)
            names.update(out.split())
    for name in names:
        remove_project(name)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Iterator[Project]:
    """fastapi-postgres with pytest in its image and its own tests, built once."""
    name = f"dstest-{uuid.uuid4().hex[:10]}"
    p = example("fastapi-postgres", tmp_path_factory.mktemp("shop"), name)
    with (p.dir / "requirements.txt").open("a") as fh:
        fh.write("pytest\n")
    (p.dir / "conftest.py").write_text("")  # the project's root on sys.path, as usual
    tests = p.dir / "tests"
    tests.mkdir()
    (tests / "test_items.py").write_text(DESTRUCTIVE)
    (tests / "failing.py").write_text(FAILING)  # run only when named
    (tests / "slow.py").write_text(SLOW)
    try:
        p.devstack("up", "--build", check=True, timeout=900)
        yield p
    finally:
        p.devstack("down", "-v")
        remove_copies(name)
        remove_project(name)
        images = docker("image", "ls", "-q", "--filter", f"reference={name}-*").split()
        if images:
            subprocess.run(["docker", "image", "rm", "-f", *images], capture_output=True)
        left = copies_of(name)
        assert not any(left.values()), f"test copies leaked: {left}"


def ids_and_starts(project: str) -> dict[str, str]:
    out = docker(
        "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
        "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}',
    )  # fmt: skip
    found = {}
    for line in out.splitlines():
        cid, service = line.split()
        found[service] = cid + " " + docker("inspect", "-f", "{{.State.StartedAt}}", cid).strip()
    return found


def volume_names(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    return sorted(docker("volume", "ls", "-q", "--filter", label).split())


def items(p: Project) -> list[object]:
    return list(json.loads(get(f"http://127.0.0.1:{p.env['APP_PORT']}/items")))


def test_dev_stack_is_untouched_by_a_destructive_test_run(shop: Project) -> None:
    post(f"http://127.0.0.1:{shop.env['APP_PORT']}/items/keep-me")
    post(f"http://127.0.0.1:{shop.env['APP_PORT']}/items/me-too")
    rows_before = items(shop)
    containers_before = ids_and_starts(shop.name)
    volumes_before = volume_names(shop.name)
    assert len(rows_before) >= 2

    done = shop.devstack("test", "--", "-q", "tests/test_items.py")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    print(f"dev rows before: {len(rows_before)}, after: {len(items(shop))}")
    assert items(shop) == rows_before  # the same rows: the copy had its own database
    assert ids_and_starts(shop.name) == containers_before  # not recreated, not restarted
    assert volume_names(shop.name) == volumes_before
    assert get(f"http://127.0.0.1:{shop.env['APP_PORT']}/health")  # the port still answers
    assert not any(copies_of(shop.name).values())


def test_plain_output_says_stack_and_command_first_outcome_and_times_last(
    shop: Project,
) -> None:
    done = shop.devstack("test", "--", "-q", "tests/failing.py", "--junitxml=report.xml")
    assert done.returncode == 1, done.stdout + done.stderr  # the test command's exit code
    first = done.stderr.splitlines()[:2]
    assert first[0].startswith("[devstack] test copy ") and f" of {shop.name}:" in first[0]
    assert "no host ports" in first[0]
    assert first[1].startswith("[devstack] test command: pytest -q tests/failing.py"), first
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("tests failed (exit 1): stack ready in "), last
    assert "tests in " in last and "teardown in " in last
    assert "\x1b[" not in done.stdout + done.stderr  # plain: no terminal
    report = shop.dir / "report.xml"
    assert "<testsuite" in report.read_text()  # written by the tests into the working tree
    report.unlink()
    assert not any(copies_of(shop.name).values())


def test_failing_migration_leaves_nothing(shop: Project) -> None:
    done = shop.devstack(
        "test", env={"DEVSTACK_MIGRATE_COMMAND": "alembic upgrade no-such-revision"}
    )
    assert done.returncode == ExitCode.MIGRATION, done.stdout + done.stderr
    assert "test copy was removed" in done.stderr
    assert not any(copies_of(shop.name).values())


@pytest.mark.parametrize(
    ("marker", "args", "env"),
    [
        ("starting db, redis", (), {}),
        ("migrating", (), {"DEVSTACK_MIGRATE_COMMAND": "sh -c 'sleep 120'"}),
        ("starting app", (), {}),
        ("running pytest", ("--", "tests/slow.py"), {}),
    ],
    ids=["dependencies", "migration", "app", "tests"],
)
def test_ctrl_c_at_each_stage_leaves_nothing(
    shop: Project, marker: str, args: tuple[str, ...], env: dict[str, str]
) -> None:
    proc = Project(shop.dir, shop.name, {**shop.env, **env}).popen("test", *args)
    seen, rest = ctrl_c_when(proc, marker, settle=0.5, timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, seen + rest
    assert "was removed" in rest, rest
    assert not any(copies_of(shop.name).values())


def test_copy_of_a_killed_devstack_is_removed_by_the_next_test_and_by_down(
    shop: Project, tmp_path: Path
) -> None:
    def killed_mid_run() -> None:
        proc = shop.popen("test", "--", "tests/slow.py")
        assert proc.stderr is not None
        seen = ""
        while "running pytest" not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with contextlib.suppress(ProcessLookupError):  # its children too, as a closed terminal
            os.killpg(proc.pid, signal.SIGKILL)
        assert copies_of(shop.name)["containers"]  # left behind

    killed_mid_run()
    done = shop.devstack("test", "--", "-q", "tests/test_items.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "its devstack is gone" in done.stderr
    assert not any(copies_of(shop.name).values())

    killed_mid_run()
    # `down` of a second checkout would be another project's business: this one's down
    down = shop.devstack("down")
    assert "removed test copies left by a killed run" in down.stdout, down.stdout + down.stderr
    assert not any(copies_of(shop.name).values())
    shop.devstack("up", check=True)


def test_keep_leaves_the_copy_and_says_how_to_reach_and_remove_it(shop: Project) -> None:
    done = shop.devstack("test", "--keep", "--", "-q", "tests/test_items.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kept the test copy" in done.stdout and "docker exec -it" in done.stdout
    assert "devstack test --clean" in done.stdout
    kept = copies_of(shop.name)
    assert kept["containers"] and kept["volumes"]
    # a later run leaves a kept copy alone
    again = shop.devstack("test", "--", "-q", "tests/test_items.py")
    assert again.returncode == 0 and copies_of(shop.name)["containers"] == kept["containers"]
    cleaned = shop.devstack("test", "--clean")
    assert "removed 1 test copy" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert not any(copies_of(shop.name).values())


def devstack_argv(p: Project) -> list[str]:
    return [sys.executable, "-m", "devstack", "-C", str(p.dir), "-p", p.name]


def test_two_runs_at_once_and_beside_another_checkout(shop: Project, tmp_path: Path) -> None:
    # another checkout of the same project, up under the same project name
    other_dir = tmp_path / "other"
    shutil.copytree(shop.dir.parent.parent, other_dir, ignore=shutil.ignore_patterns(".devstack"))
    other = Project(
        other_dir / "examples" / "fastapi-postgres",
        shop.name,
        {**shop.env, "APP_PORT": str(free_port()), "DB_PORT": str(free_port())},
    )
    runs = [
        subprocess.Popen(
            [*devstack_argv(p), "test", "--", "-q", "tests/test_items.py"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **p.env},
        )
        for p in (shop, shop, other)
    ]
    outputs = [r.communicate(timeout=600) for r in runs]
    for r, (out, err) in zip(runs, outputs, strict=True):
        assert r.returncode == 0, out + err
    names = {err.splitlines()[0].split()[3] for _, err in outputs}
    assert len(names) == 3  # three copies of their own
    assert get(f"http://127.0.0.1:{shop.env['APP_PORT']}/health")
    assert not any(copies_of(shop.name).values())
