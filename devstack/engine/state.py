"""What the engine reports about a container, parsed from `docker container inspect` (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Port:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class ContainerState:
    id: str
    name: str
    service: str
    state: str  # created, running, restarting, exited, dead, paused
    health: str | None  # None when the container has no health check
    exit_code: int
    started_at: datetime | None
    ports: tuple[Port, ...]
    health_test: tuple[str, ...]
    health_timeout: float
    health_output: str
    restart_count: int
    oneoff: bool
    working_dir: str = ""  # the compose project directory it was made from
    image: str = ""
    command: tuple[str, ...] = ()  # entrypoint + command
    addresses: tuple[str, ...] = ()  # its IP addresses on its networks
    exposed: tuple[int, ...] = ()  # TCP ports the image or compose exposes
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold secrets

    @property
    def finished(self) -> bool:
        return self.state in ("exited", "dead")

    def shown_state(self, *, one_shot: bool) -> str:
        """The state as devstack shows it: a one-shot service's container that exited 0
        "completed" (never unhealthy), any other finished one "exited (CODE)"."""
        if not self.finished:
            return self.state
        return "completed" if one_shot and self.exit_code == 0 else f"exited ({self.exit_code})"


def parse_time(value: Any) -> datetime | None:
    """The engine's RFC 3339 time (nanoseconds trimmed); None for its zero time."""
    if not isinstance(value, str) or value.startswith("0001"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    frac = frac.split("+")[0].split("-")[0]
    try:
        return datetime.fromisoformat(f"{head}.{frac[:6].ljust(6, '0')}+00:00")
    except ValueError:
        return None


def parse_state(c: dict[str, Any]) -> ContainerState:
    config = c.get("Config") or {}
    state = c.get("State") or {}
    labels = config.get("Labels") or {}
    hc = config.get("Healthcheck") or {}
    test = tuple(hc.get("Test") or ())
    health = state.get("Health") or {}
    log = health.get("Log") or []
    ports: list[Port] = []
    for key, bindings in ((c.get("NetworkSettings") or {}).get("Ports") or {}).items():
        target, _, proto = key.partition("/")
        for b in bindings or []:
            ports.append(Port(b.get("HostIp", ""), int(b.get("HostPort") or 0), int(target), proto))
    return ContainerState(
        id=c["Id"],
        name=c.get("Name", "").lstrip("/"),
        service=labels.get("com.docker.compose.service", c.get("Name", "")),
        state=state.get("Status", "unknown"),
        health=health.get("Status") or None,
        exit_code=int(state.get("ExitCode") or 0),
        started_at=parse_time(state.get("StartedAt")),
        ports=tuple(sorted(ports, key=lambda p: (p.container_port, p.host_ip))),
        health_test=test if test and test[0] != "NONE" else (),
        health_timeout=(hc.get("Timeout") or 30e9) / 1e9,
        health_output=(log[-1].get("Output") or "").strip() if log else "",
        restart_count=int(c.get("RestartCount") or 0),
        oneoff=labels.get("com.docker.compose.oneoff") == "True",
        working_dir=labels.get("com.docker.compose.project.working_dir", ""),
        image=str(config.get("Image") or ""),
        command=tuple(str(a) for a in (config.get("Entrypoint") or []) + (config.get("Cmd") or [])),
        addresses=tuple(
            n["IPAddress"]
            for n in ((c.get("NetworkSettings") or {}).get("Networks") or {}).values()
            if n and n.get("IPAddress")
        ),
        exposed=_exposed(config.get("ExposedPorts") or {}),
        env=_env(config.get("Env") or []),
    )


def _env(items: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, _, v in (e.partition("=") for e in items if "=" in e))


def _exposed(ports: dict[str, Any]) -> tuple[int, ...]:
    """TCP ports from `ExposedPorts` ("6379/tcp"; compose's `expose:` gives a bare "8000")."""
    found = set()
    for key in ports:
        number, _, proto = str(key).partition("/")
        if number.isdigit() and proto in ("", "tcp"):
            found.add(int(number))
    return tuple(sorted(found))
