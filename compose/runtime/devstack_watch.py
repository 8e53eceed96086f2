"""Watching a project tree for the reloaders (warm and RELOAD_MODE=uvicorn), directory by
directory, so that no directory can break the watching of the others.

watchfiles' recursive watch fails on a directory the server's user cannot read (a database's
data directory bind-mounted under the project, owned by another uid, mode 0700): it raises
PermissionError, or, told to ignore it, silently stops adding the directories after it. Here
the tree is walked in Python, skipping the excluded names (.git, .devstack, ...) and every
directory that cannot be read (one warning line each), and each remaining directory gets a
watch of its own. A directory that appears or goes away re-walks the tree; the files already
in a new directory are reported as added with the new watcher's first batch (a timeout tick at
the latest), so a package created by a checkout still reloads.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from devstack_bell import Bell

logger = logging.getLogger("uvicorn.error")
Change = tuple[Any, str]  # (watchfiles.Change, path)
POLL_STEP_MS = 5  # without a bell: 200 looks a second, 0.5% of a core idle (2 ms: 1.2%)


class TreeWatch:
    def __init__(self, roots: Iterable[str | Path], skip: Callable[[Path], bool]) -> None:
        self.roots = [str(r) for r in roots]
        self.skip = skip  # excluded directories: never walked, never watched, never warned of
        self.ignored: set[str] = set()  # skipped or unreadable, as of the last walk
        self.warned: set[str] = set()

    def directories(self) -> set[str]:
        """Every directory to watch: walked top-down, pruning excluded and unreadable ones."""
        found: set[str] = set()
        self.ignored = set()
        for root in self.roots:
            for parent, dirnames, _ in os.walk(root, onerror=self._unreadable):
                found.add(parent)
                for name in list(dirnames):
                    path = os.path.join(parent, name)
                    if self.skip(Path(path)) or os.path.islink(path):
                        dirnames.remove(name)
                        self.ignored.add(path)
        return found

    def _unreadable(self, error: OSError) -> None:
        path = str(error.filename or "")
        self.ignored.add(path)
        if path in self.warned:
            return
        self.warned.add(path)
        try:
            st = os.stat(path)
            owner = f", owned by uid {st.st_uid}, mode {st.st_mode & 0o7777:04o}"
        except OSError:
            owner = ""
        logger.warning(
            "devstack: not watching %s (%s%s); edits under it do not reload",
            path,
            (error.strerror or type(error).__name__).lower(),
            owner,
        )

    def _reshaped(self, changes: Iterable[Change], watched: set[str]) -> bool:
        """Whether a directory appeared or a watched one went away."""
        for _, path in changes:
            if path in watched:
                if not os.path.isdir(path):
                    return True
            elif path not in self.ignored and os.path.isdir(path):
                return True
        return False

    def _files(self, directories: Iterable[str]) -> set[Change]:
        import watchfiles

        found = set()
        for directory in directories:
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            found |= {(watchfiles.Change.added, e.path) for e in entries if e.is_file()}
        return found

    def watch(
        self,
        watch_filter: Callable[[Any, str], bool] | None = None,
        *,
        bell: bool = False,
        **kwargs: Any,
    ) -> Iterator[set[Change]]:
        """watchfiles.watch over the tree (same keyword arguments), re-walked when its shape
        changes. Yields the changes that pass watch_filter (maybe none, on a timeout). With
        `bell`, it sleeps until something happens (see `rung`): no stop_event then."""

        import watchfiles

        def passing(changes: Iterable[Change]) -> set[Change]:
            return {c for c in changes if watch_filter is None or watch_filter(*c)}

        watched = self.directories()
        new: set[str] = set()  # directories found by the last walk: their files come next
        while True:
            if bell:
                batches = rung(sorted(watched), **kwargs)
            else:
                batches = watchfiles.watch(
                    *sorted(watched),
                    watch_filter=None,
                    recursive=False,
                    ignore_permission_denied=True,
                    **kwargs,
                )
            try:
                for changes in batches:
                    if new:  # listed once the new watches exist: no file falls in between
                        changes, new = changes | self._files(new), set()
                    reshaped = self._reshaped(changes, watched)
                    yield passing(changes)
                    if reshaped:
                        break
                else:
                    return  # stop_event set
            finally:
                batches.close()  # the old watcher's inotify watches go at once
            before, watched = watched, self.directories()
            new = watched - before


def rung(
    directories: list[str],
    *,
    debounce: int = 1600,
    step: int = 50,
    rust_timeout: int = 5000,
    yield_on_timeout: bool = False,
) -> Iterator[set[Change]]:
    """watchfiles.watch over `directories` (each on its own, no filter, unreadable ones
    skipped) that sleeps until the bell (devstack_bell) rings instead of looking every `step`
    ms; what follows a ring is grouped over `step`, as watchfiles does. A signal handler that
    raises ends it. Without a bell, plain watchfiles.watch."""
    import watchfiles

    rust, bell = None, Bell.open(directories)
    if bell is not None:
        try:  # watchfiles' own watcher, driven here: its private API, as of watchfiles 1.x
            from watchfiles._rust_notify import RustNotify

            debug = bool(os.environ.get("WATCHFILES_DEBUG"))
            rust = RustNotify(directories, debug, False, 300, False, True)
        except (ImportError, TypeError):
            bell.close()
        except BaseException:  # a directory gone meanwhile, say: raised as watchfiles would
            bell.close()
            raise
    if bell is None or rust is None:  # watchfiles looks every step: at most every 5 ms
        yield from watchfiles.watch(
            *directories,
            watch_filter=None,
            recursive=False,
            ignore_permission_denied=True,
            debounce=debounce,
            step=max(step, POLL_STEP_MS),
            rust_timeout=rust_timeout,
            yield_on_timeout=yield_on_timeout,
        )
        return
    with contextlib.closing(bell), rust:
        while True:
            rang = bell.wait(rust_timeout / 1000 if rust_timeout else None)
            # Not rung: what watchfiles has anyway (a directory the bell missed), at once.
            raw = (
                rust.watch(debounce, step, rust_timeout, None)
                if rang
                else rust.watch(debounce, 1, 1, None)
            )
            if raw == "signal":
                raise KeyboardInterrupt
            if raw == "timeout":
                if yield_on_timeout:
                    yield set()
                continue
            yield {(watchfiles.Change(change), path) for change, path in raw}
