"""The image runtime: WAIT_FOR parsing, waiting with backoff, timeout messages (real sockets on
127.0.0.1, no engine)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.unit import runtime_module
from tests.unit.runtime_module import RUNTIME_DIR

rt = runtime_module.load("devstack_wait")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = int(self.path.strip("/") or "200")
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    """A local HTTP server answering GET /NNN with status NNN."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_parse_targets() -> None:
    targets = rt.parse_targets(" db:5432, http://api:8000/health ,,[::1]:80,https://x/ ")
    assert [t.text for t in targets] == [
        "db:5432",
        "http://api:8000/health",
        "[::1]:80",
        "https://x/",
    ]
    assert (targets[0].host, targets[0].port, targets[0].url) == ("db", 5432, "")
    assert targets[1].url == "http://api:8000/health"
    assert (targets[2].host, targets[2].port) == ("::1", 80)
    assert rt.parse_targets("") == []


@pytest.mark.parametrize("bad", ["db", "db:", ":80", "db:http", "db:0", "db:70000", "ftp://x/"])
def test_parse_targets_rejects(bad: str) -> None:
    with pytest.raises(rt.RuntimeFailure, match="neither host:port nor"):
        rt.parse_targets(bad)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_polls_until_every_target_answers() -> None:
    clock = FakeClock()
    answers = {"a:1": iter(["connection refused", None]), "b:2": iter(["timed out"] * 4 + [None])}
    rt.wait_for(
        rt.parse_targets("a:1,b:2"),
        60,
        check=lambda t, _timeout: next(answers[t.text]),
        clock=clock,
        sleep=clock.sleep,
    )
    assert len(clock.sleeps) == 4
    assert clock.sleeps == sorted(clock.sleeps) and clock.sleeps[0] <= 0.1  # short backoff
    assert max(clock.sleeps) <= 1.0


def test_wait_for_timeout_names_each_silent_target_and_what_it_got() -> None:
    clock = FakeClock()
    last = {"db:5432": "connection refused", "http://api/h": "HTTP 503", "ok:1": None}
    with pytest.raises(rt.RuntimeFailure) as failure:
        rt.wait_for(
            rt.parse_targets("db:5432,http://api/h,ok:1"),
            5,
            check=lambda t, _timeout: last[t.text],
            clock=clock,
            sleep=clock.sleep,
        )
    message = str(failure.value)
    assert "gave up after 5s" in message
    assert "db:5432: connection refused" in message
    assert "http://api/h: HTTP 503" in message
    assert "ok:1" not in message
    assert 5 <= clock.now <= 6


def test_wait_for_backoff_is_capped() -> None:
    clock = FakeClock()
    with pytest.raises(rt.RuntimeFailure):
        rt.wait_for(
            rt.parse_targets("a:1"), 30, check=lambda t, _: "no", clock=clock, sleep=clock.sleep
        )
    assert max(clock.sleeps) == 1.0
    assert 29 < clock.now <= 30.5


def test_probe_real_sockets(http_port: int) -> None:
    assert rt.probe(rt.Target("x", host="127.0.0.1", port=http_port), 1) is None
    refused = rt.Target("x", host="127.0.0.1", port=closed_port())
    assert rt.probe(refused, 1) == "connection refused"
    url = f"http://127.0.0.1:{http_port}"
    assert rt.probe(rt.Target("x", url=f"{url}/404"), 1) is None
    assert rt.probe(rt.Target("x", url=f"{url}/503"), 1) == "HTTP 503"
    gone = f"http://127.0.0.1:{closed_port()}/"
    assert rt.probe(rt.Target("x", url=gone), 1) == "connection refused"


def test_wait_real_timeout_is_bounded() -> None:
    port = closed_port()
    start = time.monotonic()
    with pytest.raises(rt.RuntimeFailure, match=f"127.0.0.1:{port}: connection refused"):
        rt.wait({"WAIT_FOR": f"127.0.0.1:{port}", "WAIT_TIMEOUT": "0.6"})
    assert 0.5 < time.monotonic() - start < 1.5


def test_wait_without_targets_or_with_answering_ones_returns_at_once(
    http_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.monotonic()
    rt.wait({})
    assert capsys.readouterr().err == ""  # nothing to wait for: not a word
    answering = f"127.0.0.1:{http_port},http://127.0.0.1:{http_port}/"
    clock = FakeClock()
    rt.wait_for(rt.parse_targets(answering), 60, clock=clock, sleep=clock.sleep)  # real probes
    assert clock.sleeps == []  # every target answered the first probe: no backoff
    rt.wait({"WAIT_FOR": answering})
    assert "waiting for 127.0.0.1" in capsys.readouterr().err
    assert time.monotonic() - start < 1.0


def test_wait_command_exit_code_and_message() -> None:
    port = closed_port()
    done = subprocess.run(
        [sys.executable, str(RUNTIME_DIR / "devstack_runtime.py"), "wait"],
        env={"WAIT_FOR": f"127.0.0.1:{port}", "WAIT_TIMEOUT": "0.3"},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 1
    assert f"127.0.0.1:{port}: connection refused" in done.stderr
