"""The project's own image: its Python and uvicorn run devstack's reloader (mounted
read-only at RUNTIME_MOUNT) with the app, address and folder of the project's command, the
code mounted where the image keeps it. Where that cannot work, the project's own command."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack.config import Settings
from devstack.init.recipe import recipe_source
from devstack.runtime.base import FALLBACK_MARK, RUNTIME_MOUNT, Mount
from devstack.runtime.command import AppCommand, Unreadable, read
from devstack.runtime.placement import Build, find, nested_mounts, watch_rules

# Runs in the container: the image's python (python3, else python) with devstack's launcher;
# with no Python at all, or without devstack's runtime in the container (a delivery that did
# not ship it), the project's own command (the words after "--"), saying why. Every $
# doubled: compose interpolates the overlay as it does the user's files.
LAUNCH = (
    f'why="devstack\'s runtime is not in the container at {RUNTIME_MOUNT}"; '
    f'if [ -f {RUNTIME_MOUNT}/devstack_own.py ]; then why="no python on the image\'s PATH"; '
    'for py in python3 python; do command -v "$py" >/dev/null 2>&1 && '
    f'exec "$py" {RUNTIME_MOUNT}/devstack_own.py "$@"; done; fi; '
    f'echo "{FALLBACK_MARK} ($why)" >&2; '
    'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done; shift; exec "$@"'
).replace("$", "$$")
# Entrypoints that run their arguments (so the overlay's command still reaches the shell).
WRAPPERS = ("tini", "dumb-init", "docker-entrypoint.sh", "entrypoint.sh", "gosu", "su-exec")
ENABLE = (
    "for devstack's warm reloader, give the app service a command devstack reads "
    "(`fastapi run PATH --port N` or `uvicorn MODULE:APP --host 0.0.0.0 --port N`) and an "
    "image whose Python has uvicorn and watchfiles (`fastapi[standard]` has both)"
)


class OwnImage:
    kind = "own image"

    def __init__(self, spec: Mapping[str, Any], build: Build, settings: Settings) -> None:
        self.spec = spec
        self.build = build
        self.settings = settings
        self.placement = find(spec, settings, build)
        entry, cmd = _words(spec.get("entrypoint")), _words(spec.get("command"))
        if build.parsed is not None and not spec.get("entrypoint"):
            entry = build.parsed.entrypoint
            cmd = cmd or build.parsed.cmd
        self.own = entry + cmd
        # An entrypoint that runs its arguments stays (one-off `run`s keep working through
        # it); any other is replaced along with the command.
        self.wrapped = bool(entry) and os.path.basename(entry[0]) not in WRAPPERS
        words = self.own if self.wrapped else cmd
        self.app: AppCommand | Unreadable = read(words, self.placement)

    def command(self) -> list[str] | None:
        if not isinstance(self.app, AppCommand):
            return None
        a = self.app
        args = ["--app", a.app, "--host", a.host, "--port", str(a.port), "--dir", a.app_dir]
        if a.log_level:
            args += ["--log-level", a.log_level]
        return ["/bin/sh", "-c", LAUNCH, "devstack", *args, "--", *self.own]

    def entrypoint(self) -> list[str] | None:
        return [] if isinstance(self.app, AppCommand) and self.wrapped else None

    def mounts(self) -> list[Mount]:
        if not isinstance(self.app, AppCommand):
            return []
        return [Mount(recipe_source() / "runtime", RUNTIME_MOUNT, read_only=True)]

    def kept_volumes(self) -> list[Any] | None:
        nested = nested_mounts(self.spec, self.placement, self.settings.project_dir)
        redundant = {target for _, target, same in nested if same}
        code = self.placement.target
        volumes = list(self.spec.get("volumes") or ())
        kept = [v for v in volumes if _target(v) not in redundant and _target(v) != code]
        return kept if len(kept) != len(volumes) else None

    def notes(self) -> tuple[str, ...]:
        if isinstance(self.app, Unreadable):
            return (f"running the project's own command: {self.app.reason}; {ENABLE}",)
        return ()

    def rebuild_paths(self) -> tuple[Path, ...]:
        out = []
        for rule in watch_rules(self.spec, "rebuild"):
            path = rule.get("path")
            if isinstance(path, str):
                p = Path(path)
                out.append(p if p.is_absolute() else self.settings.project_dir / p)
        return tuple(out)

    def note_from_log(self, log: str) -> str | None:
        for line in log.splitlines():
            if FALLBACK_MARK in line:
                reason = line.split(FALLBACK_MARK, 1)[1].strip(" ()")
                if "runtime is not in the container" in reason:
                    return f"running the project's own command: {reason}"
                return f"running the project's own command: {reason}; {ENABLE}"
        return None

    def describe(self) -> str:
        if isinstance(self.app, AppCommand):
            return (f"{self.app.app} on port {self.app.port} with devstack's reloader "
                    f"(from `{shlex.join(self.own)}`)")  # fmt: skip
        return f"its own command `{shlex.join(self.own)}`" if self.own else "its image's command"


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return ("/bin/sh", "-c", value)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _target(volume: Any) -> str:
    if isinstance(volume, Mapping):
        return str(volume.get("target", "")).rstrip("/") or "/"
    parts = str(volume).split(":")
    return parts[1].rstrip("/") if len(parts) > 1 else ""
