"""The watcher's actions: a rebuild (build while the old container serves, migrate if
migrations changed too, recreate, wait healthy) or a migration, with injectable steps
(`Runner`) so that `perform` is tested without an engine; `runner_for` wires them to a stack."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

from devstack import diagnose, migrations
from devstack.errors import DevstackError
from devstack.events import Events
from devstack.lifecycle import wait_on
from devstack.lock import project_lock
from devstack.stack import Stack
from devstack.watch.changes import Action


@dataclass(frozen=True)
class Step:
    name: str  # "build", "migrate", "recreate", "healthy"
    seconds: float


@dataclass(frozen=True)
class WatchEvent:
    """One action done: what triggered it, what ran, whether it worked, how long it took."""

    trigger: tuple[str, ...]
    action: Action
    result: Literal["ok", "failed"]
    seconds: float
    detail: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Runner:
    """The steps of the actions, injectable so the loop can be tested without an engine."""

    build: Callable[[], None]
    recreate: Callable[[], None]
    wait_healthy: Callable[[], None]
    migrate: Callable[[], str]  # returns the migration's output
    lock: Callable[[], AbstractContextManager[None]]
    cleanup: Callable[[], None] = lambda: None  # after an interrupt


def perform(
    action: Action, trigger: tuple[str, ...], runner: Runner, *, migrate_too: bool = False
) -> WatchEvent:
    """Run one action; a failure becomes a failed event, never an exception.

    A rebuild builds while the old container serves, migrates if migrations changed too,
    and only then recreates the app and waits on its health."""
    steps: list[Step] = []
    output = ""
    current: str = action
    start = time.monotonic()

    def step(name: str, fn: Callable[[], object]) -> None:
        nonlocal output, current
        current = name
        t = time.monotonic()
        result = fn()
        steps.append(Step(name, time.monotonic() - t))
        if isinstance(result, str):
            output = result

    try:
        with runner.lock():
            if action == "rebuild":
                step("build", runner.build)
                if migrate_too:
                    step("migrate", runner.migrate)
                step("recreate", runner.recreate)
                step("healthy", runner.wait_healthy)
            else:
                step("migrate", runner.migrate)
    except DevstackError as exc:
        exc = diagnose.explained(exc)
        detail = f"{current} failed: {exc.message}"
        if exc.details:
            detail += "\n" + _tail(exc.details, 30)
        if exc.hint:
            detail += f"\nhint: {exc.hint}"
        return WatchEvent(trigger, action, "failed", time.monotonic() - start, detail, tuple(steps))
    except Exception as exc:  # an unexpected failure must not end the watch either
        detail = f"{current} failed: {type(exc).__name__}: {exc}"
        return WatchEvent(trigger, action, "failed", time.monotonic() - start, detail, tuple(steps))
    return WatchEvent(
        trigger, action, "ok", time.monotonic() - start, _tail(output, 20), tuple(steps)
    )


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def runner_for(stack: Stack, events: Events) -> Runner:
    app = stack.project.require_app("devstack watch")
    timeout = stack.settings.wait_timeout

    def build() -> None:
        events.stage(f"building {app}")
        stack.engine.build([app], sink=events.line)

    def recreate() -> None:
        events.stage(f"recreating {app}")
        stack.engine.up([app], build=False, sink=events.detail)

    def wait_healthy() -> None:
        wait_on(stack, [app], timeout, events)  # the same wait as `up`

    def migrate() -> str:
        events.stage(f"migrating: {' '.join(stack.settings.migrate_command)}")
        return migrations.run_migrations(stack, sink=events.line).output

    def lock() -> AbstractContextManager[None]:
        return project_lock(
            stack.settings.state_dir, what="watch", timeout=timeout, on_wait=events.stage
        )

    def cleanup() -> None:
        migrations.remove_oneoffs(stack)

    return Runner(build, recreate, wait_healthy, migrate, lock, cleanup)
