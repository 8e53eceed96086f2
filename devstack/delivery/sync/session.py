"""A sync session: watch the host's tree, push every change into the app container, and
after the channel drops, reconnect and resync in full before pushing again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.delivery.sync import ignore as ignore_rules
from devstack.delivery.sync.channel import Channel, ChannelLost
from devstack.delivery.sync.push import Pushed, full_sync, push
from devstack.errors import DevstackError

if TYPE_CHECKING:
    from devstack.engine import EngineClient


@dataclass(frozen=True)
class SyncEvent:
    kind: str  # "synced" (full), "pushed", "lost", "skipped", "kept", "errors"
    detail: str = ""
    files: int = 0
    seconds: float = 0.0
    paths: tuple[str, ...] = ()


Finder = Callable[[], str | None]  # the running app container's id, or None


@dataclass
class Session:
    engine: EngineClient
    root: Path
    mount_path: str
    state_dir: Path
    find: Finder
    on_event: Callable[[SyncEvent], None]
    sync_ignore: tuple[str, ...] = ()
    stop: threading.Event = field(default_factory=threading.Event)
    channel: Channel | None = None

    def __post_init__(self) -> None:
        self.ignore = ignore_rules.load(self.root, self.sync_ignore)
        self._pending: set[str] = set()
        self._cond = threading.Condition()
        self._live = threading.Event()
        self._warned: set[str] = set()
        self._baseline: set[str] = set()  # what syncs put in the container
        self._cid = ""

    # ---- one full sync -----------------------------------------------------------------

    def connect(self, *, release: bool = True) -> SyncEvent:
        """Open a channel to the app container and make its tree the host's; `release`
        then lets the app start (its command waits for the ready marker)."""
        cid = self.find()
        if not cid:
            raise ChannelLost("the app container is not running", hint="`devstack up` starts it")
        if self.channel is not None:
            self.channel.close()
        self.channel = Channel(self.engine, cid, self.mount_path)
        with self._cond:
            self._pending.clear()  # the full sync covers them
        start = time.monotonic()
        self.ignore = ignore_rules.load(self.root, self.sync_ignore)
        baseline = self._baseline if cid == self._cid else self._load(cid)
        result, host = full_sync(self.channel, self.root, self.ignore, baseline=baseline)
        self._cid = cid
        self._save(cid, set(host))
        if release:
            self.channel.ready()
        self._report(result)
        event = SyncEvent(
            "synced",
            f"{result.sent} sent, {result.deleted} deleted of {len(host)} paths",
            files=len(host),
            seconds=time.monotonic() - start,
        )
        self.on_event(event)
        return event

    def release(self) -> None:
        if self.channel is not None:
            self.channel.ready()

    def _baseline_file(self, cid: str) -> Path:
        return self.state_dir / "sync" / f"{cid[:12]}.json"

    def _load(self, cid: str) -> set[str] | None:
        try:
            return set(json.loads(self._baseline_file(cid).read_text()))
        except (OSError, ValueError):
            return None

    def _save(self, cid: str, paths: set[str]) -> None:
        self._baseline = paths
        path = self._baseline_file(cid)
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("*.json"):
            if old != path and old.name != "status.json":
                old.unlink(missing_ok=True)
        path.write_text(json.dumps(sorted(paths)))

    def _remember(self, result: Pushed) -> None:
        """Keep the baseline (what syncs put there) current, on disk too."""
        if not result.sent_paths and not result.deleted_paths:
            return
        self._baseline |= set(result.sent_paths)
        gone = set(result.deleted_paths)
        prefixes = tuple(g + "/" for g in gone)
        self._baseline = {p for p in self._baseline if p not in gone and not p.startswith(prefixes)}
        self._save(self._cid, self._baseline)

    def _report(self, result: Pushed) -> None:
        fresh = [(p, why) for p, why in result.skipped if p not in self._warned]
        if fresh:
            self._warned.update(p for p, _ in fresh)
            self.on_event(SyncEvent("skipped", "; ".join(f"{p}: {w}" for p, w in fresh[:5]),
                                    paths=tuple(p for p, _ in fresh)))  # fmt: skip
        if result.kept:
            self.on_event(
                SyncEvent(
                    "kept",
                    "written in the container, not on this machine: kept there "
                    "(`devstack sync pull PATH` copies one here)",
                    paths=result.kept,
                )
            )
        if result.errors:
            self.on_event(SyncEvent("errors", "; ".join(result.errors[:5])))

    # ---- the loop ----------------------------------------------------------------------

    def _watch(self) -> None:
        import watchfiles

        root = str(self.root)

        def wanted(_change: watchfiles.Change, path: str) -> bool:
            rel = path[len(root) + 1 :] if path.startswith(root + "/") else ""
            return bool(rel) and not self.ignore.ignored(rel)

        for batch in watchfiles.watch(
            self.root,
            watch_filter=wanted,
            debounce=1600,
            step=20,
            stop_event=self.stop,
            rust_timeout=200,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            self._live.set()
            if batch:
                with self._cond:
                    self._pending.update(path for _, path in batch)
                    self._cond.notify()

    def start_watching(self) -> None:
        """Start the watcher and return once it sees changes."""
        threading.Thread(target=self._watch, name="sync-watch", daemon=True).start()
        self._live.wait(10)

    def run(self, *, connected: bool = False) -> None:
        """Push changes until `stop`; reconnect (full resync) whenever the channel drops."""
        if not self._live.is_set():
            self.start_watching()
        backoff = 0.5
        lost = not connected
        while not self.stop.is_set():
            if lost or self.channel is None or not self.channel.alive:
                try:
                    self.connect()
                    lost, backoff = False, 0.5
                except DevstackError as exc:
                    if not lost:
                        self.on_event(SyncEvent("lost", exc.message))
                    lost = True
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, 4.0)
                continue
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self.stop.is_set(), timeout=1)
                batch, self._pending = self._pending, set()
            if not batch:
                continue
            start = time.monotonic()
            try:
                result = push(
                    self.channel, self.root, self.ignore, batch, sending=self._baseline.update
                )
            except ChannelLost as exc:
                self.on_event(SyncEvent("lost", exc.message + "; resyncing in full on reconnect"))
                lost = True
                continue
            self._remember(result)
            self._report(result)
            self.on_event(
                SyncEvent(
                    "pushed",
                    f"{result.sent} sent, {result.deleted} deleted",
                    files=result.sent + result.deleted,
                    seconds=time.monotonic() - start,
                )
            )
        if self.channel is not None:
            self.channel.close()
