"""WAIT_FOR: wait until dependencies answer (host:port accepts, or an http(s) URL answers with a
status below 500), with a short backoff and a timeout that names what never answered."""

from __future__ import annotations

import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Env = Mapping[str, str]


class RuntimeFailure(Exception):
    """A start that cannot go on; the message is printed and the process exits non-zero."""


@dataclass(frozen=True)
class Target:
    text: str
    host: str = ""
    port: int = 0
    url: str = ""


def parse_targets(text: str) -> list[Target]:
    """WAIT_FOR: comma-separated host:port or http(s):// URLs."""
    targets = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.startswith(("http://", "https://")):
            targets.append(Target(item, url=item))
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RuntimeFailure(f"WAIT_FOR: {item!r} is neither host:port nor an http(s) URL")
        targets.append(Target(item, host=host.strip("[]"), port=int(port)))
    return targets


def describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def probe(target: Target, timeout: float) -> str | None:
    """None when the target answers, else what it last got."""
    try:
        if target.url:
            try:
                with urllib.request.urlopen(target.url, timeout=timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            return None if status < 500 else f"HTTP {status}"
        with socket.create_connection((target.host, target.port), timeout=timeout):
            return None
    except (OSError, ValueError) as exc:
        return describe(exc)


def wait_for(
    targets: Sequence[Target],
    timeout: float,
    *,
    check: Callable[[Target, float], str | None] = probe,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll every target with a short backoff until all answer; RuntimeFailure at timeout."""
    deadline = clock() + timeout
    pending = {t: "not tried" for t in targets}
    delay = 0.05
    while pending:
        for target in list(pending):
            left = deadline - clock()
            result = check(target, max(min(left, 2.0), 0.1))
            if result is None:
                del pending[target]
            else:
                pending[target] = result
        if not pending:
            return
        left = deadline - clock()
        if left <= 0:
            lines = "".join(f"\n  {t.text}: {why}" for t, why in pending.items())
            raise RuntimeFailure(f"WAIT_FOR: gave up after {timeout:g}s; never answered:{lines}")
        sleep(min(delay, left))
        delay = min(delay * 2, 1.0)


def wait(env: Env) -> None:
    targets = parse_targets(env.get("WAIT_FOR", ""))
    if targets:
        timeout = float(env.get("WAIT_TIMEOUT") or "60")
        print(f"devstack: waiting for {', '.join(t.text for t in targets)}", file=sys.stderr)
        wait_for(targets, timeout)
