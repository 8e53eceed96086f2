"""`logs` without -f reads each container's log with `docker logs` (a few containers) or
through compose (many): both give the same lines, in time order, as the engine has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import config, logs
from devstack.engine import Engine
from devstack.stack import open_stack
from tests.integration.helpers import example

pytestmark = pytest.mark.docker


def test_direct_and_compose_reads_agree(
    tmp_path: Path, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        for key, value in p.env.items():
            monkeypatch.setenv(key, value)
        stack = open_stack(config.load(p.dir, overrides={"project_name": p.name}))
        direct = logs.read(stack, tail=5)
        redis_direct = logs.read(stack, ["redis"], tail=3)  # Redis logs nothing more once up
        monkeypatch.setattr(Engine, "container_logs", lambda self, *a, **kw: None)  # "many"
        via_compose = logs.read(stack, tail=5)
        redis_via_compose = logs.read(stack, ["redis"], tail=3)
        assert {line.service for line in direct} == {line.service for line in via_compose}
        assert {line.service for line in direct} == {"app", "redis"}
        assert [line.timestamp for line in direct] == sorted(line.timestamp for line in direct)
        assert len(redis_direct) == 3 and redis_direct == redis_via_compose
    finally:
        p.devstack("down", "-v")
