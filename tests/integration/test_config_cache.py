"""`devstack config` prints compose's merged configuration, kept beside the resolved model
while nothing it depends on changes: the same text, secrets masked, without compose."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.helpers import example

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
