"""`devstack test`: bring a throw-away copy of the stack up as `up` does (readiness, then
the migrations or the project's prestart), run the test command in its app container
against the working tree, and always tear the copy down with its volumes."""

from __future__ import annotations

import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devstack import lifecycle
from devstack.config import Settings
from devstack.engine import resources
from devstack.errors import DevstackError, Interrupted
from devstack.events import Events, Silent
from devstack.stack import Stack, open_stack
from devstack.testrun import command, copy, orphans
from devstack.testrun.owners import OF

if TYPE_CHECKING:
    from devstack.testrun.collect import Collector


@dataclass(frozen=True)
class Plan:
    """What a run will do, known before anything starts (the first lines say it)."""

    settings: Settings
    dev_project: str
    name: str  # the copy's compose project
    command: command.TestCommand
    engine: str  # the engine, as `up` describes it
    keep: bool


@dataclass(frozen=True)
class TestRun:
    name: str
    command: str
    exit_code: int
    ready_seconds: float
    test_seconds: float
    teardown_seconds: float | None  # None: kept (--keep)
    removed_orphans: tuple[str, ...] = ()
    collected: tuple[str, ...] = ()  # files the tests wrote, copied back from a remote engine
    reach: tuple[str, ...] = ()  # with --keep: how to reach the copy and remove it

    __test__ = False  # not a pytest class, whatever its name

    @property
    def outcome(self) -> str:
        return "passed" if self.exit_code == 0 else f"failed (exit {self.exit_code})"


def plan(settings: Settings, args: Sequence[str] = (), *, keep: bool = False) -> Plan:
    dev = open_stack(settings)
    return Plan(
        settings=settings,
        dev_project=dev.name,
        name=copy.new_name(dev.name),
        command=command.resolve(settings, args, code=command.code_of(dev)),
        engine=dev.delivery.location.describe(),
        keep=keep,
    )


def run(
    the_plan: Plan,
    *,
    tty: bool = False,
    events: Events | None = None,
    before_tests: Callable[[], None] | None = None,
) -> TestRun:
    """Run the tests in a fresh copy; the copy is removed whatever happens (unless kept).
    The test command's exit code is the result's; a failure to start the copy raises.
    `before_tests` is called just before the tests take the terminal."""
    ev = events or Silent()
    settings = the_plan.settings
    removed = orphans.remove(the_plan.dev_project, settings.state_dir, on_note=ev.stage)
    start = time.monotonic()
    stage = "opening the copy"
    stack: Stack | None = None
    code: int | None = None
    ready = tests = 0.0
    collected: list[str] = []
    try:
        stack = copy.open_copy(settings, the_plan.dev_project, the_plan.name, keep=the_plan.keep)
        stage = "starting the copy"
        lifecycle.up(stack, events=ev, follow=False)  # the tree as it is now, synced once
        ready = time.monotonic() - start
        stage = "running the tests"
        ev.stage(f"running {the_plan.command.shown} in {stack.project.app} ({ready:.1f}s to ready)")
        began = time.monotonic()
        before = _collector(stack)
        if before_tests:
            before_tests()
        code = stack.engine.execute(stack.project.app, the_plan.command.argv, tty=tty)
        tests = time.monotonic() - began
        if before is not None:
            collected = before.back()
    except (KeyboardInterrupt, Interrupted):
        seconds = _teardown(the_plan, stack, ev)
        raise Interrupted(
            f"interrupted while {stage}",
            hint=f"the test copy {the_plan.name} was removed in {seconds:.1f}s",
        ) from None
    except DevstackError as exc:
        if the_plan.keep:
            note = f"(the test copy {the_plan.name} was kept; `devstack test --clean` removes it)"
        else:
            note = f"(the test copy was removed in {_teardown(the_plan, stack, ev):.1f}s)"
        exc.details = "\n".join(filter(None, [exc.details, note]))
        raise
    assert code is not None
    return TestRun(
        name=the_plan.name,
        command=the_plan.command.shown,
        exit_code=code,
        ready_seconds=ready,
        test_seconds=tests,
        teardown_seconds=None if the_plan.keep else _teardown(the_plan, stack, ev),
        removed_orphans=tuple(removed),
        collected=tuple(collected),
        reach=_reach(stack) if the_plan.keep else (),
    )


def _teardown(the_plan: Plan, stack: Stack | None, ev: Events) -> float:
    """Remove the copy: compose's down with volumes, then whatever still carries its
    labels (a copy interrupted half-made), then its state folder. A second Ctrl-C does
    not cut it short."""
    start = time.monotonic()
    with _uninterrupted():
        ev.stage(f"removing the test copy {the_plan.name}")
        if stack is not None:
            try:
                lifecycle.down(stack, volumes=True, events=Silent())
            except DevstackError as exc:
                ev.stage(f"compose could not remove the copy ({exc.message}); removing it directly")
        left = [
            r
            for r in resources.labelled(f"{OF}={the_plan.dev_project}")
            if r.project == the_plan.name
        ]
        resources.remove(left)
        shutil.rmtree(copy.folder(the_plan.settings, the_plan.name), ignore_errors=True)
    return time.monotonic() - start


@contextmanager
def _uninterrupted() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _collector(stack: Stack) -> Collector | None:
    if stack.delivery.code_is_shared:
        return None  # the tests wrote into the bind-mounted tree itself
    from devstack.testrun import collect

    return collect.Collector.start(stack)


def _reach(stack: Stack | None) -> tuple[str, ...]:
    if stack is None:
        return ()
    lines = []
    for c in sorted(stack.containers(), key=lambda c: c.service):
        where = ", ".join(f"{a}:{p}" for a in c.addresses for p in c.exposed)
        lines.append(f"{c.service}: container {c.name}" + (f" at {where}" if where else ""))
        if c.service == stack.project.app:
            lines.append(f"shell in {c.service}: docker exec -it {c.name} sh")
    return tuple(lines)
