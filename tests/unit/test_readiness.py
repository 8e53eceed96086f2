"""Readiness strategies: the table, the clients' argv, and each handshake against a fake
server speaking a few bytes of the protocol (no engine)."""

from __future__ import annotations

import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.engine.state import parse_state
from devstack.readiness import handshakes
from devstack.readiness import probes as readiness


@pytest.mark.parametrize(
    ("image", "command", "name"),
    [
        ("postgres:16", (), "postgres startup"),
        ("docker.io/library/postgres:15-alpine", (), "postgres startup"),
        ("postgis/postgis:16-3.4", (), "postgres startup"),
        ("timescale/timescaledb-ha:pg16", (), "postgres startup"),
        ("redis:7", (), "redis PING"),
        ("redis/redis-stack-server:latest", (), "redis PING"),
        ("redislabs/redismod", (), "redis PING"),
        ("registry.example:5000/team/redis@sha256:abc", (), "redis PING"),
        ("valkey/valkey:8", (), "redis PING"),
        ("mysql:8", (), "mysql greeting"),
        ("mariadb:11", (), "mysql greeting"),
        ("mongo:7", (), "mongo hello"),
        ("rabbitmq:3-management", (), "amqp connection.start"),
        ("memcached:1.6", (), "memcached version"),
        ("docker.elastic.co/elasticsearch/elasticsearch:8.13.0", (), "http GET /"),
        ("opensearchproject/opensearch:2", (), "http GET /"),
        ("ghcr.io/me/cache:1", ("/entrypoint.sh", "redis-server", "--port", "6379"), "redis PING"),
        ("my/db", ("/usr/sbin/mysqld",), "mysql greeting"),
    ],
)
def test_image_or_command_picks_the_strategy(
    image: str, command: tuple[str, ...], name: str
) -> None:
    s = readiness.strategy_for(image, command)
    assert s is not None and s.name == name


def test_other_images_have_no_strategy() -> None:
    assert readiness.strategy_for("nginx:1.27", ("nginx", "-g", "daemon off;")) is None
    assert readiness.strategy_for("rediscommander/redis-commander", ()) is None  # a web UI
    assert readiness.repository("docker.io/redis/redis-stack-server:7.2") == "redis-stack-server"


def _container(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Id": "c1",
        "Name": "/p-cache-1",
        "Config": {
            "Image": "redis:7",
            "Labels": {"com.docker.compose.service": "cache"},
            "Env": ["REDIS_PASSWORD=s3cret", "PATH=/bin"],
            "Cmd": ["redis-server"],
            "ExposedPorts": {"6379/tcp": {}},
        },
        "State": {"Status": "running"},
        "NetworkSettings": {"Networks": {"p_default": {"IPAddress": "172.18.0.2"}}},
    }
    base["Config"].update(over)  # type: ignore[attr-defined]
    return base


def test_plan_of_a_container() -> None:
    c = parse_state(_container())
    p = readiness.plan(c)
    assert p.label == "probe: redis PING" and p.ports == (6379,)
    assert p.credentials == {"password": "s3cret"}
    assert "s3cret" not in repr(c) and "s3cret" not in repr(p)  # never in a log line
    c = parse_state(_container(Cmd=["redis-server", "--requirepass", "fromargs"], Env=[]))
    assert readiness.plan(c).credentials == {"password": "fromargs"}
    c = parse_state(
        _container(Image="nginx", Cmd=["nginx"], ExposedPorts={"80/tcp": {}, "443/tcp": {}})
    )
    assert readiness.plan(c).label == "tcp 80, 443"
    c = parse_state(_container(Image="busybox", Cmd=["sleep", "1d"], ExposedPorts={}))
    assert readiness.plan(c).label == "running"
    hc = {"Test": ["CMD", "true"]}
    assert readiness.plan(parse_state(_container(Healthcheck=hc))).label == "healthcheck"


def test_client_argv_keeps_passwords_out_of_argv() -> None:
    s = readiness.strategy_for("redis")
    assert s and s.client
    argv = s.client(6379, {"password": "s3cret"}, "172.18.0.2")
    assert "s3cret" not in " ".join(argv) and argv[0] == "redis-cli"
    assert s.client_env({"password": "s3cret"}) == {"REDISCLI_AUTH": "s3cret"}
    pg = readiness.strategy_for("postgres")
    assert pg and pg.client
    assert pg.client(5432, {"user": "app"}, "") == [
        "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-U", "app"
    ]  # fmt: skip
    es = readiness.strategy_for("elasticsearch")
    assert es and es.client_ok(0, "000401") and not es.client_ok(7, "000000")


def test_probe_from_is_the_deliverys_unless_set(tmp_path: Path) -> None:
    from devstack.delivery import for_location
    from devstack.delivery.location import locate

    for far in ("ssh://me@far", "tcp://10.0.0.2:2376"):
        synced = for_location(locate({"DOCKER_HOST": far}))
        assert synced.probe_from("auto") == "container"
        assert synced.probe_from("host") == "host"
    local = for_location(locate({"DOCKER_CONFIG": str(tmp_path)}))
    assert local.probe_from("auto") == ("host" if sys.platform.startswith("linux") else "container")
    assert local.probe_from("container") == "container"


def test_describe_for_config() -> None:
    assert readiness.describe("redis:7", (), healthcheck=True) == "healthcheck"
    assert readiness.describe("redis:7", (), healthcheck=False) == "probe: redis PING (port 6379)"
    assert "unless its image has a HEALTHCHECK" in readiness.describe("x", (), healthcheck=None)


# ---- handshakes against fake servers ---------------------------------------------------


@contextmanager
def server(answer: Callable[[socket.socket], None]) -> Iterator[socket.socket]:
    """A one-connection server on 127.0.0.1; yields a client socket connected to it."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            answer(conn)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
        client.settimeout(2)
        yield client
    t.join(2)
    listener.close()


def test_redis_ping_with_and_without_password() -> None:
    def answer(conn: socket.socket) -> None:
        data = conn.recv(1024)
        assert b"AUTH" in data and b"pw" in data
        conn.sendall(b"+OK\r\n")
        assert b"PING" in conn.recv(1024)
        conn.sendall(b"+PONG\r\n")

    with server(answer) as sock:
        assert handshakes.redis_ping(sock, {"password": "pw"}) == (True, "PONG")

    def loading(conn: socket.socket) -> None:
        conn.recv(1024)
        conn.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")

    with server(loading) as sock:
        ok, seen = handshakes.redis_ping(sock, {})
        assert not ok and "LOADING" in seen


def _pg_error(code: str) -> bytes:
    body = b"SFATAL\0C" + code.encode() + b"\0Mthe database system is starting up\0\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def test_postgres_startup_ready_starting_and_refusing() -> None:
    def auth(conn: socket.socket) -> None:
        data = conn.recv(1024)
        assert struct.unpack("!i", data[4:8])[0] == 196608 and b"user\0app\0" in data
        conn.sendall(b"R" + struct.pack("!ii", 12, 10) + b"SCRAM")

    with server(auth) as sock:
        assert handshakes.postgres_startup(sock, {"user": "app"})[0]
    for code, ready in (("57P03", False), ("28P01", True), ("3D000", True)):

        def err(conn: socket.socket, code: str = code) -> None:
            conn.recv(1024)
            conn.sendall(_pg_error(code))

        with server(err) as sock:
            assert handshakes.postgres_startup(sock, {})[0] is ready, code


def test_mysql_mongo_amqp_memcached_http() -> None:
    greeting = b"\x0a8.0.36\x00" + b"\x00" * 20

    def mysql(conn: socket.socket) -> None:
        conn.sendall(struct.pack("<I", len(greeting))[:3] + b"\x00" + greeting)

    with server(mysql) as sock:
        assert handshakes.mysql_greeting(sock, {}) == (True, "greeting 8.0.36")

    def mongo(conn: socket.socket) -> None:
        data = conn.recv(1024)
        assert struct.unpack("<i", data[12:16])[0] == 2013 and b"hello" in data
        conn.sendall(struct.pack("<iiii", 21, 2, 1, 2013) + b"\x00" * 5)

    with server(mongo) as sock:
        assert handshakes.mongo_hello(sock, {})[0]

    def amqp(conn: socket.socket) -> None:
        assert conn.recv(8) == b"AMQP\x00\x00\x09\x01"
        conn.sendall(b"\x01\x00\x00\x00\x00\x01\x00\x00\x0a\x00\x0a" + b"\x00" * 8)

    with server(amqp) as sock:
        assert handshakes.amqp_header(sock, {}) == (True, "connection.start")

    def memcached(conn: socket.socket) -> None:
        assert conn.recv(64) == b"version\r\n"
        conn.sendall(b"VERSION 1.6.18\r\n")

    with server(memcached) as sock:
        assert handshakes.memcached_version(sock, {}) == (True, "VERSION 1.6.18")

    def http(conn: socket.socket) -> None:
        assert conn.recv(1024).startswith(b"GET / HTTP/1.0")
        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\n\r\n")

    with server(http) as sock:
        assert handshakes.http_get(sock, {}) == (True, "HTTP/1.1 401 Unauthorized")


def test_probe_host_against_a_real_listener() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    c = parse_state(_container(Image="nginx", Cmd=["nginx"], ExposedPorts={f"{port}/tcp": {}}))
    c = type(c)(**{**c.__dict__, "addresses": ("127.0.0.1",)})
    p = readiness.plan(c)
    assert p.label == f"tcp {port}"
    assert readiness.probe_host(c, p).ready
    listener.close()
    out = readiness.probe_host(c, p)
    assert not out.ready and "refused" in out.detail and not out.unreachable
