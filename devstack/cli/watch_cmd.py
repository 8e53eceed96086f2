"""`devstack watch`: rebuild on dependency changes, migrate on new migrations."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer

from devstack.cli.context import Events, Globals, events_for, globals_of

if TYPE_CHECKING:
    from devstack.cli.output import Output
    from devstack.stack import Stack
    from devstack.watch.loop import Event, WatchSummary


def event_data(event: Event) -> dict[str, Any]:
    """An event as one JSON object: {"event": "watching" | "started" | "done" | ..., ...}."""
    from devstack.watch.loop import ActionStarted, Watching

    kind = "watching" if isinstance(event, Watching) else "started"
    if not isinstance(event, Watching | ActionStarted):
        kind = "done"
    data = asdict(event)
    if "seconds" in data:
        data["seconds"] = round(data["seconds"], 3)
    for step in data.get("steps", []):
        step["seconds"] = round(step["seconds"], 3)
    return {"event": kind, **data}


class Renderer:
    """Watch events as plain lines, or one JSON object per line. `events` (the progress of
    the action under way) is closed when an action ends, so nothing stays live while idle."""

    def __init__(self, output: Output, events: Events | None = None) -> None:
        self.output = output
        self.events = events

    def emit(self, data: dict[str, Any]) -> None:
        print(self.output.redact(json.dumps(data)), flush=True)

    def __call__(self, event: Event) -> None:
        from devstack.watch.loop import ActionStarted, Watching

        o = self.output
        if self.events is not None and not isinstance(event, ActionStarted):
            self.events.close()
        if o.json_mode:
            self.emit(event_data(event))
        elif isinstance(event, Watching):
            o.stage(f"watching {', '.join(event.paths)} (Ctrl-C stops)")
            deps = [*event.dependency_files, *([event.dockerfile] if event.dockerfile else [])]
            o.info(f"  rebuild the app on: {', '.join(deps)}")
            if event.migrations_dir:
                o.info(f"  migrate on: {event.migrations_dir}/*.py")
            o.info("  anything else: left to the app's reloader")
        elif isinstance(event, ActionStarted):
            verb = "rebuilding the app" if event.action == "rebuild" else "migrating"
            o.stage(f"{_files(event.trigger)} changed: {verb}")
        else:
            steps = ", ".join(f"{s.name} {s.seconds:.1f}s" for s in event.steps)
            if event.result == "ok":
                what = "rebuilt the app" if event.action == "rebuild" else "migrated"
                o.result(f"{what} in {event.seconds:.1f}s ({steps}); watching")
            else:
                o.error_line(f"{event.action} failed after {event.seconds:.1f}s")
                print(o.redact(event.detail), file=sys.stderr)
                still = "; the app container was not replaced" * (event.action == "rebuild")
                o.info(f"still watching{still}; fix it and save again")

    def summary(self, summary: WatchSummary, *, down: bool) -> None:
        if self.output.json_mode:
            self.emit({"event": "stopped", **asdict(summary), "down": down})
        else:
            left = "stack stopped" if down else "stack left running (`devstack down` stops it)"
            self.output.info(
                f"stopped watching after {summary.actions} action(s), "
                f"{summary.failed} failed; {left}"
            )


def _files(trigger: tuple[str, ...]) -> str:
    return ", ".join(trigger[:3]) + (f" and {len(trigger) - 3} more" if len(trigger) > 3 else "")


def run_watch(g: Globals, stack: Stack, *, down_on_exit: bool = False) -> None:
    """Watch until Ctrl-C; with `down_on_exit`, then tear the stack down."""
    from devstack import lifecycle
    from devstack.watch.loop import watch as watch_core

    events = events_for(g.output)
    render = Renderer(g.output, events)
    try:
        summary = watch_core(stack, on_event=render, events=events)
    finally:
        events.close()
        if down_on_exit:
            lifecycle.down(stack, events=events)
            events.close()
    render.summary(summary, down=down_on_exit)


def watch(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="One JSON event per line."),
    down_on_exit: bool = typer.Option(
        False, "--down-on-exit", help="Tear the stack down when watching stops."
    ),
) -> None:
    """Watch the project: rebuild the app on dependency changes, migrate on new migrations."""
    g = globals_of(ctx)
    if json_out:
        g.use_json()
    run_watch(g, g.stack(), down_on_exit=down_on_exit)
