"""The image's health check: where it probes (the container's listening sockets, from fake
/proc/net tables), what it sends (a marked request to a real server on 127.0.0.1), and the
access-log filter that leaves the marked requests out."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.unit import runtime_module

health = runtime_module.load("devstack_health")
accesslog = runtime_module.load("devstack_accesslog")
rt = runtime_module.load()

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"


def v4(address: str, port: int) -> str:
    return f"{socket.inet_aton(address)[::-1].hex().upper()}:{port:04X}"


def proc_net(tmp_path: Path, tcp: list[tuple[str, int, str]], tcp6: Sequence[str] = ()) -> Path:
    """Fake /proc/net/tcp (address, port, state) and raw tcp6 lines."""
    lines = [
        f"   {i}: {v4(a, p)} 00000000:0000 {st} 0:0 0:0 0 10001\n"
        for i, (a, p, st) in enumerate(tcp)
    ]
    (tmp_path / "tcp").write_text(HEADER + "".join(lines))
    (tmp_path / "tcp6").write_text(HEADER + "".join(tcp6))
    return tmp_path


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        _Handler.seen.append((self.client_address[0], self.headers.get("User-Agent", "")))
        self.send_response(int(self.path.strip("/") or "200"))
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    """A server on 0.0.0.0 (as the app's) answering GET /NNN with status NNN."""
    server = ThreadingHTTPServer(("0.0.0.0", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen.clear()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_listeners_read_both_tables(tmp_path: Path) -> None:
    tcp6 = [
        "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A\n",
        "   1: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A\n",
        "   2: 00000000000000000000000001000000:0052 00000000000000000000000000000000:0000 0A\n",
    ]
    net = proc_net(tmp_path, [("0.0.0.0", 80, "0A"), ("127.0.0.1", 5432, "01")], tcp6)
    assert health.listeners(net) == [
        ("0.0.0.0", 80),
        ("127.0.0.1", 81),
        ("::1", 82),
        ("::", 8080),
    ]
    assert health.listeners(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("env", "listening", "expected"),
    [
        ({}, [("0.0.0.0", 80)], [("127.0.0.1", 80)]),
        # A custom gunicorn_conf.py binding 8000: the health check follows it.
        ({}, [("0.0.0.0", 8000)], [("127.0.0.1", 8000)]),
        # BIND (gunicorn) first; HOST/PORT (start-reload) when BIND's port does not listen.
        ({"BIND": "0.0.0.0:8080", "PORT": "9000"}, [("0.0.0.0", 8080)], [("127.0.0.1", 8080)]),
        (
            {"BIND": "0.0.0.0:8080", "HOST": "127.0.0.1", "PORT": "9000"},
            [("127.0.0.1", 9000), ("0.0.0.0", 5678)],
            [("127.0.0.1", 9000)],
        ),
        ({"HOST": "::", "PORT": "81"}, [("::", 81)], [("127.0.0.1", 81)]),
        ({}, [("::1", 80)], [("::1", 80)]),
        # Nothing listens yet: the configured address, to say why it failed.
        ({"PORT": "8080"}, [], [("127.0.0.1", 8080)]),
        # The engine's DNS listener is never the app.
        ({}, [("127.0.0.11", 43111)], [("127.0.0.1", 80)]),
    ],
)
def test_targets(
    env: dict[str, str], listening: list[tuple[str, int]], expected: list[tuple[str, int]]
) -> None:
    assert health.targets(env, listening) == expected


def test_health_probes_marked_and_counts_any_status_below_500(
    tmp_path: Path, http_port: int
) -> None:
    net = proc_net(tmp_path, [("0.0.0.0", http_port, "0A")])
    assert health.health({"PORT": str(http_port)}, net) == (True, [])
    assert _Handler.seen == [(accesslog.MARK_ADDRESS, health.USER_AGENT)]
    assert health.health({"HEALTH_PATH": "/404"}, net) == (True, [])  # follows the listener
    ok, report = health.health({"HEALTH_PATH": "500"}, net)
    assert not ok and report == [f"http://127.0.0.1:{http_port}/500: HTTP 500"]


def test_health_reports_what_it_tried(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ok, report = health.health({"PORT": str(port)}, proc_net(tmp_path, []))
    assert not ok and report == [f"http://127.0.0.1:{port}/: connection refused"]


def test_health_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(rt, "probe_health", lambda env: (False, ["http://x/: timed out"]))
    assert rt.main(["health"]) == 1
    assert capsys.readouterr().out == "http://x/: timed out\n"
    monkeypatch.setattr(rt, "probe_health", lambda env: (True, []))
    assert rt.main(["health"]) == 0


def record(logger: str, args: object) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.INFO, __file__, 1, "%s", args, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kept"),
    [
        (("127.0.0.2:51234", "GET", "/", "1.1", 200), False),
        (("::ffff:127.0.0.2:51234", "GET", "/", "1.1", 200), False),
        (("127.0.0.1:51234", "GET", "/", "1.1", 200), True),
        (("172.18.0.1:40000", "GET", "/health", "1.1", 200), True),
        (("127.0.0.20:51234", "GET", "/", "1.1", 200), True),
        ({"h": "127.0.0.2", "r": "GET / HTTP/1.1"}, False),
        ({"h": "10.0.0.3", "r": "GET / HTTP/1.1"}, True),
        ((), True),
    ],
)
def test_filter_drops_only_marked_requests(args: object, kept: bool) -> None:
    assert accesslog.HealthProbeFilter().filter(record("uvicorn.access", args)) is kept


@pytest.mark.parametrize(("value", "installed"), [("", True), ("0", True), ("1", False)])
def test_install_unless_health_access_log(value: str, installed: bool) -> None:
    loggers = [logging.getLogger(name) for name in accesslog.ACCESS_LOGGERS]
    before = [list(lg.filters) for lg in loggers]
    try:
        assert accesslog.install({"HEALTH_ACCESS_LOG": value}) is installed
        accesslog.install({"HEALTH_ACCESS_LOG": value})  # twice: still one filter
        for lg, old in zip(loggers, before, strict=True):
            added = [f for f in lg.filters if f not in old]
            assert len(added) == (1 if installed and not old else 0)
    finally:
        for lg, old in zip(loggers, before, strict=True):
            lg.filters[:] = old
