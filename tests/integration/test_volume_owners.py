"""Named volumes remember the checkout that created them: another existing checkout with
the same project name stops (exit 7) before using them; a deleted one's are taken over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from devstack.stack import CHECKOUT_LABEL
from tests.conftest import leftovers
from tests.integration.helpers import Project, docker

pytestmark = pytest.mark.docker

COMPOSE = """\
services:
  store:
    image: devstack-local/debian:bookworm
    command: ["sleep", "infinity"]
    init: true
    volumes: ["data:/data"]
volumes:
  data:
    labels:
      team: data
"""


def checkout(where: Path, name: str) -> Project:
    where.mkdir(parents=True)
    (where / "compose.yaml").write_text(COMPOSE)
    return Project(dir=where, name=name)


def test_a_volume_of_another_checkout_stops_up_and_one_of_a_deleted_checkout_is_taken_over(
    tmp_path: Path, project_name: str
) -> None:
    first = checkout(tmp_path / "one", project_name)
    second = checkout(tmp_path / "two", project_name)
    volume = f"{project_name}_data"
    try:
        first.devstack("up", check=True)
        labels = json.loads(docker("volume", "inspect", volume, "--format", "{{json .Labels}}"))
        assert labels[CHECKOUT_LABEL] == str(first.dir)
        assert labels["team"] == "data" and labels["com.docker.compose.project"] == project_name
        first.devstack("down", check=True)  # containers gone, the volume (the data) kept

        r = second.devstack("up")
        assert r.returncode == ExitCode.PROJECT_IN_USE, r.stderr
        assert f"{first.dir} (its volume(s) {volume}" in r.stderr, r.stderr
        assert f"this checkout is {second.dir}" in r.stderr
        assert "`devstack down -v`" in r.stderr and "-p NAME" in r.stderr
        assert not leftovers(project_name)["containers"]  # nothing was touched

        shutil.rmtree(first.dir)  # that checkout is gone: its volume is taken over
        r = second.devstack("up", check=True)
        assert f"taking over the stack left by {first.dir}" in r.stderr + r.stdout
    finally:
        second.devstack("down", "-v")
    assert not any(leftovers(project_name).values())
