"""What the warm reloader watches outside the project: the site-packages listings (an install,
upgrade or removal renames a .dist-info) and the library files it preloaded. A change there
means the preloaded state is stale: a full restart. Stdlib only."""

from __future__ import annotations

import os
import site
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from devstack_warm_policy import under

OUTSIDE_POLL = 1.0  # seconds between checks of the files outside the project


def outside_signature(dirs: Iterable[str], files: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """Cheap fingerprint of what lives outside the project: the entries of each site-packages
    directory (an install, upgrade or removal renames a .dist-info) and the preloaded files."""
    sig: dict[str, tuple[int, ...]] = {}
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            sig[entry.path] = (st.st_mtime_ns,)
    for path in files:
        try:
            st = os.stat(path)
            sig[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            sig[path] = ()
    return sig


def changed_keys(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def display(path: str | Path, cwd: Path) -> str:
    rel = under(Path(path), cwd)
    return f"'{rel if rel is not None else path}'"


class Outside:
    """Polls the fingerprint of what lives outside the project, at most every OUTSIDE_POLL."""

    def __init__(self, owns: Callable[[str], bool]) -> None:
        self.owns = owns
        self.site_dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]
        self.rebase()

    def library_files(self) -> list[str]:
        return sorted(
            {
                f
                for m in list(sys.modules.values())
                if isinstance(f := getattr(m, "__file__", None), str) and not self.owns(f)
            }
        )

    def rebase(self) -> None:
        """Fingerprint the libraries as they are now (after a preload, say)."""
        self.files = self.library_files()
        self.seen = outside_signature(self.site_dirs, self.files)
        self.checked = time.monotonic()

    def changed(self) -> str | None:
        """What changed outside the project since the last look, if it is time to look."""
        if time.monotonic() - self.checked < OUTSIDE_POLL:
            return None
        now = outside_signature(self.site_dirs, self.files)
        self.checked = time.monotonic()
        if now == self.seen:
            return None
        keys = changed_keys(self.seen, now)
        more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
        return f"changes outside the project: {keys[:3]}{more}"
