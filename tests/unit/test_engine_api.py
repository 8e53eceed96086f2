"""The engine API client's pure parts: which engine is local, the log stream's frames,
`--since` as Unix seconds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.engine import api


def frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_frames_are_split_by_their_headers() -> None:
    data = frame(1, b"out one\n") + frame(2, b"err one\n") + frame(1, b"")
    assert list(api.frames(data)) == [(1, b"out one\n"), (2, b"err one\n"), (1, b"")]


def test_lines_span_frames_and_keep_each_stream_apart() -> None:
    data = (
        frame(1, b"2024-01-01T00:00:00.1Z hel")
        + frame(2, b"2024-01-01T00:00:00.2Z an error\n")
        + frame(1, b"lo\r\n2024-01-01T00:00:00.3Z last")
    )
    assert list(api.lines(data)) == [
        b"2024-01-01T00:00:00.2Z an error",
        b"2024-01-01T00:00:00.1Z hello",
        b"2024-01-01T00:00:00.3Z last",
    ]


def test_a_tty_stream_has_no_headers() -> None:
    data = b"2024-01-01T00:00:00.1Z one\r\n2024-01-01T00:00:00.2Z two\r\n"
    assert list(api.lines(data)) == [
        b"2024-01-01T00:00:00.1Z one",
        b"2024-01-01T00:00:00.2Z two",
    ]
    assert list(api.lines(b"")) == []


def test_a_payload_that_looks_like_a_header_is_payload() -> None:
    payload = bytes([1, 0, 0, 0, 0, 0, 0, 9]) + b"\n"
    assert list(api.lines(frame(1, payload))) == [payload[:-1]]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, api.DEFAULT_SOCKET),
        ({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, "/run/user/1000/docker.sock"),
        ({"DOCKER_HOST": "ssh://me@box"}, None),
        ({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, None),
        ({"DOCKER_CONTEXT": "default"}, api.DEFAULT_SOCKET),
        ({"DOCKER_CONTEXT": "remote"}, None),
        # DOCKER_HOST wins over the context, as in the docker CLI
        ({"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "remote"}, "/x.sock"),
    ],
)
def test_which_engine_is_local(env: dict[str, str], expected: str | None, tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), **env}  # no config.json: the default context
    assert api.socket_path(env) == expected


def test_the_current_context_of_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    assert api.socket_path({"DOCKER_CONFIG": str(tmp_path)}) is None
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "default"}))
    assert api.socket_path({"DOCKER_CONFIG": str(tmp_path)}) == api.DEFAULT_SOCKET


NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10m", NOW.timestamp() - 600),
        ("1h30m", NOW.timestamp() - 5400),
        ("1.5s", NOW.timestamp() - 1.5),
        ("1714564800", 1714564800.0),
        ("2024-05-01T12:00:00Z", NOW.timestamp()),
        ("2024-05-01T12:00:00.250Z", NOW.timestamp() + 0.25),
        ("2024-05-01T14:00:00+02:00", NOW.timestamp()),
        ("2024-05-01T12:00:00.123456789Z", NOW.timestamp() + 0.123456789),
        ("yesterday", None),
        ("10x", None),
    ],
)
def test_since_as_unix_seconds(value: str, expected: float | None) -> None:
    got = api.since_seconds(value, now=NOW)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_a_chunked_body_is_joined() -> None:
    assert api._dechunked(b"5\r\nhello\r\n7;x=1\r\n world!\r\n0\r\n\r\n") == b"hello world!"
    with pytest.raises(api.BadResponse):
        api._dechunked(b"a\r\nshort")
