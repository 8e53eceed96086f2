"""Making the container's copy equal to the host's: a full sync (compare, send what
differs, delete what the host no longer has) and pushes of changed paths."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from devstack.delivery.sync.channel import Channel
from devstack.delivery.sync.ignore import Ignore
from devstack.delivery.sync.tree import Entry, Manifest, archive, entry, scan

TEMP_SUFFIX = ".devstack-sync"  # the agent's temporary files


@dataclass(frozen=True)
class Pushed:
    sent: int
    deleted: int
    bytes: int
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why) not readable on the host
    kept: tuple[str, ...] = ()  # written in the container, not on the host: left there
    errors: tuple[str, ...] = ()
    sent_paths: tuple[str, ...] = ()
    deleted_paths: tuple[str, ...] = ()


def _topmost(paths: Iterable[str]) -> list[str]:
    """`paths` without those inside another one of them."""
    out: list[str] = []
    for p in sorted(paths):
        if not out or not p.startswith(out[-1] + "/"):
            out.append(p)
    return out


def full_sync(
    channel: Channel, root: Path, ignore: Ignore, *, baseline: Collection[str] | None
) -> tuple[Pushed, Manifest]:
    """Make the container's tree the host's. `baseline` is what an earlier sync put in this
    container: once a container was synced, a container-only path outside the baseline was
    written in the container and is kept (reported), never silently deleted. A container
    never synced holds the image's copy of the code: what the host lacks goes."""
    host = scan(root, ignore)
    tree, synced = channel.manifest()
    there = {rel: e for rel, e in tree.items() if not ignore.ignored(rel)}
    synced_before = baseline if synced else None
    send = [(rel, e) for rel, e in host.items() if there.get(rel) != e]
    gone = [rel for rel in there if rel not in host]
    kept: list[str] = []
    if synced_before is not None:
        kept = [rel for rel in gone if rel not in synced_before and not rel.endswith(TEMP_SUFFIX)]
        keep = set(kept)
        # a directory holding a kept file stays (its other content is deleted one by one)
        parents = {"/".join(k.split("/")[:n]) for k in kept for n in range(1, k.count("/") + 1)}
        gone = [rel for rel in gone if rel not in keep and rel not in parents]
    return _send(channel, root, send, _topmost(gone), kept), host


def push(
    channel: Channel,
    root: Path,
    ignore: Ignore,
    paths: Iterable[str],
    *,
    sending: Callable[[list[str]], None] | None = None,
) -> Pushed:
    """Send the host's current state of `paths` (absolute): present ones as they are now
    (directories with their content), missing ones deleted. `sending` hears what is about to
    be sent, before it is (a push cut off midway may have landed in part)."""
    send: dict[str, Entry] = {}
    delete: list[str] = []
    for raw in set(paths):
        try:
            rel = Path(raw).relative_to(root).as_posix()
        except ValueError:
            continue
        if rel == "." or ignore.ignored(rel) or ignore.in_venv(root, rel):
            continue
        e = entry(root / rel)
        if e is None:
            delete.append(rel)
            continue
        send[rel] = e
        if e[0] == "d":
            for sub, se in scan(root / rel, ignore).items():
                if not ignore.ignored(f"{rel}/{sub}"):
                    send[f"{rel}/{sub}"] = se
    if sending is not None:
        sending(list(send))
    return _send(channel, root, list(send.items()), _topmost(delete), [])


def _send(
    channel: Channel,
    root: Path,
    send: list[tuple[str, Entry]],
    delete: list[str],
    kept: list[str],
) -> Pushed:
    if not send and not delete:
        return Pushed(0, 0, 0, kept=tuple(kept))
    arc = archive(root, send)
    data = arc.close()
    errors = channel.apply(delete, data)
    return Pushed(
        sent=arc.count,
        deleted=len(delete),
        bytes=len(data),
        skipped=tuple(arc.skipped),
        kept=tuple(kept),
        errors=tuple(errors),
        sent_paths=tuple(rel for rel, _ in send),
        deleted_paths=tuple(delete),
    )
