"""`devstack sync pull PATH...`: copy files the app wrote in the container back here."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

from devstack.delivery.base import StackView
from devstack.delivery.sync import daemon
from devstack.delivery.sync.channel import Channel
from devstack.errors import ConfigError, DevstackError


def pull(stack: StackView, paths: Sequence[str]) -> list[str]:
    """Copy `paths` (relative to the code directory) from the app container; the copied
    files' paths. The running sync sees them as ordinary changes and leaves them as they are."""
    root = stack.settings.code_dir
    rels = []
    for raw in paths:
        full = Path(raw) if Path(raw).is_absolute() else Path.cwd() / raw
        try:
            rel = (
                full.resolve().relative_to(root.resolve()).as_posix() if full.is_absolute() else raw
            )
        except ValueError:
            rel = raw.lstrip("/")
        if rel.startswith("..") or rel in ("", "."):
            raise ConfigError(f"{raw} is outside the code directory {root}")
        rels.append(rel)
    cid = daemon.app_container(stack)
    if not cid:
        raise DevstackError("the app container is not running", hint="`devstack up` first")
    channel = Channel(stack.engine, cid, stack.code.target)
    try:
        data = channel.pull(rels)
    finally:
        channel.close()
    copied = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for m in tar:
            target = (root / m.name).resolve()
            if not str(target).startswith(str(root.resolve()) + os.sep):
                continue
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif m.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is not None:
                    target.write_bytes(src.read())
                    os.chmod(target, m.mode & 0o7777)
                    copied.append(m.name)
            elif m.issym():
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_symlink() or target.exists():
                    target.unlink()
                target.symlink_to(m.linkname)
                copied.append(m.name)
    if not copied:
        raise ConfigError(
            f"nothing at {', '.join(rels)} in the app container",
            hint="paths are relative to the code directory",
        )
    return copied
