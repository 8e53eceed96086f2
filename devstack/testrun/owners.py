"""Who owns a test copy: this machine and a devstack process, told apart from a later
process that reuses its id by the process's start time."""

from __future__ import annotations

import os
import socket
from pathlib import Path

# The labels every container, network and volume of a test copy carries.
OF = "dev.devstack.test.of"  # the development project's name
OWNER = "dev.devstack.test.owner"  # HOST:PID:START of the devstack running it
KEEP = "dev.devstack.test.keep"  # "1": left running on purpose (--keep)


def me() -> str:
    """ "HOST:PID:START" of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"


def alive(owner: str) -> bool | None:
    """Whether the owning devstack still runs; None when it is another machine's (its
    processes cannot be seen from here)."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return _started(pid) == started


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]
