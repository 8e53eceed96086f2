"""Other checkouts, other passwords, no network: each failure names its cause and the way out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import leftovers
from tests.integration.helpers import Project, docker, example

pytestmark = pytest.mark.docker


def container_ids(project: str) -> set[str]:
    label = f"label=com.docker.compose.project={project}"
    return set(docker("ps", "-aq", "--no-trunc", "--filter", label).split())


def two_checkouts(tmp_path: Path, project_name: str) -> tuple[Project, Project]:
    """Two clones of one repository: same compose project name, other directories."""
    first = example("fastapi-redis", tmp_path / "one", project_name)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    second = Project(
        dir=tmp_path / "two" / "examples" / "fastapi-redis", name=project_name, env=first.env
    )
    return first, second


def test_second_checkout_with_the_same_name_stops_before_touching_the_first(
    tmp_path: Path, project_name: str
) -> None:
    first, second = two_checkouts(tmp_path, project_name)
    try:
        first.devstack("up", check=True)
        before = container_ids(project_name)
        for args in (("up",), ("down",), ("migrate",)):
            r = second.devstack(*args)
            assert r.returncode == ExitCode.PROJECT_IN_USE, (args, r.stderr)
            assert str(first.dir) in r.stderr and str(second.dir) in r.stderr, r.stderr
            assert "-p NAME" in r.stderr and "COMPOSE_PROJECT_NAME" in r.stderr
        assert container_ids(project_name) == before  # nothing recreated or removed
        r = first.devstack("ps", "--json", check=True)
        assert '"running"' in r.stdout
    finally:
        first.devstack("down", "-v")
    assert not any(leftovers(project_name).values())


def test_stack_of_a_deleted_checkout_is_taken_over_with_a_note(
    tmp_path: Path, project_name: str
) -> None:
    first, second = two_checkouts(tmp_path, project_name)
    try:
        first.devstack("up", check=True)
        before = container_ids(project_name)
        shutil.rmtree(tmp_path / "one")  # the first checkout is gone; its stack is not
        r = second.devstack("up", check=True)
        assert f"taking over the stack left by {first.dir}" in r.stderr + r.stdout
        assert container_ids(project_name) != before  # recreated from this checkout
        assert second.devstack("ps", "--json", check=True).stdout.count('"running"') >= 2
    finally:
        second.devstack("down", "-v")
    assert not any(leftovers(project_name).values())


def test_database_volume_with_another_password_names_the_cause_and_ways_out(
    tmp_path: Path, project_name: str
) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        p.devstack("down", check=True)  # the volume keeps the first password
        p.env["POSTGRES_PASSWORD"] = "another-password-42"
        env_file = p.dir / ".env"
        lines = env_file.read_text().splitlines()
        env_file.write_text(
            "\n".join(
                "POSTGRES_PASSWORD=another-password-42" if line.startswith("POSTGRES_") else line
                for line in lines
            )
            + "\n"
        )
        r = p.devstack("up")
        assert r.returncode == ExitCode.MIGRATION, r.stderr
        assert "password authentication failed" in r.stderr
        assert "restore the old password" in r.stderr
        assert "`devstack down -v`" in r.stderr and "DELETES" in r.stderr
        assert "another-password-42" not in r.stderr + r.stdout  # never print a secret
        p.devstack("down", "-v", check=True)
        p.devstack("up", check=True)  # the second way out works
    finally:
        p.devstack("down", "-v")


def test_image_that_cannot_be_pulled_names_image_registry_and_variable(
    tmp_path: Path, project_name: str
) -> None:
    p = example("fastapi-postgres", tmp_path, project_name)
    p.env["POSTGRES_IMAGE"] = "devstack-registry.invalid/postgres:16"
    try:
        r = p.devstack("up")
        assert r.returncode == ExitCode.IMAGE_UNAVAILABLE, r.stderr
        assert (
            "cannot pull devstack-registry.invalid/postgres:16 (service db) "
            "from devstack-registry.invalid"
        ) in r.stderr, r.stderr
        assert "does not answer" not in r.stderr  # the engine did answer
        assert "set POSTGRES_IMAGE" in r.stderr and "devstack-local/postgres:15" in r.stderr

        p.env["POSTGRES_IMAGE"] = "devstack-local/postgres:15"
        p.env["PYTHON_IMAGE"] = "devstack-registry.invalid/python:3.11"
        r = p.devstack("up", "--build")
        assert r.returncode == ExitCode.IMAGE_UNAVAILABLE, r.stderr
        assert "cannot pull devstack-registry.invalid/python:3.11 (the base image of " in (
            r.stderr
        ), r.stderr
        assert "/compose/Dockerfile, built for app)" in r.stderr, r.stderr
        assert "set PYTHON_IMAGE" in r.stderr
    finally:
        p.devstack("down", "-v")
