"""The code synced into the app container: an engine that cannot see this machine's files
(ssh://, tcp:// to another host). The app's command waits until the first sync put the
code in place; a background sync (sync/daemon.py) then pushes every change and holds the
port forwards; a migration runs in the app container, which holds the synced code."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from devstack.delivery.base import DeliveryState, LineSink, StackView
from devstack.delivery.location import Location
from devstack.errors import DevstackError, MigrationFailed

if TYPE_CHECKING:
    from devstack.delivery.sync.session import Session, SyncEvent
    from devstack.engine.client import Held
    from devstack.events import Events
    from devstack.runtime import Runtime

T = TypeVar("T")


def waiting() -> list[str]:
    """A prefix for the app's entrypoint or command: run it once the first sync put the
    ready marker in place."""
    # Imported here: the sync machinery loads only for a stack that syncs (start-up time).
    from devstack.delivery.sync.channel import MARKER

    wait = f'while [ ! -e {MARKER} ]; do sleep 0.05; done; exec "$@"'
    return ["/bin/sh", "-c", wait, "devstack-sync"]


@dataclass(frozen=True)
class Synced:
    location: Location
    kind: str = "sync"

    @property
    def code_is_shared(self) -> bool:
        return False  # a copy: `sync pull` brings files back

    def app_fragment(self, runtime: Runtime, state_dir: Path) -> dict[str, Any]:
        """Never a mount (the engine's host lacks the code): the runtime's entrypoint, or
        else its command, waits for the first sync."""
        entrypoint, command = runtime.entrypoint(), runtime.command()
        if entrypoint is not None:
            return {"entrypoint": [*waiting(), *entrypoint], "command": command or []}
        if command is not None:
            return {"command": [*waiting(), *command]}
        return {}

    def start_app(
        self,
        stack: StackView,
        *,
        build: bool | None,
        migrate: Callable[[], T] | None,
        events: Events,
        on_stage: Callable[[str], None],
        follow: bool = True,
    ) -> T | None:
        """Start the app's container (its command waits), sync the code into it, migrate
        there, then let the app start and hand the sync to the background."""
        from devstack.delivery.sync import daemon  # only a syncing stack loads it (start-up)

        app = stack.project.app
        on_stage("starting the app")
        events.stage(f"starting {app} on {self.location.host} (it waits for the code)")
        stack.engine.up([app], build=build, sink=events.detail)

        def show(event: SyncEvent) -> None:
            if event.kind == "synced":
                events.stage(f"synced the code: {event.detail} in {event.seconds:.1f}s")
            elif event.kind in ("skipped", "kept", "errors"):
                events.line(f"sync: {event.detail}: {', '.join(event.paths[:10])}")

        on_stage("syncing the code")
        session = daemon.session_for(stack, show)
        events.stage(f"syncing {stack.code.code_dir} into {app}:{stack.code.target}")
        session.connect(release=False)
        try:
            result = migrate() if migrate else None
            session.release()
        finally:
            _close(session)
        if not follow:  # synced once: no background sync (a test copy runs the tree as it was)
            return result
        on_stage("starting the background sync")
        status = daemon.start(stack)
        if not status.running:
            log = daemon.folder(stack) / "log"
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            raise DevstackError(
                "the background sync did not start",
                hint=f"its log is {log}; `devstack sync run` runs it in the foreground",
                details="\n".join(tail),
            )
        for port, why in sorted(status.forwards.items()):
            if why != "ok":
                events.line(f"port {port} is not forwarded to this machine: {why}")
        return result

    def run_current(
        self, stack: StackView, service: str, command: Sequence[str], *, name: str, sink: LineSink
    ) -> int:
        """In the running app container, which holds the synced code, once the code there
        is the host's (a change the background sync has not pushed yet is pushed now).
        Another service gets no synced code: a one-off of its image. The app not running is
        an error: a one-off would hold the image's copy and run stale code."""
        from devstack.delivery.sync import daemon  # only a syncing stack loads it (start-up)

        if service != stack.project.app:
            return stack.engine.run(service, command, name=name, sink=sink)
        if daemon.app_container(stack) is None:
            raise MigrationFailed(
                f"{service} is not running: on {self.location.host} only its running container "
                "holds your synced code (a one-off container would run the image's copy)",
                hint=f"`devstack up` starts {service}, then run this again",
            )
        session = daemon.session_for(stack, lambda _event: None)
        try:
            session.connect(release=False)
        finally:
            _close(session)
        return stack.engine.exec_service(service, command, sink=sink)

    def hold_current(
        self, stack: StackView, service: str, command: Sequence[str], *, name: str
    ) -> Held | None:
        return None  # it runs in the app container, once the code is synced there

    def stop(self, stack: StackView) -> str:
        from devstack.delivery.sync import daemon  # only a syncing stack loads it (start-up)

        return "stopped the background sync and its port forwards" if daemon.stop(stack) else ""

    def state(self, stack: StackView) -> DeliveryState:
        from devstack.delivery.sync import daemon  # only a syncing stack loads it (start-up)

        st = daemon.status(stack)
        sync = f"{st.state}: {st.detail}" if st.detail and st.running else st.state
        return DeliveryState(engine=self.location.host, sync=sync, note=self.location.describe())

    def serve(
        self, stack: StackView, *, stop: threading.Event, on_event: Callable[[Any], None]
    ) -> None:
        from devstack.delivery.sync import daemon  # only a syncing stack loads it (start-up)

        daemon.serve(stack, self.location, stop_event=stop, on_event=on_event)

    def probe_from(self, setting: str) -> str:
        # The engine's network is on another machine: the image's own client, in it.
        return setting if setting in ("host", "container") else "container"

    def abandoned(self, directory: Path) -> bool:
        return False  # a directory missing here may be another machine's

    def engine_files(self, code_dir: Path) -> str:
        ports = "published ports are forwarded over ssh"
        if not self.location.can_forward:
            ports = (
                f"published ports cannot be forwarded over {self.location.scheme}:// (use ssh://)"
            )
        return f"{self.location.describe()}; {ports}"

    def mount_check(self) -> str | None:
        return "remote engine: the code is synced, not mounted"

    def snapshot_socket(self) -> str | None:
        return None  # the reads go through the sync's state, resolved in full


def _close(session: Session) -> None:
    if session.channel is not None:
        session.channel.close()
