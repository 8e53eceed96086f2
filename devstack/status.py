"""The project's containers as `ps` and `up` show them: a row per service (state, health,
URL, uptime, how it was judged ready), services not created included."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.engine import ContainerState
    from devstack.stack import Stack


@dataclass(frozen=True)
class ServiceReport:
    service: str
    state: str
    health: str
    url: str
    seconds: float | None  # to ready, when this command waited on it
    uptime: float | None = None
    ready_by: str = ""  # how it was judged ready: "healthcheck", "probe: redis PING", ...
    engine: str = ""  # a remote engine's address ("" for one that sees the project directory)
    sync: str = ""  # the app's code sync on a remote engine: state and last event
    exit_code: int | None = None  # a container that exited ("completed" when 0)


def url_of(c: ContainerState, app: bool) -> str:
    published = [p for p in c.ports if p.host_port]
    if not published:
        return ""
    p = published[0]
    host = "127.0.0.1" if p.host_ip in ("", "0.0.0.0") else p.host_ip
    return f"http://{host}:{p.host_port}" if app else f"{host}:{p.host_port}"


def report(
    stack: Stack, seconds: dict[str, float], judged: dict[str, str] | None = None
) -> tuple[ServiceReport, ...]:
    """The project's containers as rows (see `rows`)."""
    delivered = stack.delivery.state(stack)
    return rows(
        stack.containers(),
        app=stack.project.app,
        oneshots=stack.project.oneshots,
        engine=delivered.engine,
        sync=delivered.sync,
        seconds=seconds,
        judged=judged,
    )


def rows(
    containers: Iterable[ContainerState],
    *,
    app: str,
    oneshots: Collection[str],
    engine: str = "",
    sync: str = "",
    seconds: Mapping[str, float] | None = None,
    judged: Mapping[str, str] | None = None,
) -> tuple[ServiceReport, ...]:
    """Containers as rows; a service that passed our own run of its health check is shown
    healthy even while the engine's next scheduled check is pending, and one without a
    health check shows how it was judged ready. `engine` and `sync`: the delivery's state."""
    now = time.time()
    seconds = seconds or {}
    judged = judged or {}
    out = []
    for c in sorted(containers, key=lambda c: c.service):
        uptime = now - c.started_at.timestamp() if c.started_at and c.state == "running" else None
        how = judged.get(c.service, "")
        if c.finished:
            health = f"exit {c.exit_code}"  # its health check no longer says anything
        elif c.service in seconds and c.health == "starting":
            health = "healthy"
        elif not c.health and how and how != "healthcheck":
            health = how
        else:
            health = c.health or ""
        out.append(
            ServiceReport(
                service=c.service,
                state=c.shown_state(one_shot=c.service in oneshots),
                health=health,
                exit_code=c.exit_code if c.finished else None,
                url=url_of(c, c.service == app),
                seconds=seconds.get(c.service),
                uptime=uptime,
                ready_by=how,
                engine=engine,
                sync=sync if c.service == app else "",
            )
        )
    return tuple(out)


def ps(stack: Stack) -> tuple[ServiceReport, ...]:
    """Every service's state, health, ports and uptime; services not created show as such."""
    replicas = {name: s.replicas for name, s in stack.project.services.items()}
    return with_missing(report(stack, {}), replicas, engine=stack.delivery.state(stack).engine)


def with_missing(
    found: tuple[ServiceReport, ...], replicas: Mapping[str, int], *, engine: str = ""
) -> tuple[ServiceReport, ...]:
    """`found`, then a "not created" row for each service with none (scale 0: never created)."""
    seen = {r.service for r in found}
    missing = [
        ServiceReport(
            service=s, state="not created", health="", url="", seconds=None, engine=engine
        )
        for s in sorted(replicas)
        if s not in seen and replicas[s]
    ]
    return found + tuple(missing)
