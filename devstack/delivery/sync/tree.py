"""The host's side of a sync: what the tree holds, and tar archives of parts of it.

An entry is (kind, mode, size, mtime_ns, link target): kind "f" file, "d" directory,
"l" symlink. The archive carries each file's nanosecond mtime in a pax header, so the
container's copy compares equal to the host's afterwards.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devstack.delivery.sync.ignore import VENV_MARKER, Ignore

Entry = tuple[str, int, int, int, str]
Manifest = dict[str, Entry]
MTIME_NS = "devstack.mtime_ns"


def entry(path: Path) -> Entry | None:
    """The entry for one path (symlinks not followed); None when it is gone."""
    try:
        st = path.lstat()
    except OSError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        try:
            return ("l", 0, 0, 0, os.readlink(path))
        except OSError:
            return None
    if stat.S_ISDIR(st.st_mode):
        return ("d", mode, 0, 0, "")
    if stat.S_ISREG(st.st_mode):
        return ("f", mode, st.st_size, st.st_mtime_ns, "")
    return None  # sockets, fifos, devices are not synced


def scan(root: Path, ignore: Ignore) -> Manifest:
    """Every synced path under `root`, relative, with its entry."""
    out: Manifest = {}
    for top, dirs, files in os.walk(root):
        rel_top = os.path.relpath(top, root)
        rel_top = "" if rel_top == "." else rel_top
        if VENV_MARKER in files and rel_top:
            ignore.venvs.add(rel_top)
            out.pop(rel_top, None)
            dirs[:] = []
            continue
        keep = []
        for name in dirs:
            rel = f"{rel_top}/{name}" if rel_top else name
            if ignore.ignored(rel):
                continue
            e = entry(Path(top, name))
            if e is None:
                continue
            out[rel] = e
            if e[0] == "d":
                keep.append(name)
        dirs[:] = keep
        for name in files:
            rel = f"{rel_top}/{name}" if rel_top else name
            if ignore.ignored(rel):
                continue
            e = entry(Path(top, name))
            if e is not None:
                out[rel] = e
    return out


@dataclass
class Archive:
    """A tar of host paths being built; `skipped` holds files that could not be read."""

    owner: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.buffer = io.BytesIO()
        self.tar = tarfile.open(  # noqa: SIM115 closed by close()
            fileobj=self.buffer, mode="w", format=tarfile.PAX_FORMAT
        )
        self.count = 0
        self.skipped: list[tuple[str, str]] = []

    def add(self, root: Path, rel: str, e: Entry) -> None:
        kind, mode, _size, mtime_ns, link = e
        info = tarfile.TarInfo(rel)
        info.mode = mode
        info.uid, info.gid = self.owner
        info.mtime = mtime_ns // 1_000_000_000
        if kind == "d":
            info.type = tarfile.DIRTYPE
            self.tar.addfile(info)
        elif kind == "l":
            info.type = tarfile.SYMTYPE
            info.linkname = link
            self.tar.addfile(info)
        else:
            try:
                with open(root / rel, "rb") as fh:
                    st = os.fstat(fh.fileno())  # what is read, not what was scanned
                    data = fh.read()
            except FileNotFoundError:
                return  # deleted since it was seen: its own event deletes it there
            except OSError as exc:
                self.skipped.append((rel, exc.strerror or str(exc)))
                return
            info.size = len(data)
            info.mode = stat.S_IMODE(st.st_mode)
            info.mtime = st.st_mtime_ns // 1_000_000_000
            info.pax_headers = {MTIME_NS: str(st.st_mtime_ns)}
            self.tar.addfile(info, io.BytesIO(data))
        self.count += 1

    def close(self) -> bytes:
        self.tar.close()
        return self.buffer.getvalue()


def archive(
    root: Path, entries: Iterable[tuple[str, Entry]], owner: tuple[int, int] = (0, 0)
) -> Archive:
    """An archive of `entries`, parents before children."""
    arc = Archive(owner)
    for rel, e in sorted(entries, key=lambda item: item[0].count("/")):
        arc.add(root, rel, e)
    return arc
