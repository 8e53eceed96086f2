"""The background sync of a project on a remote engine: started by `up`, stopped by `down`.

It runs `devstack sync run` detached (log and status under .devstack/sync/), which watches
the code, pushes changes into the app container and holds the port forwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devstack.delivery.base import StackView
from devstack.delivery.location import Location
from devstack.delivery.sync.forward import Forwarder
from devstack.delivery.sync.session import Session, SyncEvent


@dataclass(frozen=True)
class SyncStatus:
    running: bool
    pid: int | None
    state: str  # "not running", "starting", "watching", "lost"
    detail: str
    forwards: dict[str, str]  # port -> "ok" or why not
    updated: float | None


def folder(stack: StackView) -> Path:
    return stack.settings.state_dir / "sync"


def status(stack: StackView) -> SyncStatus:
    path = folder(stack) / "status.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    pid = data.get("pid")
    alive = isinstance(pid, int) and _ours(pid)
    return SyncStatus(
        running=alive,
        pid=pid if alive else None,
        state=str(data.get("state", "not running")) if alive else "not running",
        detail=str(data.get("detail", "")),
        forwards={str(k): str(v) for k, v in (data.get("forwards") or {}).items()},
        updated=data.get("updated"),
    )


def _ours(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"devstack" in b" ".join(cmdline) and b"sync" in cmdline and b"run" in cmdline


def start(stack: StackView) -> SyncStatus:
    """Start the background sync unless it runs; returns once it is watching (or failed)."""
    current = status(stack)
    if current.running:
        return current
    d = folder(stack)
    d.mkdir(parents=True, exist_ok=True)
    (d / "status.json").unlink(missing_ok=True)
    s = stack.settings
    cmd = [sys.executable, "-m", "devstack", "-C", str(s.project_dir), "-p", stack.name]
    for f in s.compose_files:
        cmd += ["-f", str(f)]
    cmd += ["sync", "run"]
    log_path = d / "log"
    if log_path.exists() and log_path.stat().st_size > 1_000_000:
        log_path.replace(d / "log.1")  # one older log is kept
    with open(log_path, "ab") as log:
        subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C
            close_fds=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = status(stack)
        if now.state in ("watching", "lost") and now.running:
            return now
        time.sleep(0.1)
    return status(stack)


def stop(stack: StackView, timeout: float = 5) -> bool:
    """Stop the background sync (and its forwards); True when one ran."""
    now = status(stack)
    if not now.running or now.pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(now.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _ours(now.pid):
        time.sleep(0.05)
    if _ours(now.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(now.pid, signal.SIGKILL)
    return True


def app_container(stack: StackView) -> str | None:
    running = [
        c for c in stack.containers() if c.service == stack.project.app and c.state == "running"
    ]
    return running[0].id if running else None


def session_for(
    stack: StackView,
    on_event: Callable[[SyncEvent], None],
    *,
    stop: threading.Event | None = None,
) -> Session:
    """The one way a sync session of this stack is built (by `up` and by the daemon)."""
    return Session(
        engine=stack.engine,
        root=stack.code.code_dir,
        mount_path=stack.code.target,
        state_dir=stack.settings.state_dir,
        find=lambda: app_container(stack),
        on_event=on_event,
        sync_ignore=stack.settings.sync_ignore,
        stop=stop or threading.Event(),
    )


def published_ports(stack: StackView) -> list[int]:
    return sorted(
        {
            p.host_port
            for c in stack.containers()
            if c.state == "running"
            for p in c.ports
            if p.host_port
        }
    )


def serve(
    stack: StackView,
    location: Location,
    *,
    stop_event: threading.Event,
    on_event: Callable[[SyncEvent], None],
) -> None:
    """The background sync's body: watch, push, forward, until `stop_event`."""
    path = folder(stack) / "status.json"
    state: dict[str, Any] = {"pid": os.getpid(), "state": "starting", "detail": "", "forwards": {}}

    def save(**changes: Any) -> None:
        state.update(changes, updated=time.time())
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)

    def handle(event: SyncEvent) -> None:
        on_event(event)
        if event.kind == "lost":
            save(state="lost", detail=event.detail)
        elif event.kind in ("synced", "pushed"):
            save(state="watching", detail=event.detail, last=asdict(event))

    forwarder = Forwarder(location)

    def forward() -> None:
        try:
            done = forwarder.ensure(published_ports(stack))
            save(forwards={str(f.port): "ok" if f.ok else f.detail for f in done})
        except Exception as exc:  # the engine is away: try again on the next tick
            save(forwards={"error": str(exc)})

    def forward_loop() -> None:
        while not stop_event.wait(2):
            forward()

    session = session_for(stack, handle, stop=stop_event)
    save()
    session.start_watching()
    forward()
    threading.Thread(target=forward_loop, name="forward", daemon=True).start()
    try:
        session.run()
    finally:
        forwarder.close()
        save(state="stopped", pid=None)
