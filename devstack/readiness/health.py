"""Waiting on services: health checks probed actively, failures reported at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from devstack.engine import ContainerState, EngineClient
from devstack.errors import ServiceUnhealthy
from devstack.readiness import probes as readiness

EVERY = PROBE_EVERY = 0.3  # seconds between our own runs of a service's health check
CRASH_CHECK_EVERY = 2.0  # seconds between looks at the log of a service failing its check
CRASH_MARKERS = ("Traceback (most recent call last):", "Error loading ASGI app")


@dataclass(frozen=True)
class Status:
    service: str
    state: str  # "waiting", "starting", "healthy", "running", "failed"
    detail: str
    seconds: float


Progress = Callable[[Sequence[Status]], None]


def wait_ready(
    engine: EngineClient,
    project: str,
    services: Sequence[str],
    *,
    timeout: float,
    on_progress: Progress | None = None,
    poll: float = 0.2,
    probe_from: str = "container",
    judged: dict[str, str] | None = None,
    oneshots: Collection[str] = (),
    replicas: Mapping[str, int] | None = None,
    checked: Collection[str] = (),
) -> dict[str, float]:
    """Block until every service is ready: healthy when it has a health check, else
    answering its readiness probe (readiness.py: a protocol handshake for well-known
    images, its exposed TCP ports for others, its running state when it exposes none).
    A one-shot service (`oneshots`: another waits on it with service_completed_successfully)
    is ready when it exited 0, as compose has it; a service scaled to N when all N are; one
    another waits on with service_healthy (`checked`) fails without a health check.

    Fails as soon as a service exits (a one-shot: with a code other than 0), restarts or
    turns unhealthy, and at `timeout`. Between the engine's own scheduled checks the check
    command is run now, so readiness is not paced by the health check's interval. Returns
    seconds to ready per service; `judged` receives how each was judged ready
    ("healthcheck", "probe: redis PING", "completed", ...). `probe_from`: "host" (a
    handshake from here) or "container" (the image's client, run in it), as the stack's
    delivery chose (devstack.delivery).
    """
    start = time.monotonic()
    ready: dict[str, float] = {}  # per service
    done: dict[str, float] = {}  # per container id
    probed_at: dict[str, float] = {}
    last: dict[str, ContainerState] = {}
    restarts: dict[str, int] = {}
    crash_checked: dict[str, float] = {}
    judged = {} if judged is None else judged
    replicas = replicas or {}
    probes = _Probes(engine, probe_from)
    while True:
        now = time.monotonic() - start
        by_service: dict[str, list[ContainerState]] = {}
        for c in engine.containers(project):
            if c.service in services:
                by_service.setdefault(c.service, []).append(c)
        statuses = []
        for name in services:
            found = by_service.get(name, [])
            if name in ready:
                statuses.append(Status(name, "healthy", judged.get(name, "healthy"), ready[name]))
                continue
            if not found:
                statuses.append(Status(name, "waiting", "not created yet", now))
                continue
            how, seen = "", ""
            for c in found:
                last[name] = c
                if c.id in done:
                    continue
                restarts.setdefault(c.id, c.restart_count)
                if name in oneshots:
                    how = "completed"
                    if _finished(engine, c):
                        done[c.id] = time.monotonic() - start
                    continue
                _fail_if_broken(engine, c, restarts[c.id])
                if name in checked and not c.health_test:
                    raise ServiceUnhealthy(
                        f"{name} has no health check, and another service waits on it with "
                        "service_healthy",
                        hint=f"add a healthcheck to {name}, or wait on it with "
                        "condition: service_started",
                    )
                how = "healthcheck" if c.health_test else probes.label(c)
                if c.state == "running" and c.health == "healthy":
                    done[c.id] = now
                elif c.state == "running" and how == "running":  # judged by the next look
                    if probes.still_running(c):
                        done[c.id] = now
                elif c.state == "running" and time.monotonic() - probed_at.get(c.id, 0) >= EVERY:
                    probed_at[c.id] = time.monotonic()
                    if c.health_test:
                        ok, _ = engine.probe(c.id, c.health_test, min(c.health_timeout, 5.0))
                    else:
                        ok = probes.run(c)
                    if ok:
                        done[c.id] = time.monotonic() - start
                    elif time.monotonic() - crash_checked.get(c.id, start) >= CRASH_CHECK_EVERY:
                        crash_checked[c.id] = time.monotonic()
                        _fail_if_crashed(engine, c)
                seen = seen or (f"{c.health or c.state} ({probes.last[name]})"
                                if probes.last.get(name) else c.health or c.state)  # fmt: skip
            finished = [done[c.id] for c in found if c.id in done]
            if len(finished) == len(found) >= replicas.get(name, 1):
                ready[name] = max(finished)
                judged[name] = how or judged.get(name, "healthy")
                statuses.append(Status(name, "healthy", judged[name], ready[name]))
            elif name in oneshots:
                statuses.append(Status(name, "starting", "running until it exits", now))
            else:
                statuses.append(Status(name, "starting", seen or "starting", now))
        if on_progress:
            on_progress(statuses)
        if len(ready) == len(services):
            return ready
        if now > timeout:
            _timeout(engine, [s for s in services if s not in ready], last, timeout, probes)
        time.sleep(poll)


def _finished(engine: EngineClient, c: ContainerState) -> bool:
    """A one-shot container: True once it exited 0; fails when it exited with another code."""
    if c.state not in ("exited", "dead"):
        return False
    if c.exit_code == 0:
        return True
    raise ServiceUnhealthy(
        f"{c.service} exited with code {c.exit_code}",
        hint=f"{c.service} must exit 0 (another service waits on it with "
        f"service_completed_successfully); see `devstack logs {c.service}`",
        details=_evidence(engine, c),
    )


class _Probes:
    """Readiness probes of services without a health check, planned once per container."""

    def __init__(self, engine: EngineClient, mode: str) -> None:
        self.engine = engine
        self.mode = mode
        self.plans: dict[str, readiness.Plan] = {}
        self.modes: dict[str, str] = {}
        self.last: dict[str, str] = {}  # what the last probe saw, per service
        self.seen_running: dict[str, float] = {}  # first seen running, per container

    def _plan(self, c: ContainerState) -> readiness.Plan:
        if c.id not in self.plans:
            self.plans[c.id] = readiness.plan(c)
        return self.plans[c.id]

    def label(self, c: ContainerState) -> str:
        return self._plan(c).label

    def still_running(self, c: ContainerState) -> bool:
        """Running at this look and at the one before: not a command that ends at once."""
        if c.id in self.seen_running:
            return True
        self.seen_running[c.id] = time.monotonic()
        return False

    def run(self, c: ContainerState) -> bool:
        p = self._plan(c)
        if p.label == "running":
            return self.still_running(c)
        mode = self.modes.setdefault(c.id, self.mode)
        if mode == "host":
            outcome = readiness.probe_host(c, p)
        else:
            outcome = readiness.probe_container(self.engine, c, p)
        if outcome.unreachable and mode == "host":
            self.modes[c.id] = "container"  # this host cannot reach the engine's network
        if outcome.no_client:  # nothing in the image to probe with: its running state
            self.plans[c.id] = readiness.Plan("running", None, ())
            return True
        self.last[c.service] = outcome.detail
        return outcome.ready


def _fail_if_broken(engine: EngineClient, c: ContainerState, restarts_at_start: int) -> None:
    if c.state in ("exited", "dead"):
        why = f"{c.service} exited with code {c.exit_code} while starting"
    elif c.state == "restarting" or c.restart_count > restarts_at_start:
        why = f"{c.service} keeps restarting (last exit code {c.exit_code})"
    elif c.health == "unhealthy":
        why = f"{c.service} turned unhealthy"
    else:
        return
    raise ServiceUnhealthy(why, hint=_hint(c.service), details=_evidence(engine, c))


def _fail_if_crashed(engine: EngineClient, c: ContainerState) -> None:
    """A server that crashed on import may keep its container running (a reloader waits
    for the next edit): fail now, with its traceback, rather than at the timeout."""
    tail = engine.logs_tail(c.id, 200)
    if any(marker in tail for marker in CRASH_MARKERS):
        start = tail.rfind(CRASH_MARKERS[0])
        crash = tail[start:] if start >= 0 else tail
        raise ServiceUnhealthy(
            f"{c.service} crashed while starting",
            hint=f"fix the error above; `devstack logs {c.service}` shows the whole log",
            details="\n".join(crash.rstrip().splitlines()[-80:]),
        )


def _timeout(
    engine: EngineClient,
    pending: list[str],
    last: dict[str, ContainerState],
    timeout: float,
    probes: _Probes,
) -> None:
    parts = []
    for name in pending:
        c = last.get(name)
        seen = f"last {probes.label(c)}: {probes.last[name]}\n" if c and name in probes.last else ""
        parts.append(
            seen + _evidence(engine, c) if c else f"{name}: its container was never created"
        )
    raise ServiceUnhealthy(
        f"{', '.join(pending)} did not become healthy within {timeout:g}s",
        hint=_hint(pending[0]) + "; raise the limit with --wait-timeout",
        details="\n".join(parts),
    )


def _hint(service: str) -> str:
    return f"see `devstack logs {service}` and fix the service or its health check"


def _evidence(engine: EngineClient, c: ContainerState, log_lines: int = 20) -> str:
    out = [f"--- {c.service}: state {c.state}, health {c.health or 'none'}"]
    if c.health_output:
        out.append(f"last health check: {c.health_output}")
    tail = engine.logs_tail(c.id, log_lines).rstrip()
    out.append(f"last {log_lines} log lines:" if tail else "no log output")
    if tail:
        out.append(tail)
    return "\n".join(out)
