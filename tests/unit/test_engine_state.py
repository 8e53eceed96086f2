"""The engine adapter's pure parts: container state parsing and error translation."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack.engine.runner import Failed
from devstack.engine.state import Port, parse_state, parse_time
from devstack.engine.translate import engine_error
from devstack.errors import ComposeError, ConfigError, EngineUnavailable

INSPECT = {
    "Id": "abc",
    "Name": "/p-redis-1",
    "RestartCount": 2,
    "Config": {
        "Labels": {"com.docker.compose.service": "redis", "com.docker.compose.oneoff": "False"},
        "Healthcheck": {"Test": ["CMD", "redis-cli", "ping"], "Timeout": 3_000_000_000},
    },
    "State": {
        "Status": "running",
        "ExitCode": 0,
        "StartedAt": "2026-01-02T03:04:05.123456789Z",
        "Health": {"Status": "healthy", "Log": [{"Output": "PONG\n"}]},
    },
    "NetworkSettings": {
        "Ports": {
            "6379/tcp": [{"HostIp": "127.0.0.1", "HostPort": "16379"}],
            "9999/udp": None,
        }
    },
}


def test_parse_state_reads_service_health_and_ports() -> None:
    s = parse_state(INSPECT)
    assert (s.name, s.service, s.state, s.health) == ("p-redis-1", "redis", "running", "healthy")
    assert s.ports == (Port("127.0.0.1", 16379, 6379, "tcp"),)
    assert s.health_test == ("CMD", "redis-cli", "ping")
    assert (s.health_timeout, s.health_output, s.restart_count, s.oneoff) == (3.0, "PONG", 2, False)
    assert s.started_at == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_parse_state_without_health_check() -> None:
    raw = {"Id": "x", "Config": {"Healthcheck": {"Test": ["NONE"]}}, "State": {"Status": "exited"}}
    s = parse_state(raw)
    assert (s.health, s.health_test, s.exit_code, s.ports) == (None, (), 0, ())
    assert parse_time("0001-01-01T00:00:00Z") is None


def _exc(stderr: str, *command: str) -> Failed:
    return Failed(["docker", "compose", *command], 1, "", stderr)


def test_translation_by_stderr() -> None:
    down = engine_error(_exc("Cannot connect to the Docker daemon at unix:///x"), "up")
    assert isinstance(down, EngineUnavailable)
    bad = engine_error(_exc("services.app Additional property foo is not allowed"), "up")
    assert isinstance(bad, ConfigError)
    taken = engine_error(
        _exc("Bind for 0.0.0.0:8000 failed: port is already allocated", "up"), "up"
    )
    assert isinstance(taken, ComposeError) and "0.0.0.0:8000 is already taken" in str(taken)
    other = engine_error(_exc("something else broke", "up"), "up")
    assert isinstance(other, ComposeError) and other.return_code == 1
