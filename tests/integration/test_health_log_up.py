"""Under `devstack up`, health probes (the engine's and devstack's own, which runs the image's
health check by `docker exec` while it waits) stay out of `devstack logs app`; a user's own
request to the same path is logged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.helpers import docker, example, get, wait_for


def test_up_keeps_health_probes_out_of_the_app_log(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)  # HEALTH_PATH=/health
    try:
        p.devstack("up", check=True)
        labels = [
            f"label=com.docker.compose.{k}" for k in (f"project={project_name}", "service=app")
        ]
        (app,) = docker("ps", "-q", "--filter", labels[0], "--filter", labels[1]).split()

        def app_log() -> str:
            return p.devstack("logs", "app", check=True).stdout

        def engine_probes() -> int:
            return len(json.loads(docker("inspect", "-f", "{{json .State.Health.Log}}", app)))

        # devstack probed while it waited (up returned once one passed); let the engine's run.
        wait_for(lambda: engine_probes() >= 3, 30)
        before = [line for line in app_log().splitlines() if "GET /health" in line]
        assert before == [], "\n".join(before)
        get(f"http://127.0.0.1:{p.env['APP_PORT']}/health")
        wait_for(lambda: sum("GET /health" in line for line in app_log().splitlines()) == 1, 10)
    finally:
        p.devstack("down", "-v")
