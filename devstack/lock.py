"""One devstack at a time per project: an flock in .devstack/."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.errors import ConfigError


@contextmanager
def project_lock(
    state_dir: Path, *, what: str, timeout: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the project's lock; wait up to `timeout` for another devstack to finish."""
    state_dir.mkdir(exist_ok=True)
    path = state_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = path.read_text().strip() or "another devstack"
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"{holder} is still running on this project",
                        hint="wait for it to finish, or stop it, then try again",
                    ) from None
                if on_wait and not told:
                    on_wait(f"waiting for {holder} to finish")
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"devstack {what} (pid {os.getpid()})".encode())
        yield
    finally:
        os.close(fd)
