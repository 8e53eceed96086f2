"""A project opened for work: settings, the resolved compose model, the overlay, the engine."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from devstack.config import Settings
from devstack.engine import ContainerState, Engine
from devstack.errors import ProjectInUse
from devstack.project import Project, from_config
from devstack.remote import LOCAL, Location, locate

_CACHE = "model.json"
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Stack:
    settings: Settings
    project: Project
    engine: Engine  # the user's files plus the overlay
    location: Location = LOCAL

    @property
    def name(self) -> str:
        return self.project.name

    def containers(self) -> list[ContainerState]:
        return self.engine.containers(self.name)

    def ensure_ours(self, on_note: Callable[[str], None] | None = None) -> None:
        """Stop before touching a stack of the same name made from another directory
        (another checkout of the same repository shares the compose project name).

        A stack whose directory no longer exists on this machine (a deleted checkout) is
        taken over, with a note: nobody can run `devstack down` there. On a remote engine
        a missing directory may be another machine's, so it still stops."""
        here = self.settings.project_dir
        others: dict[Path, list[ContainerState]] = {}
        for c in self.engine.containers(self.name, oneoff=None):
            if c.working_dir and not _same_dir(Path(c.working_dir), here):
                others.setdefault(Path(c.working_dir), []).append(c)
        gone = [d for d in others if not self.location.remote and not d.exists()]
        for there in gone:
            del others[there]
            if on_note:
                on_note(f"taking over the stack left by {there} (that directory no longer exists)")
        if not others:
            return
        there, found = next(iter(others.items()))
        running = sum(c.state == "running" for c in found)
        states = f"{running} running" if running else "stopped"
        raise ProjectInUse(
            f"the project name {self.name!r} is in use by a stack from another directory: "
            f"{there} ({len(found)} container(s), {states}); this checkout is {here}",
            hint=f"give this checkout its own name (`devstack -p NAME ...`, COMPOSE_PROJECT_NAME "
            f"or project_name in [tool.devstack]), or run `devstack down` in {there} first",
        )


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def _fingerprint(settings: Settings) -> str:
    """What the resolved model depends on: files, the .env file, settings, compose env vars
    and every variable the compose files interpolate (`${APP_PORT}`)."""
    h = hashlib.sha256(repr(settings).encode())
    used: set[str] = set()
    for path in (*settings.compose_files, settings.project_dir / ".env"):
        try:
            st = path.stat()
            h.update(f"{path}:{st.st_mtime_ns}:{st.st_size}".encode())
            if path.name != ".env":
                used.update(_VARIABLE.findall(path.read_text(errors="replace")))
        except FileNotFoundError:
            h.update(f"{path}:-".encode())
    for key in sorted(os.environ):
        if key.startswith(("COMPOSE_", "DOCKER_")) or key.endswith("_IMAGE") or key in used:
            h.update(f"{key}={os.environ[key]}".encode())
    return h.hexdigest()


def open_stack(settings: Settings) -> Stack:
    """Resolve the user's compose files (cached while nothing they depend on changes)."""
    base = Engine(
        project_dir=settings.project_dir,
        files=settings.compose_files,
        project_name=settings.project_name,
    )
    cache = settings.state_dir / _CACHE
    location = locate()  # the overlay differs for an engine that cannot see the project
    key = f"{_fingerprint(settings)}:remote={location.remote}"
    saved = _cached(cache, key)
    config = saved["config"] if saved else base.config()
    project = from_config(config, settings)
    # The overlay written with a cached model still holds (its inputs are in the key), so
    # read commands need not import yaml to write it again.
    path = Path(str(saved.get("overlay", ""))) if saved else Path()
    if saved is None or settings.ca_bundle or not path.is_absolute() or not path.is_file():
        path = _write_overlay(project, settings, remote=location.remote)
        cache.write_text(json.dumps({"key": key, "config": config, "overlay": str(path)}))
    engine = Engine(
        project_dir=settings.project_dir,
        files=[*settings.compose_files, path],
        project_name=project.name,
    )
    return Stack(settings=settings, project=project, engine=engine, location=location)


def _write_overlay(project: Project, settings: Settings, *, remote: bool) -> Path:
    from devstack import overlay

    return overlay.write(project, settings, remote=remote)


def _cached(cache: Path, key: str) -> dict[str, Any] | None:
    """The saved model (and overlay path) when it was saved under `key`."""
    try:
        saved = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return cast(dict[str, Any], saved) if isinstance(saved.get("config"), dict) else None
