"""A build's progress as plain lines, for output that is not a terminal: the build log
itself is shown only with -v, yet a long build never goes silent. One line per finished
step (`backend: step 4/9 done in 21.3 s: RUN uv sync ...`), a line for a step still running
at most every 10 s, and the summary when the image is built."""

from __future__ import annotations

import time
from collections.abc import Callable

from devstack.cli.buildlog import BuildLog, Vertex

QUIET_MAX = 10.0  # seconds at most between two lines while a step runs


class PlainBuild:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.log: BuildLog | None = None
        self.said: set[int] = set()  # vertices whose end was reported
        self.finished: set[str] = set()
        self.last = clock()

    def feed(self, line: str) -> list[str]:
        """The lines to print for `line` (none for engine chatter and step output)."""
        if self.log is None:
            if not line.startswith("#"):
                return []
            self.log = BuildLog(self.clock)
            self.last = self.clock()
        self.log.feed(line)
        out: list[str] = []
        for build in self.log.services.values():
            for v in sorted(build.steps.values(), key=lambda v: v.id):
                if v.done and v.id not in self.said:
                    self.said.add(v.id)
                    if not v.cached:
                        out.append(f"{build.service}: {_step(v, build.total)} {_ended(v)}")
            if build.finished and build.service not in self.finished and not build.failed:
                self.finished.add(build.service)
                out.append(build.summary())
        if out:
            self.last = self.clock()
        return out + self.tick()

    def tick(self) -> list[str]:
        """A line for each step still running when nothing was said for QUIET_MAX seconds
        (called on every line, and by a timer while the build is silent)."""
        now = self.clock()
        if self.log is None or now - self.last < QUIET_MAX:
            return []
        out = []
        for b in self.log.services.values():
            v = b.current
            if v is not None and not v.done and not b.finished:
                out.append(f"{b.service}: {_step(v, b.total)} running for {now - v.started:.0f} s")
        if out:
            self.last = now
        return out

    @property
    def running(self) -> bool:
        return self.log is not None and any(not b.finished for b in self.log.services.values())


def _step(v: Vertex, total: int) -> str:
    n = f"step {v.step[0]}/{total}" if v.step else "step"
    name = v.short_name
    return f"{n} ({name[:60] + '...' if len(name) > 63 else name})"


def _ended(v: Vertex) -> str:
    if v.error is not None:
        return f"failed: {v.error}"
    return f"done in {v.seconds:.1f} s" if v.seconds is not None else "done"
