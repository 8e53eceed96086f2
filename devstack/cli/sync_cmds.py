"""`sync run`, `sync pull`, `sync status`: the code sync for a remote engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from devstack.cli.context import globals_of

if TYPE_CHECKING:
    from devstack.delivery.sync.session import SyncEvent

sync_app = typer.Typer(
    help="Code sync for a remote engine (started by `up`, stopped by `down`).",
    no_args_is_help=True,
)


@sync_app.command("run")
def run(ctx: typer.Context) -> None:
    """Sync and forward ports in the foreground until Ctrl-C (what `up` runs in the background)."""
    import signal
    import threading

    g = globals_of(ctx)
    stack = g.stack()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def show(event: SyncEvent) -> None:
        import time

        took = f" in {event.seconds:.2f}s" if event.seconds else ""
        paths = f": {', '.join(event.paths[:20])}" if event.paths else ""
        g.output.line(f"{time.strftime('%H:%M:%S')} {event.kind}: {event.detail}{took}{paths}")

    try:
        stack.delivery.serve(stack, stop=stop, on_event=show)
    except KeyboardInterrupt:
        stop.set()


@sync_app.command("pull")
def pull(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Paths in the code directory."),
) -> None:
    """Copy files the app wrote in its container back to this machine."""
    from devstack.delivery.sync.pull import pull as do_pull

    g = globals_of(ctx)
    copied = do_pull(g.stack(), paths)
    if g.json:
        g.output.json({"copied": copied})
    else:
        for path in copied:
            g.output.result(f"copied {path}")


@sync_app.command("status")
def status(ctx: typer.Context) -> None:
    """Whether the background sync runs, its last event and the port forwards."""
    from devstack.delivery.sync import daemon

    g = globals_of(ctx)
    stack = g.stack()
    result = daemon.status(stack)
    if g.json:
        g.output.json({"engine": stack.delivery.location.host, "delivery": stack.delivery.kind,
                       **result.__dict__})  # fmt: skip
    else:
        g.output.result(f"engine: {stack.delivery.location.describe()}")
        g.output.result(f"sync: {result.state} {result.detail}".rstrip())
        for port, why in sorted(result.forwards.items()):
            g.output.result(f"port {port}: {'forwarded' if why == 'ok' else why}")
