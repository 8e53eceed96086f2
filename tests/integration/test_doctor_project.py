"""doctor's checks of the project against its own files, on the real engine: the
template-shaped project passes them, another checkout's volume under the same name fails."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.helpers import Project
from tests.integration.test_doctor import doctor
from tests.integration.test_own_image import copy_project, env_for

pytestmark = pytest.mark.docker


def test_template_shape_checks_and_another_checkouts_volume(
    tmp_path: Path, project_name: str
) -> None:
    d = copy_project(tmp_path)
    p = Project(dir=d, name=project_name, env=env_for(project_name))
    code, checks, _ = doctor(p)
    assert checks["app-port"]["status"] == "pass", checks["app-port"]
    assert "listens on 8000 (`fastapi run --reload app/main.py`)" in checks["app-port"]["detail"]
    assert checks["nested-mounts"]["detail"] == (
        "/app/backend/htmlcov dropped: the code mount already shows that folder"
    )
    assert checks["one-shot"]["detail"].startswith("prestart runs once to the end; backend")
    assert checks["checkout"]["status"] == "pass", checks["checkout"]

    other = tmp_path / "other-checkout"
    other.mkdir()
    volume = f"{project_name}_app-db-data"
    subprocess.run(
        ["docker", "volume", "create", "--label", f"com.docker.compose.project={project_name}",
         "--label", "com.docker.compose.volume=app-db-data",
         "--label", f"dev.devstack.checkout={other}", volume],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        code, checks, _ = doctor(p)
        assert code == 1 and checks["checkout"]["status"] == "fail", checks["checkout"]
        assert str(other) in checks["checkout"]["detail"] and volume in checks["checkout"]["detail"]
        assert "devstack down -v" in checks["checkout"]["fix"]
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True, timeout=60)
