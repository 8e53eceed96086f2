"""`devstack config` prints compose's merged configuration, kept beside the resolved model
while nothing it depends on changes: the same text, secrets masked, without compose."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.helpers import docker, example

pytestmark = pytest.mark.docker

COMPOSE_CONFIG = " config"  # in the `-v` line of a `docker compose ... config` run


def _compose_runs(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("$ docker compose")]


def test_config_is_printed_from_the_cache_until_an_input_changes(
    tmp_path: Path, project_name: str
) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    first = p.devstack("-v", "config", check=True)
    assert any(r.endswith(COMPOSE_CONFIG) for r in _compose_runs(first.stderr))
    again = p.devstack("-v", "config", check=True)
    assert _compose_runs(again.stderr) == []  # printed from .devstack/
    assert again.stdout == first.stdout
    password = p.env["REDIS_PASSWORD"]
    assert password not in again.stdout and "redis" in again.stdout

    # an env_file's contents are part of the model: changing it resolves it again
    env_file = p.dir / "extra.env"
    env_file.write_text("EXTRA_SETTING=one\n")
    compose = p.dir / "compose.yaml"
    text = compose.read_text()
    compose.write_text(text.replace("  app:\n", "  app:\n    env_file: [extra.env]\n", 1))
    with_file = p.devstack("-v", "config", check=True)
    assert "EXTRA_SETTING: one" in with_file.stdout
    env_file.write_text("EXTRA_SETTING=two\n")
    os.utime(env_file, ns=(1, 1))  # a new stamp whatever the clock's resolution
    changed = p.devstack("-v", "config", check=True)
    assert len(_compose_runs(changed.stderr)) == 2  # the model, then the merged config
    assert "EXTRA_SETTING: two" in changed.stdout and "EXTRA_SETTING: one" not in changed.stdout


def _waits(stdout: str) -> dict[str, str]:
    """The "# devstack waits on each service by:" lines: service -> how."""
    lines = stdout.split("# devstack waits on each service by:\n", 1)[1].splitlines()
    return dict(line.removeprefix("#   ").split(": ", 1) for line in lines)


def test_readiness_lines_follow_the_images_health_checks(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    image = f"{project_name}-app"  # compose's name for the app's built image
    before = _waits(p.devstack("config", check=True).stdout)
    assert _waits(p.devstack("config", check=True).stdout) == before
    context = tmp_path / "hc"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "FROM devstack-local/debian:bookworm\nHEALTHCHECK CMD true\n"
    )
    docker("build", "-q", "-t", image, str(context))
    try:
        after = _waits(p.devstack("config", check=True).stdout)
        assert after["app"] != before["app"] and after["redis"] == before["redis"]
        assert "HEALTHCHECK" in after["app"] or "health" in after["app"], after
    finally:
        docker("image", "rm", "-f", image)
    assert _waits(p.devstack("config", check=True).stdout) == before


def test_an_included_file_is_an_input_of_the_model(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    (p.dir / "extra.yaml").write_text("services:\n  extra:\n    image: one:1\n")
    compose = p.dir / "compose.yaml"
    compose.write_text("include:\n  - extra.yaml\n" + compose.read_text())
    assert "image: one:1" in p.devstack("config", check=True).stdout
    (p.dir / "extra.yaml").write_text("services:\n  extra:\n    image: two:22\n")
    out = p.devstack("config", check=True).stdout
    assert "image: two:22" in out and "one:1" not in out
