"""Protocol handshakes that prove a service answers: a few bytes out, a few bytes back.

Each function takes a connected socket and what it may need (a user, a password) and
returns (ready, what it saw). None of them logs in for real or changes anything; a reply
that refuses us (bad password, unknown user) still proves the server speaks its protocol,
except where the reply says it is still starting.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping

Result = tuple[bool, str]


def _recv(sock: socket.socket, size: int = 4096) -> bytes:
    try:
        return sock.recv(size)
    except (TimeoutError, OSError):
        return b""


def _resp(*args: str) -> bytes:
    """A Redis (RESP) command."""
    out = f"*{len(args)}\r\n"
    for arg in args:
        out += f"${len(arg.encode())}\r\n{arg}\r\n"
    return out.encode()


def redis_ping(sock: socket.socket, env: Mapping[str, str]) -> Result:
    """AUTH (when a password is known) then PING: +PONG is ready, -LOADING is not."""
    password = env.get("password", "")
    if password:
        sock.sendall(_resp("AUTH", password))
        auth = _recv(sock)
        if not auth:
            return False, "no reply to AUTH"
        if auth.startswith(b"-LOADING"):
            return False, "loading its data set"
    sock.sendall(_resp("PING"))
    reply = _recv(sock)
    if reply.startswith(b"+PONG"):
        return True, "PONG"
    if reply.startswith((b"-NOAUTH", b"-WRONGPASS")):  # answers, but we have no password
        return True, reply.split(b"\r\n")[0].decode(errors="replace")[:80]
    return False, (reply.split(b"\r\n")[0].decode(errors="replace") or "no reply")[:80]


def postgres_startup(sock: socket.socket, env: Mapping[str, str]) -> Result:
    """A startup message, as pg_isready sends: an authentication request (or any error
    but 'the database system is starting up', SQLSTATE 57P03) means it accepts connections."""
    user = env.get("user") or "postgres"
    database = env.get("database") or user
    body = struct.pack("!i", 196608)  # protocol 3.0
    body += b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    reply = _recv(sock)
    if reply[:1] == b"R":
        return True, "accepts connections"
    if reply[:1] == b"E":
        fields = dict((f[:1], f[1:]) for f in reply[5:].split(b"\0") if f)
        code = fields.get(b"C", b"").decode(errors="replace")
        message = fields.get(b"M", b"").decode(errors="replace")
        if code in ("57P03", "57P01"):  # cannot_connect_now, admin_shutdown
            return False, message or "starting up"
        return True, f"answers ({message[:60]})"
    return False, "no reply" if not reply else f"unexpected reply {reply[:1]!r}"


def mysql_greeting(sock: socket.socket, env: Mapping[str, str]) -> Result:
    """The server speaks first: a protocol-10 greeting (or an error packet, which is an
    answer too: too many connections, host not allowed)."""
    packet = _recv(sock)
    if len(packet) > 4 and packet[4] == 0x0A:
        version = packet[5:].split(b"\0", 1)[0].decode(errors="replace")
        return True, f"greeting {version}"
    if len(packet) > 4 and packet[4] == 0xFF:
        return True, f"answers ({packet[7:80].decode(errors='replace')})"
    return False, "no greeting"


def _bson_hello() -> bytes:
    elements = b"\x10hello\x00" + struct.pack("<i", 1)
    elements += b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    return struct.pack("<i", len(elements) + 5) + elements + b"\x00"


def mongo_hello(sock: socket.socket, env: Mapping[str, str]) -> Result:
    """An OP_MSG `hello` on the admin database; any OP_MSG reply is an answer."""
    payload = struct.pack("<I", 0) + b"\x00" + _bson_hello()
    header = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013)
    sock.sendall(header + payload)
    reply = _recv(sock)
    if len(reply) >= 16 and struct.unpack("<i", reply[12:16])[0] in (2013, 1):
        return True, "hello answered"
    return False, "no reply to hello"


def amqp_header(sock: socket.socket, env: Mapping[str, str]) -> Result:
    """The AMQP 0-9-1 protocol header; the broker answers with connection.start."""
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    reply = _recv(sock)
    if len(reply) >= 11 and reply[0] == 1 and reply[7:11] == b"\x00\x0a\x00\x0a":
        return True, "connection.start"
    return False, "no connection.start"


def memcached_version(sock: socket.socket, env: Mapping[str, str]) -> Result:
    sock.sendall(b"version\r\n")
    reply = _recv(sock)
    if reply.startswith(b"VERSION"):
        return True, reply.split(b"\r\n")[0].decode(errors="replace")
    return False, "no VERSION reply"


def http_get(sock: socket.socket, env: Mapping[str, str]) -> Result:
    """GET / over HTTP, then over TLS when the port speaks TLS (Elasticsearch 8 with its
    security on); any HTTP status, 401 included, is an answer."""
    request = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
    if env.get("tls"):
        import ssl  # here: importing it costs every command ~20 ms, and few probes use TLS

        # A readiness probe of a container on this machine's own engine network, whose
        # certificate is self-signed: it proves the port speaks HTTPS, it trusts nothing.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            sock = context.wrap_socket(sock)
        except (ssl.SSLError, OSError) as exc:
            return False, f"TLS: {exc}"[:80]
    sock.sendall(request)
    reply = _recv(sock)
    if reply.startswith(b"HTTP/"):
        return True, reply.split(b"\r\n")[0].decode(errors="replace")
    return False, "no HTTP reply" if not reply else "not HTTP"


def tcp_accept(sock: socket.socket, env: Mapping[str, str]) -> Result:
    return True, "accepts connections"
