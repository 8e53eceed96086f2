"""health.wait_ready's decisions on the fake engine: ready, crash, unhealthy, a crash the
container survives, timeout, and a readiness probe (the image's client, in the container)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from devstack.engine import EngineClient
from devstack.errors import ServiceUnhealthy
from devstack.readiness import health
from devstack.readiness.health import wait_ready
from tests.unit.fake_engine import FakeEngine, Script

REDIS = Script(image="redis:7", exposed=(6379,), addresses=("10.0.0.9",))


def wait(e: FakeEngine, services: list[str], timeout: float = 2.0, **kw: Any) -> dict[str, float]:
    for s in services:
        e.start(s)
    return wait_ready(e, "p", services, timeout=timeout, poll=0.01, **kw)


def test_the_fake_implements_the_engine_client() -> None:
    members = {n for n in dir(EngineClient) if not n.startswith("_")}
    for name in members:
        ours, theirs = getattr(FakeEngine, name), getattr(EngineClient, name)
        assert inspect.signature(ours) == inspect.signature(theirs), name


def test_ready_when_healthy_and_judged_by_the_health_check() -> None:
    e = FakeEngine({"db": Script(health=True, ready_after=2), "cache": Script()})
    judged: dict[str, str] = {}
    ready = wait(e, ["db", "cache"], judged=judged)
    assert set(ready) == {"db", "cache"}
    assert judged == {"db": "healthcheck", "cache": "running"}


def test_a_container_that_exits_fails_at_once_with_its_log() -> None:
    e = FakeEngine({"db": Script(crash=True, logs="FATAL: no password")})
    with pytest.raises(ServiceUnhealthy) as caught:
        wait(e, ["db"], timeout=60)
    assert caught.value.message == "db exited with code 1 while starting"
    assert "FATAL: no password" in (caught.value.details or "")
    assert "devstack logs db" in (caught.value.hint or "")


def test_an_unhealthy_container_fails_at_once() -> None:
    e = FakeEngine({"db": Script(health=True, unhealthy=True, ready_after=1)})
    with pytest.raises(ServiceUnhealthy) as caught:
        wait(e, ["db"], timeout=60)
    assert caught.value.message == "db turned unhealthy"


def test_a_crash_the_container_survives_fails_with_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "CRASH_CHECK_EVERY", 0.0)
    log = "INFO started\nTraceback (most recent call last):\n  File x\nImportError: no module y\n"
    e = FakeEngine({"app": Script(health=True, never=True, logs=log)})
    with pytest.raises(ServiceUnhealthy) as caught:
        wait(e, ["app"], timeout=60)
    assert caught.value.message == "app crashed while starting"
    assert (caught.value.details or "").startswith("Traceback") and "ImportError" in (
        caught.value.details or ""
    )


def test_a_timeout_names_the_services_and_what_was_last_seen() -> None:
    e = FakeEngine({"db": Script(health=True, never=True, logs="still booting"), "ok": Script()})
    with pytest.raises(ServiceUnhealthy) as caught:
        wait(e, ["db", "ok"], timeout=0.5)  # "ok" is judged running at its second look
    assert caught.value.message == "db did not become healthy within 0.5s"
    assert "--- db: state running, health starting" in (caught.value.details or "")
    assert "still booting" in (caught.value.details or "")
    assert "--wait-timeout" in (caught.value.hint or "")


def test_a_service_never_created_is_named_at_the_timeout() -> None:
    e = FakeEngine({"db": Script()})
    with pytest.raises(ServiceUnhealthy) as caught:
        wait_ready(e, "p", ["db"], timeout=0.05, poll=0.01)
    assert "db: its container was never created" in (caught.value.details or "")


def test_a_probe_runs_the_images_client_in_the_container() -> None:
    e = FakeEngine({"cache": REDIS})
    judged: dict[str, str] = {}
    wait(e, ["cache"], probe_from="container", judged=judged)
    assert judged == {"cache": "probe: redis PING"}
    assert [c[1:] for c in e.log if c[0] == "exec_in"] == [
        ("cache", "redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping")
    ]


def test_a_failing_probe_is_shown_at_the_timeout() -> None:
    e = FakeEngine({"cache": REDIS}, probe_code=1)
    with pytest.raises(ServiceUnhealthy) as caught:
        wait(e, ["cache"], timeout=0.4, probe_from="container")
    assert "last probe: redis PING: Could not connect" in (caught.value.details or "")


def test_a_probe_from_the_host_that_cannot_reach_the_network_falls_back_to_the_container() -> None:
    # no address on the engine's network: the host cannot reach it, the client in it can
    e = FakeEngine({"cache": Script(image="redis:7", exposed=(6379,))})
    wait(e, ["cache"], probe_from="host")
    assert [c[0] for c in e.log].count("exec_in") == 1
