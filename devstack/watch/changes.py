"""What a file change means to the watcher (which files are dependencies, where migrations
live: `classify`, pure) and how changes are gathered into batches between actions
(`Coalescer`: a quiet period, single flight)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

Action = Literal["rebuild", "migrate"]
FileChange = tuple[str, str]  # ("added" | "modified" | "deleted", absolute path)
IGNORED_DIRS = (".git", ".venv", "__pycache__", "node_modules", ".devstack")


@dataclass(frozen=True)
class Rules:
    """What a change means: which files are dependencies, where migrations live."""

    code_dir: Path
    dependency_files: tuple[str, ...]  # name patterns, or paths relative to code_dir with a /
    dockerfile: Path | None = None  # the app's build Dockerfile, wherever it lives
    migrations_dir: Path | None = None
    rebuild_paths: tuple[Path, ...] = ()  # the compose file's develop.watch rebuild rules

    @property
    def paths(self) -> tuple[Path, ...]:
        """What to watch: the code, and the Dockerfile's folder when it lies outside it.

        A Dockerfile in a folder above the code is watched as a file, not its whole tree."""
        out = [self.code_dir]
        df = self.dockerfile
        if df is not None and not _within(df, self.code_dir):
            out.append(df if _within(self.code_dir, df.parent) else df.parent)
        out += [p for p in self.rebuild_paths if not any(_within(p, o) for o in out)]
        return tuple(out)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def is_dependency(path: Path, rules: Rules) -> bool:
    if rules.dockerfile is not None and path == rules.dockerfile:
        return True
    if any(_within(path, p) for p in rules.rebuild_paths):
        return True
    if not _within(path, rules.code_dir):
        return False
    rel = path.relative_to(rules.code_dir).as_posix()
    return any(fnmatch(rel if "/" in p else path.name, p) for p in rules.dependency_files)


def is_migration(kind: str, path: Path, rules: Rules) -> bool:
    d = rules.migrations_dir
    return d is not None and kind != "deleted" and path.suffix == ".py" and d in path.parents


def classify(changes: Iterable[FileChange], rules: Rules) -> Action | None:
    """The action a batch of changes calls for; a rebuild wins over a migration."""
    action: Action | None = None
    for kind, raw in changes:
        path = Path(raw)
        if is_dependency(path, rules):
            return "rebuild"
        if is_migration(kind, path, rules):
            action = "migrate"
    return action


def triggers(changes: Iterable[FileChange], rules: Rules) -> tuple[str, ...]:
    """The changed files that called for an action, relative to the code where they can be."""
    out = set()
    for kind, raw in changes:
        path = Path(raw)
        if is_dependency(path, rules) or is_migration(kind, path, rules):
            rel = _within(path, rules.code_dir)
            out.add(path.relative_to(rules.code_dir).as_posix() if rel else str(path))
    return tuple(sorted(out))


def ignored(path: str) -> bool:
    return any(part in IGNORED_DIRS for part in Path(path).parts)


# ---- coalescing -------------------------------------------------------------------------


class Coalescer:
    """Changes gathered between actions: everything that arrives while an action runs
    becomes one next batch, handed out once no change has come for `quiet` seconds."""

    def __init__(self, quiet: float, *, longest: float = 10.0) -> None:
        self.quiet = quiet
        self.longest = longest  # a steady stream of changes still gets handled
        self._pending: set[FileChange] = set()
        self._first = 0.0
        self._last = 0.0
        self._closed = False
        self._cond = threading.Condition()

    def add(self, batch: Iterable[FileChange]) -> None:
        batch = set(batch)
        if not batch:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending |= batch
            self._last = now
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, stop: threading.Event) -> set[FileChange] | None:
        """The next settled batch; None once closed (or stopped) with nothing pending."""
        with self._cond:
            while True:
                if stop.is_set():
                    return None
                now = time.monotonic()
                if self._pending:
                    settled = now - self._last >= self.quiet or now - self._first >= self.longest
                    if settled or self._closed:
                        batch, self._pending = self._pending, set()
                        return batch
                    wait = min(self.quiet - (now - self._last), self.longest - (now - self._first))
                elif self._closed:
                    return None
                else:
                    wait = 0.2
                self._cond.wait(max(0.01, min(wait, 0.2)))
