"""Reading BuildKit's plain progress (what `docker compose build` prints) as build state.

Lines look like `#7 [app stage-0  3/11] RUN pip install ...` (a step starts), `#7 3.631 text`
(its output), `#7 CACHED`, `#7 DONE 5.2s` and `#7 ERROR: ...`; `#N` numbers are shared by
every service of one compose build, the `[service ...]` tag tells whose step it is.
Pure: fed lines, it answers what is being built, how far it is and what failed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_VERTEX = re.compile(r"^#(?P<id>\d+) (?P<rest>.*)$")
_HEADER = re.compile(r"^\[(?P<service>[^\s\]]+)(?: (?P<stage>[^\]]*?))?\] (?P<name>.*)$")
_STEP = re.compile(r"(?P<n>\d+)/(?P<m>\d+)$")
_DONE = re.compile(r"^DONE (?P<seconds>[\d.]+)s$")
_OUTPUT = re.compile(r"^(?P<at>\d+\.\d+) (?P<text>.*)$")
_BUILT = re.compile(r"^\s*(?:Service |Image )?(?P<service>[\w.-]+)\s+Built\s*$")
_FLAGS = re.compile(r"^(?:--\S+\s+)+")  # RUN --mount=... flags say nothing about the step


@dataclass
class Vertex:
    """One BuildKit vertex: a Dockerfile step or an internal action (load, export)."""

    id: int
    service: str | None
    name: str
    step: tuple[int, int] | None  # (n, m) for a Dockerfile step
    started: float
    cached: bool = False
    done: bool = False
    seconds: float | None = None
    error: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        """`RUN python3 -m venv /opt/venv && ...` without flags, on one line."""
        text = " ".join(self.name.split())
        instruction, _, rest = text.partition(" ")
        if instruction.isupper():
            text = f"{instruction} {_FLAGS.sub('', rest)}".strip()
        return text


@dataclass
class ServiceBuild:
    """One service's image being built."""

    service: str
    started: float
    steps: dict[int, Vertex] = field(default_factory=dict)  # by step number n
    total: int = 0  # m of `n/m`
    finished: float | None = None
    failed: Vertex | None = None

    @property
    def cached(self) -> int:
        return sum(1 for v in self.steps.values() if v.cached)

    @property
    def current(self) -> Vertex | None:
        """The step running now, else the last one that ran (None before the first)."""
        running = [v for v in self.steps.values() if not v.done]
        started = running or list(self.steps.values())
        return max(started, key=lambda v: (v.started, v.id)) if started else None

    @property
    def exporting(self) -> bool:
        """Every step done: the image is being written."""
        return (
            bool(self.total)
            and len(self.steps) == self.total
            and self.current is not None
            and self.current.done
        )

    def seconds(self, now: float) -> float:
        return (self.finished or now) - self.started

    def summary(self) -> str:
        """`app built in 24.1 s, 3 of 11 steps cached`."""
        took = self.seconds(self.finished or self.started)
        return f"{self.service} built in {took:.1f} s, {self.cached} of {self.total} steps cached"


class BuildLog:
    """Build state from BuildKit plain-progress lines, fed one at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.vertices: dict[int, Vertex] = {}
        self.services: dict[str, ServiceBuild] = {}
        self.trailer: list[str] = []  # compose's closing summary of a failure (after `------`)

    def feed(self, line: str) -> bool:
        """Take one line; True when it belonged to the build (so it need not be shown)."""
        now = self.clock()
        text = line.rstrip()
        m = _VERTEX.match(text)
        if m:
            self._vertex(int(m["id"]), m["rest"], now)
            return True
        built = _BUILT.match(text)
        if built and built["service"] in self.services:
            self._finish(self.services[built["service"]], now)
            return True
        if not text.strip():
            return True
        if self.failed or self.trailer:
            self.trailer.append(text)
            return True
        return False

    @property
    def failed(self) -> list[Vertex]:
        return [b.failed for b in self.services.values() if b.failed]

    def _vertex(self, vid: int, rest: str, now: float) -> None:
        v = self.vertices.get(vid)
        header = _HEADER.match(rest)
        if v is None:
            if not header:
                return  # `#0 building with "default" instance ...`
            service = header["service"]
            step_m = _STEP.search(header["stage"] or "")
            step = (int(step_m["n"]), int(step_m["m"])) if step_m else None
            v = Vertex(vid, service, header["name"], step, now)
            self.vertices[vid] = v
            build = self.services.get(service)
            if build is None:
                build = self.services[service] = ServiceBuild(service, now)
            if step:
                build.steps[step[0]] = v
                build.total = max(build.total, step[1])
            return
        done = _DONE.match(rest)
        if rest == "CACHED":
            v.cached = v.done = True
        elif done:
            v.done, v.seconds = True, float(done["seconds"])
            if v.service and not v.step and v.name.startswith("exporting"):
                self._finish(self.services[v.service], now)
        elif rest.startswith("ERROR"):
            v.done, v.error = True, rest.removeprefix("ERROR").lstrip(": ")
            build = self.services.get(v.service or "")
            if build is not None and build.failed is None:
                build.failed = v
                build.finished = now
        elif header and header["name"] == v.name:
            pass  # the same step announced again, as BuildKit does when output resumes
        else:
            out = _OUTPUT.match(rest)
            v.log.append(out["text"] if out else rest)

    def _finish(self, build: ServiceBuild, now: float) -> None:
        if build.finished is None:
            build.finished = now
