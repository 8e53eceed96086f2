"""The read snapshot: what `ps`, `logs`, `down` and `config` need from a project (its name,
services, app, state directory, timeouts, engine socket, where its merged configuration is
kept), saved by a command that resolved the settings and the model, and used while nothing
they were resolved from has changed.

Valid for one invocation shape (directory, -C, -f, -p) and only while every input reads as
it did: the files the settings, the project search and the model came from (each one's
mtime and size, or its absence), the docker CLI's config (the context) and every environment
variable they read. Any difference is a miss, never a wrong answer: the caller then takes the
full path, which saves a new snapshot. Only a local engine's socket is saved (a remote engine
answers through its delivery, which these reads then resolve in full).

Stdlib only, and the reader imports nothing else: it runs before `docker compose ps` would.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib

TYPE_CHECKING = False  # typing's import costs a read command more than its whole lookup
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from devstack.stack import Stack

FORMAT = 3  # the record's shape: a snapshot of another shape is a miss
_PREFIXES = ("COMPOSE_", "DOCKER_", "DEVSTACK_")
_ALWAYS = ("HOME", "XDG_CACHE_HOME")  # where the docker config and this snapshot are read
# What the project search and the settings look at in each directory, beside the compose
# files' names (devstack.config).
_SETTINGS_FILES = ("devstack.toml", "pyproject.toml", ".env")
_KEEP = 256  # snapshots kept (one per directory and invocation shape), oldest removed


def call_key(project_dir: str | None, files: Sequence[str], project_name: str | None) -> str:
    """The invocation shape a snapshot answers for: the directory and the global options."""
    norm = [os.path.normpath(f) for f in files]
    start = os.path.normpath(project_dir) if project_dir is not None else None
    return json.dumps([os.getcwd(), start, norm, project_name])


def load(key: str) -> dict[str, Any] | None:
    """The snapshot saved for `key` when everything it was made from is unchanged; else None."""
    try:
        with open(_path(key), encoding="utf-8") as fh:
            saved = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or saved.get("key") != key:
        return None
    check = saved.get("check")
    if not isinstance(check, dict) or check.get("env") != _environment(check.get("used") or ()):
        return None
    stamps = check.get("files")
    if not isinstance(stamps, dict) or any(stamp(p) != s for p, s in stamps.items()):
        return None
    found = saved.get("read")
    return found if isinstance(found, dict) else None


def save(stack: Stack, key: str, *, start: str) -> None:
    """Save what the read commands need from `stack`, opened for `key` from directory `start`,
    with what it was resolved from (its files, the other files its model read, the variables
    its compose files interpolate). Nothing when its delivery names no socket to read through,
    or the cache directory cannot be written."""
    # the writer is on the full path: its imports are paid
    from devstack.config import COMPOSE_FILE_NAMES, OVERRIDE_FILE_NAMES

    socket = stack.delivery.snapshot_socket()
    if socket is None:
        return
    settings = stack.settings
    root = str(settings.project_dir)
    files = {*(str(f) for f in settings.compose_files), *stack.inputs, _docker_config()}
    markers = (*COMPOSE_FILE_NAMES, *OVERRIDE_FILE_NAMES, *_SETTINGS_FILES)
    for directory in _searched(os.path.abspath(start), root):
        files.update(os.path.join(directory, name) for name in markers)
    used = sorted(stack.variables)
    config = None
    if stack.runtime is not None and stack.runtime.kind == "recipe" and stack.overlay:
        # `config` prints what merged.json keeps for the stack's key: that key holds while
        # the snapshot does, the overlay is unchanged and the recipe is still the runtime
        # (chosen from the app's Dockerfile; the own image's runtime reads more: not kept)
        config = {"key": stack.merged_key(), "path": str(stack.merged_path)}
        files.add(str(stack.overlay))
        dockerfile = (
            stack.project.services[stack.project.app].dockerfile if stack.project.app else ""
        )
        if dockerfile:
            files.add(dockerfile)
    record = {
        "format": FORMAT,
        "key": key,
        "check": {"env": _environment(used), "used": used, "files": {f: stamp(f) for f in files}},
        "read": {
            "project": stack.name,
            "project_dir": root,
            "state_dir": str(settings.state_dir),
            "wait_timeout": settings.wait_timeout,
            "stop_timeout": settings.stop_timeout,
            "socket": socket,
            "app": stack.project.app,
            "oneshots": sorted(stack.project.oneshots),
            "services": {n: s.replicas for n, s in sorted(stack.project.services.items())},
            "config": config,
        },
    }
    _write(_path(key), json.dumps(record, sort_keys=True))


def stamp(path: str) -> str:
    """A file's mtime and size ("-" when it does not exist)."""
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def _environment(used: Iterable[str]) -> dict[str, str]:
    """The variables the settings, the project search, the engine's address and the model
    read: DEVSTACK_*, COMPOSE_*, DOCKER_*, *_IMAGE and those the compose files interpolate."""
    wanted = set(used)
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(_PREFIXES) or k.endswith("_IMAGE") or k in wanted or k in _ALWAYS
    }


def _searched(start: str, root: str) -> list[str]:
    """The directories the project search looked at: from `start` up to the project's."""
    if start != root and not start.startswith(root.rstrip("/") + "/"):
        return [root]
    out = [start]
    while out[-1] != root:
        out.append(os.path.dirname(out[-1]))
    return out


def _docker_config() -> str:
    config = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(config, "config.json")


def _directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "devstack", "reads")


def _path(key: str) -> str:
    return os.path.join(_directory(), f"{zlib.crc32(key.encode()):08x}.json")


def _write(path: str, text: str) -> None:
    """Write `text` at `path` atomically, unless it is there already; keep the newest _KEEP."""
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temporary, path)
        _prune(os.path.dirname(path))
    except OSError:
        return  # a cache that cannot be written: the read commands take the full path


def _prune(directory: str) -> None:
    entries = sorted(os.scandir(directory), key=lambda e: e.stat().st_mtime, reverse=True)
    for entry in entries[_KEEP:]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
