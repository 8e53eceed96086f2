"""`devstack test` on the project in FastAPI's full-stack template's shape
(tests/projects/workspace-backend): its own test script (`backend/scripts/tests-start.sh`,
found where its own image keeps the code), its one-shot prestart, its own suite passing."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import remove_project
from tests.integration.helpers import Project, docker
from tests.integration.test_own_image import copy_project, env_for, remove_images

pytestmark = pytest.mark.docker


def test_the_templates_own_suite_passes_in_a_copy(tmp_path: Path, docker_engine: None) -> None:
    name = f"dstmpl-{uuid.uuid4().hex[:8]}"
    p = Project(copy_project(tmp_path), name, env_for(name))
    label = f"label=dev.devstack.test.of={name}"
    try:
        settings = p.devstack("config", "--settings", check=True).stdout
        assert '"command": "bash /app/backend/scripts/tests-start.sh"' in settings

        done = p.devstack("test", timeout=900)

        assert done.returncode == 0, done.stdout + done.stderr
        passed = re.search(r"(\d+) passed", done.stdout)
        assert passed and int(passed.group(1)) >= 4, done.stdout
        print(f"template-shaped project's own suite through devstack test: {passed.group(0)}")
        assert "migrations: run by the prestart service" in done.stderr
        assert not docker("ps", "-aq", "--filter", label).split()
        assert not docker("volume", "ls", "-q", "--filter", label).split()
    finally:
        for found in docker("ps", "-aq", "--filter", label).split():
            subprocess.run(["docker", "rm", "-f", "-v", found], capture_output=True)
        remove_project(name)
        remove_images(name)
