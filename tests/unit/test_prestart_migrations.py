"""Whether the app's own prestart script runs the migrations (then `up` leaves them to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack import migrations
from devstack.config import Settings
from devstack.project import Project, Service
from devstack.stack import Stack


def stack(tmp_path: Path, env: dict[str, str | None] | None = None, **settings: Any) -> Stack:
    service = Service(name="app", builds=True, depends_on=(), ports=(), environment=env or {})
    project = Project(name="p", services={"app": service}, app="app")
    return Stack(
        settings=Settings(project_dir=tmp_path, **settings),
        project=project,
        engine=None,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("script", "runs"),
    [
        ("#! /usr/bin/env bash\nsleep 10\nalembic upgrade head\n", True),
        ("python -m alembic upgrade head\n", True),
        ("python /app/backend_pre_start.py\n# alembic upgrade head (done elsewhere)\n", False),
        ("python seed_alembic_data.py\n", False),
        ("", False),
    ],
)
def test_prestart_at_the_default_path(tmp_path: Path, script: str, runs: bool) -> None:
    (tmp_path / "prestart.sh").write_text(script)
    expected = "/app/prestart.sh" if runs else None
    assert migrations.run_by_prestart(stack(tmp_path)) == expected


def test_pre_start_path_inside_the_mounted_code(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "boot.sh").write_text("alembic upgrade head\n")
    s = stack(tmp_path, {"PRE_START_PATH": "/app/scripts/boot.sh"})
    assert migrations.run_by_prestart(s) == "/app/scripts/boot.sh"
    # A script baked into the image (outside the bind mount) cannot be read: not assumed.
    s = stack(tmp_path, {"PRE_START_PATH": "/opt/prestart.sh"})
    assert migrations.run_by_prestart(s) is None


def test_seed_layout_code_path_and_no_migrate_command(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "prestart.sh").write_text("alembic upgrade head\n")
    assert migrations.run_by_prestart(stack(tmp_path)) is None  # /app is the project root
    s = stack(tmp_path, code_path=tmp_path / "app")
    assert migrations.run_by_prestart(s) == "/app/prestart.sh"
    s = stack(tmp_path, code_path=tmp_path / "app", migrate_command=())
    assert migrations.run_by_prestart(s) is None
