"""The image's health check: GET HEALTH_PATH where the server actually listens.

The port comes from the listening sockets of the container (/proc/net/tcp, tcp6), so a custom
gunicorn_conf.py binding another port, BIND, or HOST/PORT of /start-reload.sh are all followed;
the configured address is preferred when it listens. Requests are marked as health probes: they
come from MARK_ADDRESS (a loopback address of their own) with a User-Agent of their own, and the
access-log filter (devstack_accesslog) leaves them out of the server's access log.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

from devstack_accesslog import MARK_ADDRESS
from devstack_wait import describe

Env = Mapping[str, str]
USER_AGENT = "devstack-health"
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column
DOCKER_DNS = "127.0.0.11"  # the engine's embedded DNS listens in every user network
ANY = ("0.0.0.0", "::", "")


def _address(hex_addr: str) -> str:
    """An address of /proc/net/tcp{,6}: little-endian 32-bit words in hex."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
    text = socket.inet_ntop(family, words)
    return text.removeprefix("::ffff:") if text.startswith("::ffff:") and "." in text else text


def listeners(proc_net: Path = Path("/proc/net")) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket in this network namespace."""
    found: set[tuple[str, int]] = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = (proc_net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != LISTEN:
                continue
            addr, _, port = fields[1].partition(":")
            found.add((_address(addr), int(port, 16)))
    return sorted(found, key=lambda a: (a[1], a[0]))


def configured(env: Env) -> list[tuple[str, int]]:
    """Where the server was told to listen: BIND's addresses (/start.sh), then HOST/PORT."""
    wanted = []
    for item in (env.get("BIND") or "").split(","):
        host, sep, port = item.strip().rpartition(":")
        if sep and port.isdigit():
            wanted.append((host.strip("[]"), int(port)))
    port = env.get("PORT") or "80"
    if port.isdigit():
        wanted.append((env.get("HOST") or "0.0.0.0", int(port)))
    return wanted


def targets(env: Env, listening: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The addresses to probe: the configured ones that listen, else every listener (a custom
    gunicorn_conf.py's bind), else the first configured one (to report why it failed)."""
    listening = [a for a in listening if a[0] != DOCKER_DNS]
    wanted = configured(env) or [("0.0.0.0", 80)]
    ports = [p for _, p in wanted]
    chosen = sorted(
        (a for a in listening if a[1] in ports), key=lambda a: (ports.index(a[1]), a[0])
    )
    result = [(_connect_host(h), p) for h, p in chosen or listening or wanted[:1]]
    return list(dict.fromkeys(result))


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ANY else host


def get(host: str, port: int, path: str, timeout: float) -> int:
    """The status of GET path, sent from MARK_ADDRESS when the server is on IPv4."""
    source = None
    if ":" not in host:
        try:
            with socket.socket() as s:
                s.bind((MARK_ADDRESS, 0))
            source = (MARK_ADDRESS, 0)
        except OSError:
            source = None  # no loopback /8 here: an ordinary (logged) request
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=source)
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Connection": "close"})
        return conn.getresponse().status
    finally:
        conn.close()


def url(host: str, port: int, path: str) -> str:
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}{path}"


def health(env: Env, proc_net: Path = Path("/proc/net")) -> tuple[bool, list[str]]:
    """(healthy, what each probe got): healthy when any target answers below 500."""
    path = "/" + (env.get("HEALTH_PATH") or "/").lstrip("/")
    timeout = float(env.get("HEALTH_TIMEOUT") or "1.5")
    report = []
    for host, port in targets(env, listeners(proc_net)):
        try:
            status = get(host, port, path, timeout)
        except (OSError, http.client.HTTPException) as exc:
            report.append(f"{url(host, port, path)}: {describe(exc)}")
            continue
        if status < 500:
            return True, []
        report.append(f"{url(host, port, path)}: HTTP {status}")
    return False, report
