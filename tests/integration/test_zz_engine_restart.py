"""The engine restarted under a running stack (runs last: it stops every container)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.helpers import wait_for
from tests.integration.test_reliability import make, redis

pytestmark = pytest.mark.docker


def engine_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def restart_engine() -> None:
    """Stop dockerd as a host shutdown would (SIGTERM), then start it with our own script."""
    # The engine's own pid file: `pgrep dockerd` also sees engines nested in containers
    # (the remote-engine tests run one), and the oldest is not always the host's.
    pid = int(Path("/var/run/docker.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=60, every=0.5)
    subprocess.run([str(ROOT / "scripts" / "ensure-docker")], check=True, timeout=120)
    wait_for(engine_up, timeout=60, every=0.5)


@pytest.mark.skipif(
    not Path("/var/run/docker.pid").exists() or "DOCKER_HOST" in os.environ,
    reason="the engine is not a local dockerd this machine runs",
)
def test_engine_restart_ps_tells_the_truth_up_recovers_no_data_lost(
    tmp_path: Path, project_name: str
) -> None:
    p = make(tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        redis(p, "set", "survives", "engine-restart")
        restart_engine()
        rows = json.loads(p.devstack("ps", "--json", check=True).stdout)
        # Both stopped by the engine going away: exited (with whatever code), never
        # "completed", which is a one-shot service's successful end.
        states = {r["service"]: r["state"] for r in rows}
        assert states.keys() == {"app", "redis"}, states
        assert all(s.startswith("exited (") for s in states.values()), states
        start = time.monotonic()
        r = p.devstack("up")
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - start < 60
        rows = json.loads(p.devstack("ps", "--json", check=True).stdout)
        assert {r["state"] for r in rows} == {"running"}
        assert redis(p, "get", "survives") == "engine-restart"
    finally:
        if engine_up():
            p.devstack("down", "-v")
