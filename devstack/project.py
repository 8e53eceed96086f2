"""The user's compose project as devstack sees it: services, the app, dependencies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.config import Settings
from devstack.errors import ConfigError


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
    dockerfile: str = ""  # the build's Dockerfile, absolute ("" when it builds none)


@dataclass(frozen=True)
class Project:
    name: str
    services: Mapping[str, Service]
    app: str

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

    def start_order(self, names: Iterable[str]) -> list[str]:
        """`names` and everything they depend on, dependencies first."""
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
        return order


def from_config(config: Mapping[str, Any], settings: Settings) -> Project:
    raw = config.get("services") or {}
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            "the compose project defines no services", hint="add services to your compose file"
        )
    services = {
        name: Service(
            name=name,
            builds="build" in spec,
            depends_on=tuple(spec.get("depends_on") or ()),
            ports=tuple(spec.get("ports") or ()),
            environment=dict(spec.get("environment") or {}),
            image=str(spec.get("image") or ""),
            command=_words(spec.get("entrypoint")) + _words(spec.get("command")),
            healthcheck=_healthcheck(spec.get("healthcheck")),
            dockerfile=_dockerfile(spec.get("build"), settings.project_dir),
        )
        for name, spec in raw.items()
    }
    return Project(
        name=str(config.get("name", "")), services=services, app=_app_service(services, settings)
    )


def _app_service(services: Mapping[str, Service], settings: Settings) -> str:
    if settings.app_service:
        if settings.app_service not in services:
            known = ", ".join(sorted(services))
            raise ConfigError(
                f"app_service {settings.app_service!r} is not a service of the project",
                hint=f"services in this project: {known}",
            )
        return settings.app_service
    if "app" in services:
        return "app"
    built = [s.name for s in services.values() if s.builds]
    if len(built) == 1:
        return built[0]
    raise ConfigError(
        "cannot tell which service is the app",
        hint="set app_service in [tool.devstack] (or DEVSTACK_APP_SERVICE)",
    )


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
