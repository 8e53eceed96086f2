"""Beyond upstream's suite, on the same images: the health check follows where the server
listens, health probes stay out of the access log (unless HEALTH_ACCESS_LOG=1) in every start
mode, and on a cluster /start.sh runs one worker unless told otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.integration.helpers import wait_for
from tests.integration.upstream.harness import HELLO, Box, docker

Run = Callable[..., Box]
MARK = "127.0.0.2:"  # where the runtime's health probes come from
RELOAD = ("/start-reload.sh",)


def health_runs(app: Box) -> int:
    """How many scheduled health checks the engine has recorded (it keeps the last five)."""
    out = docker("inspect", "-f", "{{json .State.Health.Log}}", app.id).stdout
    return len(json.loads(out) or [])


def probe_like_devstack_up(app: Box) -> None:
    """What `devstack up` does while it waits: run the image's own health check by exec."""
    test = json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck.Test}}", app.id).stdout)
    assert test[0] == "CMD"
    assert docker("exec", app.id, *test[1:]).returncode == 0


def test_own_gunicorn_conf_on_another_port_turns_healthy(box: Run) -> None:
    """upstream's package_app_config binds 8000 in its own gunicorn_conf.py; the image's
    health check (written for port 80) must follow it, or `service_healthy` never comes."""
    app = box("package_app_config", port=8000)
    app.wait_healthy()
    assert "0.0.0.0:8000" in app.logs()


@pytest.mark.parametrize(
    ("command", "env"),
    [((), {}), (RELOAD, {}), (RELOAD, {"RELOAD_MODE": "uvicorn"})],
    ids=["start", "start-reload-warm", "start-reload-uvicorn"],
)
@pytest.mark.parametrize("shown", [False, True], ids=["default", "HEALTH_ACCESS_LOG=1"])
def test_health_probes_and_the_access_log(
    box: Run, command: tuple[str, ...], env: dict[str, str], shown: bool
) -> None:
    settings = {**env, "HEALTH_ACCESS_LOG": "1"} if shown else env
    app = box("base", env=settings, command=command)
    app.wait_healthy()
    wait_for(lambda: health_runs(app) >= 3, 30)  # the engine's own probes, every second
    for _ in range(3):
        probe_like_devstack_up(app)
    assert app.get() == HELLO  # a user's request: always in the access log
    wait_for(lambda: '"GET / HTTP/1.1" 200' in app.logs(), 10)
    logs = app.logs()
    probes = [line for line in logs.splitlines() if MARK in line and "GET / HTTP/1.1" in line]
    if shown:
        assert len(probes) >= 6, logs  # 3+ scheduled and 3 by exec
    else:
        assert probes == [], logs
        user = [line for line in logs.splitlines() if '"GET / HTTP/1.1" 200' in line]
        assert len(user) == 1, logs


def gunicorn_workers(app: Box) -> int:
    return len(app.gunicorn_processes()) - 1  # all but the master


def test_one_worker_on_a_cluster_and_explicit_settings_win(box: Run) -> None:
    cluster = {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    app = box("base", env=cluster)
    app.wait_serving()
    assert app.config()["workers"] == 1
    wait_for(lambda: gunicorn_workers(app) == 1, 10)
    assert "devstack: 1 worker (KUBERNETES_SERVICE_HOST is set" in app.logs()

    explicit = box("base", env={**cluster, "WEB_CONCURRENCY": "3"})
    explicit.wait_serving()
    assert explicit.config()["workers"] == 3
    wait_for(lambda: gunicorn_workers(explicit) == 3, 10)
    assert "devstack: 3 workers (WEB_CONCURRENCY)" in explicit.logs()

    capped = box("base", env={**cluster, "MAX_WORKERS": "2"})
    capped.wait_serving()
    assert capped.config()["workers"] == 2
