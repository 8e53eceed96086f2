"""The warm reloader's preload policy: which modules are the project's own (never preloaded,
always imported fresh by each child), which changes ask for a reload, and which of the
modules a cold child loaded the parent imports (minus those known, or found, to start threads
or not to survive fork()). Stdlib only."""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Never preloaded: not safe to carry across fork(), or they start threads/connections.
KNOWN_BAD = {
    "grpc": "gRPC's core is not fork-safe",
    "torch": "starts thread pools at import",
    "tensorflow": "starts thread pools at import",
    "jax": "starts thread pools at import",
    "ddtrace": "patches libraries and starts a writer thread",
    "newrelic": "starts a harvest thread",
    "sentry_sdk": "starts a transport worker thread",
    "opentelemetry": "exporters start threads",
    "elasticapm": "starts a transport thread",
}


def under(path: Path, root: Path) -> Path | None:
    try:
        return path.relative_to(root)
    except ValueError:
        return None


@dataclass(frozen=True)
class Project:
    """The project tree and the excludes of the plain reload (names and absolute dirs)."""

    root: Path
    exclude_names: tuple[str, ...] = (".venv", "__pycache__", "node_modules", ".git", ".devstack")
    exclude_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_excludes(cls, root: Path, excludes: Iterable[str]) -> Project:
        """The --reload-exclude values devstack_runtime passes: NAME/* globs and dirs."""
        names, dirs = [], []
        for item in excludes:
            if item.endswith("/*") and "/" not in item[:-2]:
                names.append(item[:-2])
            elif item.startswith("/"):
                dirs.append(Path(item))
        return cls(root, tuple(names) or cls.exclude_names, tuple(dirs))

    def owns(self, path: str | Path | None) -> bool:
        """Whether a module file is the project's own code (else a library or the stdlib)."""
        if not path:
            return False
        rel = under(Path(os.path.abspath(path)), self.root)
        if rel is None:
            return False
        skipped = {*self.exclude_names, "site-packages", "dist-packages"}
        return not any(part in skipped for part in rel.parts)

    def skips(self, directory: Path) -> bool:
        """A directory never walked nor watched: an excluded name or directory."""
        return directory.name in self.exclude_names or directory in self.exclude_dirs

    def change_kind(self, path: str | Path) -> str | None:
        """What a changed path asks for: "project" (reload), "outside" (full restart), None."""
        full = Path(os.path.abspath(path))
        rel = under(full, self.root)
        if rel is None:
            return "outside"
        if any(part in self.exclude_names for part in rel.parts):
            return None
        if any(under(full, d) is not None for d in self.exclude_dirs):
            return None
        name = full.name
        if name.startswith(".") or name.endswith("~") or full.suffix != ".py":
            return None  # uvicorn's default: *.py, minus hidden, swap and backup files
        return "project"


def known_bad(name: str, skip: Iterable[str] = ()) -> str | None:
    """Why a module is never preloaded (itself or a package above it is listed), else None."""
    bad = {**KNOWN_BAD, **{s: "started a thread when preloaded" for s in skip}}
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        reason = bad.get(".".join(parts[:i]))
        if reason:
            return reason
    return None


def select_preload(
    modules: Iterable[tuple[str, str | None]], project: Project, skip: Iterable[str] = ()
) -> list[str]:
    """Module names to import in the parent, in import order: what the app imported from
    outside the project, minus the known-bad, the skipped and everything under them."""
    skip = tuple(skip)
    chosen = []
    for name, path in modules:
        if name in ("__main__", "__mp_main__") or name.startswith("devstack_"):
            continue
        if project.owns(path) or known_bad(name, skip):
            continue
        chosen.append(name)
    return chosen


# --- discovery and preload -------------------------------------------------------------------


def loaded_modules(since: Collection[str] = ()) -> list[tuple[str, str | None]]:
    """(name, file) of every module in sys.modules (but those in `since`), in import order."""
    found = []
    for name, module in list(sys.modules.items()):
        if name in since:
            continue
        path = getattr(module, "__file__", None)
        if not path:
            path = next(iter(getattr(module, "__path__", None) or []), None)
        found.append((name, path if isinstance(path, str) else None))
    return found


def write_modules(path: str, error: str | None = None, since: Collection[str] = ()) -> None:
    tmp = f"{path}.tmp"
    Path(tmp).write_text(json.dumps({"modules": loaded_modules(since), "error": error}))
    os.replace(tmp, path)  # the parent never reads a half-written file


@dataclass
class Preloaded:
    loaded: list[str] = field(default_factory=list)
    threaded: list[str] = field(default_factory=list)  # a thread was running after it
    failed: list[str] = field(default_factory=list)


def preload(names: Sequence[str]) -> Preloaded:
    result = Preloaded()
    for name in names:
        if name in sys.modules:
            continue
        before = threading.active_count()
        try:
            importlib.import_module(name)
        except Exception:
            result.failed.append(name)
            continue
        if threading.active_count() > before:
            result.threaded.append(name)
        result.loaded.append(name)
    return result


def warm_caches() -> None:
    """Fill the standard library's caches that a framework fills on an app's first request,
    so that every child inherits them: FastAPI reads each endpoint's source line on its first
    call (inspect.getsourcelines), which compiles tokenize's and inspect's expressions."""
    import contextlib
    import inspect

    with contextlib.suppress(OSError, TypeError):  # no source: nothing gained, nothing lost
        inspect.getsourcelines(warm_caches)
