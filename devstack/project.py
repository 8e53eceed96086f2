"""The user's compose project as devstack sees it: services, the app, dependencies, and
the order compose brings them up in (waves, each waited on by its `depends_on` condition)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.config import Settings
from devstack.errors import ConfigError, DevstackError

if TYPE_CHECKING:
    from devstack.engine import EngineClient

# Names that say "the app" when several services build (init's adoption uses the same rule).
APP_NAMES = ("app", "backend", "api", "web")
COMPLETED = "service_completed_successfully"


@dataclass(frozen=True)
class Service:
    name: str
    builds: bool
    depends_on: tuple[str, ...]
    ports: tuple[Mapping[str, Any], ...]
    environment: Mapping[str, str | None] = field(default_factory=dict)
    image: str = ""
    command: tuple[str, ...] = ()  # entrypoint + command, as far as the compose file sets them
    healthcheck: bool | None = None  # set in the compose file; False: disabled; None: not set
    conditions: Mapping[str, str] = field(default_factory=dict)  # depends_on: name -> condition
    replicas: int = 1  # `scale` / `deploy.replicas`; 0: never started, never waited on
    working_dir: str = ""
    dockerfile: str = ""  # the build's Dockerfile, absolute ("" when it builds none)


@dataclass(frozen=True)
class Project:
    name: str
    services: Mapping[str, Service]
    app: str  # "" when the project has none (it still comes up, as compose would)
    app_reason: str = ""  # how the app was found: "configured", "named app", ...
    volumes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # named, not external

    @property
    def oneshots(self) -> frozenset[str]:
        """Services some other service waits on until they exit (service_completed_successfully):
        waited on until they exit 0, never judged by a health check."""
        return frozenset(
            dep
            for s in self.services.values()
            for dep, cond in s.conditions.items()
            if cond == COMPLETED and dep in self.services
        )

    def app_note(self) -> str:
        """What `up` says once when the app was not named: which service it treats as the
        app (reload, migrations), or none, and how to choose."""
        how = 'set app_service = "NAME" in [tool.devstack] (or DEVSTACK_APP_SERVICE)'
        if not self.app:
            return f"app service: none found (no reload, no migrations); {how} to pick one"
        why = f"{self.app_reason}; reload and migrations"
        return f"app service: {self.app} ({why}); {how} to change"

    @property
    def checked(self) -> frozenset[str]:
        """Services another waits on with service_healthy: they need a health check."""
        return frozenset(
            dep
            for s in self.services.values()
            for dep, cond in s.conditions.items()
            if cond == "service_healthy" and dep in self.services
        )

    def require(self, names: Iterable[str]) -> list[str]:
        """`names` checked against the project's services (exit 2 on an unknown one)."""
        names = list(names)
        unknown = [n for n in names if n not in self.services]
        if unknown:
            known = ", ".join(sorted(self.services))
            raise ConfigError(
                f"unknown service {', '.join(unknown)}", hint=f"services in this project: {known}"
            )
        return names

    def require_app(self, what: str) -> str:
        """The app service, or exit 2 for a command (`what`) that needs one."""
        if not self.app:
            raise ConfigError(
                f"{what} needs the app service, and this project has none devstack can tell",
                hint='set app_service = "NAME" in [tool.devstack] (or DEVSTACK_APP_SERVICE)',
            )
        return self.app

    def start_order(self, names: Iterable[str]) -> list[str]:
        """`names` and everything they depend on, dependencies first (scale 0 left out)."""
        order: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in order:
                return
            if name in path:
                raise ConfigError(f"dependency cycle: {' -> '.join((*path, name))}")
            for dep in self.services[name].depends_on:
                if dep in self.services:
                    visit(dep, (*path, name))
            order.append(name)

        for name in self.require(names):
            visit(name, ())
        return [n for n in order if self.services[n].replicas > 0]

    def waves(self, names: Iterable[str]) -> list[list[str]]:
        """The start order in waves: a service starts once everything it depends on is
        ready (healthy, running, or exited 0 for a one-shot); the app is a wave of its own,
        so that devstack's migrations run after its dependencies and before it."""
        order = self.start_order(names)
        level: dict[str, int] = {}
        for name in order:  # dependencies come first in `order`
            deps = [d for d in self.services[name].depends_on if d in level]
            level[name] = 1 + max((level[d] for d in deps), default=-1)
            if name == self.app:
                level[name] = max(level[name], 0)
        out: list[list[str]] = []
        for depth in range(max(level.values(), default=-1) + 1):
            wave = [n for n in order if level[n] == depth]
            if self.app in wave and len(wave) > 1:
                out.append([n for n in wave if n != self.app])
                out.append([self.app])
            elif wave:
                out.append(wave)
        return out


def profiles_enabling(engine: EngineClient, names: Iterable[str]) -> tuple[str, ...]:
    """The profiles of services named on the command line: naming one enables it in compose."""
    try:
        model = engine.config(list(names))
    except DevstackError:  # no such service: `require` says so, with the known ones
        return ()
    found: list[str] = []
    for spec in (model.get("services") or {}).values():
        found += [p for p in spec.get("profiles") or () if p not in found]
    return tuple(found)


def from_config(config: Mapping[str, Any], settings: Settings) -> Project:
    raw = config.get("services") or {}
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            "the compose project defines no services", hint="add services to your compose file"
        )
    services = {name: _service(name, spec, settings.project_dir) for name, spec in raw.items()}
    app, reason = app_service(raw, settings.app_service)
    volumes = {
        key: spec
        for key, spec in (config.get("volumes") or {}).items()
        if isinstance(spec, Mapping) and not spec.get("external")
    }
    return Project(
        name=str(config.get("name", "")),
        services=services,
        app=app,
        app_reason=reason,
        volumes=volumes,
    )


def _service(name: str, spec: Mapping[str, Any], project_dir: Path) -> Service:
    conditions = _conditions(spec.get("depends_on"))
    return Service(
        name=name,
        builds="build" in spec,
        depends_on=tuple(conditions),
        ports=tuple(spec.get("ports") or ()),
        environment=dict(spec.get("environment") or {}),
        image=str(spec.get("image") or ""),
        command=_words(spec.get("entrypoint")) + _words(spec.get("command")),
        healthcheck=_healthcheck(spec.get("healthcheck")),
        conditions=conditions,
        replicas=_replicas(spec),
        working_dir=str(spec.get("working_dir") or ""),
        dockerfile=_dockerfile(spec.get("build"), project_dir),
    )


def app_service(services: Mapping[str, Any], configured: str | None = None) -> tuple[str, str]:
    """The one rule for the app service (reload, migrations), and why: `configured`; else a
    service named `app`; else the first service that builds named backend, api or web;
    else the only service that builds; else none ("": an image-only `web` may be nginx)."""
    if configured:
        if configured not in services:
            known = ", ".join(sorted(services))
            raise ConfigError(
                f"app_service {configured!r} is not a service of the project",
                hint=f"services in this project: {known}",
            )
        return configured, "configured"
    if "app" in services:
        return "app", "named app"
    built = [n for n, spec in services.items() if isinstance(spec, Mapping) and "build" in spec]
    for name in APP_NAMES:
        if name in built:
            return name, f"named {name}"
    if len(built) == 1:
        return built[0], "the only service that builds"
    return "", "none"


def _conditions(value: Any) -> dict[str, str]:
    """depends_on as {service: condition}; the list form means service_started. A
    dependency marked `required: false` that is not in the project is left out by compose."""
    if isinstance(value, list):
        return {str(v): "service_started" for v in value}
    if isinstance(value, Mapping):
        return {
            str(k): str((v or {}).get("condition") or "service_started")
            if isinstance(v, Mapping) or v is None
            else "service_started"
            for k, v in value.items()
        }
    return {}


def _replicas(spec: Mapping[str, Any]) -> int:
    deploy = spec.get("deploy") if isinstance(spec.get("deploy"), Mapping) else {}
    for value in (spec.get("scale"), (deploy or {}).get("replicas")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 1


def _dockerfile(build: Any, project_dir: Path) -> str:
    """The Dockerfile of a service's build in the resolved model ("" when it builds none)."""
    if not isinstance(build, Mapping):
        return ""
    context = Path(str(build.get("context") or project_dir))
    context = context if context.is_absolute() else project_dir / context
    dockerfile = Path(str(build.get("dockerfile") or "Dockerfile"))
    return str((dockerfile if dockerfile.is_absolute() else context / dockerfile).resolve())


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _healthcheck(spec: Any) -> bool | None:
    if not isinstance(spec, Mapping):
        return None
    test = spec.get("test") or []
    if spec.get("disable") or (test and test[0] == "NONE"):
        return False
    return bool(test) or None
