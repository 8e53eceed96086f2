"""Where the engine runs: can it see the project directory, or must the code be synced?

A bind mount names a path on the engine's host. When `DOCKER_HOST` or the current
docker context points at another machine (ssh://, or tcp:// to anything but this one),
that path is empty or stale there, so devstack syncs the code instead of mounting it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from devstack.engine import address

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "")


@dataclass(frozen=True)
class Location:
    """The engine's address and whether it shares this machine's files."""

    host: str  # the engine's address, e.g. unix:///var/run/docker.sock or ssh://user@box
    remote: bool  # True: the engine cannot see the project directory
    source: str  # where the address came from: "DOCKER_HOST", "context NAME" or "default"

    @property
    def scheme(self) -> str:
        return urlsplit(self.host).scheme or "unix"

    @property
    def can_forward(self) -> bool:
        """Published ports can be brought to this machine over the engine's own channel."""
        return self.scheme == "ssh"

    @property
    def ssh_target(self) -> tuple[str, ...]:
        """ssh arguments reaching the engine's host (ssh:// engines only)."""
        parts = urlsplit(self.host)
        dest = f"{parts.username}@{parts.hostname}" if parts.username else str(parts.hostname)
        return (*(("-p", str(parts.port)) if parts.port else ()), dest)

    def describe(self) -> str:
        if not self.remote:
            return f"local engine ({self.host})"
        return f"remote engine {self.host} (from {self.source}): code is synced, not mounted"


LOCAL = Location(host=address.DEFAULT_HOST, remote=False, source="default")


def _is_remote(host: str) -> bool:
    parts = urlsplit(host)
    if parts.scheme in ("", "unix", "npipe", "fd"):
        return False
    if parts.scheme == "ssh":
        return True
    return (parts.hostname or "") not in _LOCAL_HOSTS


def locate(environ: Mapping[str, str] | None = None) -> Location:
    """Where the engine is, from DOCKER_HOST, else the current context (no engine call).

    DEVSTACK_REMOTE=1/0 overrides the guess (e.g. a tcp:// address that is this machine)."""
    env = os.environ if environ is None else environ
    found = address.resolve(env)  # the one answer to "which engine?", the engine's own
    host = found.host or address.DEFAULT_HOST
    source = found.source if found.host else "default"
    remote = _is_remote(host)
    forced = env.get("DEVSTACK_REMOTE", "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        remote = True
    elif forced in ("0", "false", "no", "off"):
        remote = False
    return Location(host=host, remote=remote, source=source)
