"""Logs of the stack's services, merged in time order (compose interleaves by arrival)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.stack import Stack

# "app-1  | 2024-05-01T10:00:00.123456789Z message"
_LINE = re.compile(r"^(?P<prefix>\S+?)(?:-\d+)?\s+\| (?P<ts>\d{4}-\d\d-\d\dT\S+) ?(?P<text>.*)$")


@dataclass(frozen=True)
class LogLine:
    service: str
    timestamp: str  # RFC 3339 with nanoseconds, as the engine gives it; sorts as text
    text: str


def parse(raw: str) -> LogLine | None:
    m = _LINE.match(raw)
    if not m:
        return None
    return LogLine(service=m["prefix"], timestamp=m["ts"], text=m["text"])


def _parsed(lines: Iterable[str]) -> Iterator[LogLine]:
    for raw in lines:
        line = parse(raw)
        if line is not None:
            yield line


_STAMPED = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\S+) ?(?P<text>.*)$")


def read(
    stack: Stack, services: Sequence[str] = (), *, tail: int | None = None, since: str | None = None
) -> list[LogLine]:
    """The services' logs so far, sorted by time (stable for equal timestamps)."""
    stack.project.require(services)
    found = stack.engine.container_logs(stack.name, services, tail=tail, since=since)
    if found is None:  # many containers: compose reads them all in one process
        lines = list(_parsed(stack.engine.logs(services, tail=tail, since=since, follow=False)))
        return sorted(lines, key=lambda line: _sort_key(line.timestamp))
    return merged(found)


def merged(found: Iterable[tuple[str, str]]) -> list[LogLine]:
    """(service, "TIMESTAMP text") lines of several containers, sorted by time (stable for
    equal timestamps)."""
    lines = []
    for service, raw in found:
        m = _STAMPED.match(raw)
        if m:
            lines.append(LogLine(service=service, timestamp=m["ts"], text=m["text"]))
    return sorted(lines, key=lambda line: _sort_key(line.timestamp))


def follow(
    stack: Stack,
    services: Sequence[str] = (),
    *,
    tail: int | None = None,
    since: str | None = None,
    pause: float = 0.5,
) -> Iterator[LogLine]:
    """The existing lines in time order, then new ones as they come, until interrupted.

    compose's own follow ends when the containers stop, so a restart would end it: it is
    started again from the last line shown, dropping lines already shown.
    """
    stack.project.require(services)
    seen = read(stack, services, tail=tail, since=since)
    yield from seen
    last = seen[-1].timestamp if seen else None
    shown = {line for line in seen if line.timestamp == last}
    while True:
        for line in _parsed(
            stack.engine.logs(services, tail=None if last else 0, since=last, follow=True)
        ):
            if last and (_sort_key(line.timestamp) < _sort_key(last) or line in shown):
                continue
            if line.timestamp != last:
                shown = set()
            last = line.timestamp
            shown.add(line)
            yield line
        time.sleep(pause)


def _sort_key(ts: str) -> str:
    # Pad the fraction so that "…:01.5Z" and "…:01.123456789Z" compare as times.
    head, _, frac = ts.rstrip("Z").partition(".")
    return f"{head}.{frac.ljust(9, '0')}"
