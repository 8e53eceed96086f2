"""Stopwatches, HTTP polling and the statistics every table reports."""

from __future__ import annotations

import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stats:
    """Seconds (or any unit) of repeated runs."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def p95(self) -> float:
        if len(self.values) < 2:
            return self.values[0]
        return statistics.quantiles(self.values, n=20, method="inclusive")[18]

    @property
    def n(self) -> int:
        return len(self.values)


def stats(values: Sequence[float]) -> Stats:
    if not values:
        raise ValueError("no values to summarise")
    return Stats(tuple(values))


def ratio(a: Stats, b: Stats) -> float:
    """a's median over b's median."""
    return a.median / b.median if b.median else float("inf")


def timed(action: Callable[[], object]) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


def fetch(url: str, timeout: float = 1.0) -> tuple[int, str]:
    """(status, body); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), ""
    except (OSError, ValueError):
        return 0, ""


class Timeout(Exception):
    """A poll that did not see what it waited for; says what it saw last."""


def poll(
    url: str,
    done: Callable[[int, str], bool],
    *,
    timeout: float,
    every: float = 0.01,
    start: float | None = None,
) -> float:
    """Poll `url` until done(status, body); seconds since `start` (default: now)."""
    begin = time.monotonic() if start is None else start
    last: tuple[int, str] = (0, "")
    while True:
        last = fetch(url, timeout=1.0)
        now = time.monotonic()
        if done(*last):
            return now - begin
        if now - begin > timeout:
            raise Timeout(f"{url}: not ready after {timeout:.0f}s; last status {last[0]}")
        time.sleep(every)


def ok(status: int, body: str) -> bool:
    return status == 200
