"""Ctrl-C at each stage of `up`, and an app that fails to import, on fastapi-postgres."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import leftovers
from tests.integration.helpers import Project, ctrl_c_when, docker, example

pytestmark = pytest.mark.docker


def running_services(project: str) -> set[str]:
    out = docker(
        "ps",
        "--filter",
        f"label=com.docker.compose.project={project}",
        "--format",
        '{{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.oneoff"}}',
    )
    return {line.split()[0] for line in out.splitlines() if line.split()[1:] == ["False"]}


def oneoffs(project: str) -> list[str]:
    return docker(
        "ps",
        "-aq",
        "--filter",
        f"label=com.docker.compose.project={project}",
        "--filter",
        "label=com.docker.compose.oneoff=True",
    ).split()


def interrupt_when(p: Project, marker: str, *args: str) -> str:
    """Start `devstack up`, press Ctrl-C once its progress shows `marker`; its stderr."""
    proc = p.popen("up", *args)
    seen, rest = ctrl_c_when(proc, marker, settle=0.3, timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, seen + rest
    return seen + rest


@pytest.mark.parametrize(
    ("marker", "stage", "args"),
    [
        ("building images", "building", ("--build",)),
        # PostgreSQL's first start is waited on while the migration's one-off is made ready
        ("starting starting", "waiting on dependencies", ()),
        ("migrating", "migrating", ()),
        ("starting app", "the app", ()),
    ],
)
def test_ctrl_c_at_each_stage(
    tmp_path: Path, project_name: str, marker: str, stage: str, args: tuple[str, ...]
) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    if stage == "migrating":  # a migration slow enough to be interrupted
        slow = p.dir / "migrations" / "versions" / "0002_slow.py"
        slow.write_text(
            'revision = "0002"\ndown_revision = "0001"\n'
            "def upgrade():\n    import time; time.sleep(60)\n"
        )
    try:
        err = interrupt_when(p, marker, *args)
        assert f"interrupted while {stage}" in err or "interrupted" in err, err
        assert not oneoffs(project_name)  # no one-off container left behind
        left = running_services(project_name)
        if "containers left running:" in err:
            said = err.split("containers left running:")[1].split(";")[0].strip()
            assert left == ({s.strip() for s in said.split(",")} if said != "none" else set())
        if stage == "migrating":
            (p.dir / "migrations" / "versions" / "0002_slow.py").unlink()
        r = p.devstack("up")  # the next up works
        assert r.returncode == 0, r.stderr
    finally:
        p.devstack("down", "-v")
    assert not any(leftovers(project_name).values())


WAIT = 600  # the app's wait timeout in the crash test: far beyond any build and start here


def test_app_import_error_shows_traceback_fast(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    main = p.dir / "app" / "main.py"
    main.write_text(main.read_text() + "\nimport no_such_module_here\n")
    try:
        start = time.monotonic()
        r = p.devstack("up", "--wait-timeout", str(WAIT))
        took = time.monotonic() - start
        assert r.returncode == ExitCode.UNHEALTHY, r.stderr
        assert "app crashed while starting" in r.stderr
        assert "Traceback (most recent call last)" in r.stderr
        assert "ModuleNotFoundError: No module named 'no_such_module_here'" in r.stderr
        # Ended by the crash, not by the wait's timeout: a wall-clock bound would measure
        # the machine's load (a loaded CI machine took 191 s for the whole `up`).
        assert took < WAIT, took
        assert "did not become healthy within" not in r.stderr
    finally:
        p.devstack("down", "-v")
