"""A doorbell for the reloaders' watcher: an inotify instance on the watched directories, read
only to learn that something happened in one of them. Stdlib only (ctypes).

watchfiles collects events in a thread of its own but looks at what it collected every `step`
milliseconds: an idle watcher wakes 1000/step times a second, and an edit is seen one to two
steps after it lands. With the bell the reloader sleeps in select() until the kernel says a
watched directory changed, and only then asks watchfiles, which groups what follows with its
step as before. As the bell reads what happened, it also sees a .py file written in place that
is not closed yet (truncated, its text still to come) and waits for it. Linux only;
`Bell.open` gives None where inotify cannot be used or polling is forced
(WATCHFILES_FORCE_POLLING), and watchfiles keeps its own pace there.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
import sys
import time
from collections.abc import Iterable

# <sys/inotify.h>: what happens to a directory's entries, or to the directory itself.
IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x002, 0x004, 0x008
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x040, 0x080, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
MASK = (
    IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
) | (IN_DELETE_SELF | IN_MOVE_SELF)
EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name
SETTLE = 0.1  # at most this long for a file being written in place to be closed
SKIPPED = {errno.ENOENT, errno.EACCES, errno.ENOTDIR}  # gone or unreadable: watchfiles says so


def polling_forced(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """watchfiles' rule: WATCHFILES_FORCE_POLLING set and not false/disable(d)."""
    value = env.get("WATCHFILES_FORCE_POLLING", "")
    return bool(value) and value.lower() not in ("false", "disable", "disabled")


class Bell:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, directories: Iterable[str]) -> Bell | None:
        """A bell on every directory, or None (not Linux, polling forced, no inotify, or a
        directory that could not be watched for another reason than being gone or unreadable:
        the watch limit, say)."""
        if not sys.platform.startswith("linux") or polling_forced():
            return None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError):
            return None
        fd = init(os.O_NONBLOCK | os.O_CLOEXEC)  # IN_NONBLOCK, IN_CLOEXEC
        if fd < 0:
            return None
        for directory in directories:
            if add(fd, os.fsencode(directory), MASK) < 0 and ctypes.get_errno() not in SKIPPED:
                os.close(fd)
                return None
        return cls(fd)

    def wait(self, timeout: float | None) -> bool:
        """True as soon as something happened (what the kernel said is read and dropped),
        False at `timeout` seconds (None: no timeout). A .py file being written in place
        (modified, not yet closed: truncated, its text still to come) is waited for, up to
        SETTLE seconds, so that a reload never reads it half-written."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return False
        writing: set[tuple[int, bytes]] = set()
        deadline = time.monotonic() + SETTLE
        while True:
            for wd, mask, name in self._events():
                if not name.endswith(b".py"):
                    continue
                if mask & IN_MODIFY:
                    writing.add((wd, name))
                if mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM):
                    writing.discard((wd, name))
            left = deadline - time.monotonic()
            if not writing or left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return True

    def _events(self) -> list[tuple[int, int, bytes]]:
        """(watch, mask, name) of every event waiting (struct inotify_event)."""
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            if not data:
                return found
            offset = 0
            while offset + EVENT.size <= len(data):
                wd, mask, _cookie, length = EVENT.unpack_from(data, offset)
                start = offset + EVENT.size
                found.append((wd, mask, data[start : start + length].rstrip(b"\0")))
                offset = start + length

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
