"""`up` on a remote engine: the app's container starts with a command that waits, the code
is synced into it, migrations run there, then the app starts and the sync goes on in the
background (devstack.delivery.sync.daemon) with the port forwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devstack import migrations
from devstack.delivery.sync import daemon
from devstack.delivery.sync.session import Session, SyncEvent
from devstack.errors import DevstackError
from devstack.stack import Stack

if TYPE_CHECKING:
    from devstack.events import Events


def session_for(stack: Stack, on_event: object = None) -> Session:
    def report(event: SyncEvent) -> None:
        if callable(on_event):
            on_event(event)

    return Session(
        root=stack.settings.code_dir,
        mount_path=stack.settings.mount_path,
        state_dir=stack.settings.state_dir,
        find=lambda: daemon.app_container(stack),
        on_event=report,
        sync_ignore=stack.settings.sync_ignore,
    )


def start_app(
    stack: Stack, *, build: bool | None, migrate: bool, events: Events, follow: bool = True
) -> migrations.MigrationResult | None:
    """`follow=False`: synced once, no background sync after it."""
    app = stack.project.app
    events.stage(f"starting {app} on {stack.location.host} (it waits for the code)")
    stack.engine.up([app], build=build, sink=events.detail)

    def show(event: SyncEvent) -> None:
        if event.kind == "synced":
            events.stage(f"synced the code: {event.detail} in {event.seconds:.1f}s")
        elif event.kind in ("skipped", "kept", "errors"):
            events.line(f"sync: {event.detail}: {', '.join(event.paths[:10])}")

    session = session_for(stack, show)
    events.stage(f"syncing {stack.settings.code_dir} into {app}:{stack.settings.mount_path}")
    session.connect(release=False)
    migration = None
    try:
        if migrate and migrations.wanted(stack):
            events.stage(f"migrating: {' '.join(stack.settings.migrate_command)}")
            running = migrations.service(stack) == app
            migration = migrations.run_migrations(stack, sink=events.line, running=running)
        session.release()
    finally:
        if session.channel is not None:
            session.channel.close()
    if not follow:
        return migration
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
    return migration
