"""Watching the project on the host: rebuild the app on dependency changes, migrate on new
migrations, leave everything else to the in-container reloader.

The pieces are separate so each can be tested alone: `watch_changes` (what a change means,
`classify`, pure; the `Coalescer` that batches changes), `watch_actions` (an action with
injectable steps, `perform`), `loop` here (fed any iterator of change batches), and `watch`,
which wires them to watchfiles and a stack.
"""

from __future__ import annotations

import configparser
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.events import Events, Silent
from devstack.stack import Stack
from devstack.watch.actions import Runner, WatchEvent, perform, runner_for
from devstack.watch.changes import (
    IGNORED_DIRS,
    Action,
    Coalescer,
    FileChange,
    Rules,
    classify,
    ignored,
    is_dependency,
    triggers,
)


@dataclass(frozen=True)
class Watching:
    """The watcher is live: changes from now on are seen."""

    paths: tuple[str, ...]
    dependency_files: tuple[str, ...]
    dockerfile: str | None
    migrations_dir: str | None


@dataclass(frozen=True)
class ActionStarted:
    trigger: tuple[str, ...]
    action: Action


@dataclass(frozen=True)
class WatchSummary:
    actions: int
    failed: int
    seconds: float
    interrupted: bool


Event = Watching | ActionStarted | WatchEvent


# ---- the loop ---------------------------------------------------------------------------


def loop(
    batches: Iterable[Iterable[FileChange]],
    *,
    rules: Rules,
    runner: Runner,
    debounce: float,
    stop: threading.Event,
    on_event: Callable[[Event], None],
    max_actions: int | None = None,
) -> WatchSummary:
    """Gather change batches (read on a thread) and run one action at a time.

    The first batch from `batches` (an empty one is fine) means the watcher is live.
    Changes that arrive during an action are coalesced into exactly one follow-up.
    Ends when `batches` ends, `stop` is set, or after `max_actions`; Ctrl-C ends it too."""
    pending = Coalescer(debounce)
    ready = threading.Event()
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            for batch in batches:
                ready.set()
                pending.add((k, p) for k, p in batch if not ignored(p))
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)
        finally:
            ready.set()
            pending.close()

    feeder = threading.Thread(target=feed, name="devstack-watch", daemon=True)
    feeder.start()
    start = time.monotonic()
    actions = failed = 0
    interrupted = False
    try:
        while not ready.wait(0.2):
            pass
        if not failure:
            on_event(
                Watching(
                    paths=tuple(str(p) for p in rules.paths),
                    dependency_files=rules.dependency_files,
                    dockerfile=str(rules.dockerfile) if rules.dockerfile else None,
                    migrations_dir=str(rules.migrations_dir) if rules.migrations_dir else None,
                )
            )
        while max_actions is None or actions < max_actions:
            batch = pending.take(stop)
            if batch is None:
                break
            action = classify(batch, rules)
            if action is None:
                continue
            trigger = triggers(batch, rules)
            on_event(ActionStarted(trigger, action))
            migrate_too = (
                action == "rebuild"
                and classify([c for c in batch if not is_dependency(Path(c[1]), rules)], rules)
                == "migrate"
            )
            event = perform(action, trigger, runner, migrate_too=migrate_too)
            actions += 1
            failed += event.result == "failed"
            on_event(event)
    except KeyboardInterrupt:
        interrupted = True
        runner.cleanup()
    finally:
        stop.set()
        feeder.join(timeout=1)
    if failure and not interrupted and not isinstance(failure[0], KeyboardInterrupt):
        raise failure[0]
    return WatchSummary(actions, failed, time.monotonic() - start, interrupted)


# ---- wiring to a stack ------------------------------------------------------------------


def find_migrations_dir(code_dir: Path, configured: str | None) -> Path | None:
    """The configured folder, else alembic.ini's script_location + /versions."""
    if configured:
        path = Path(configured)
        return (path if path.is_absolute() else code_dir / path).resolve()
    ini = code_dir / "alembic.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(ini)
        location = parser.get("alembic", "script_location", fallback="")
    except configparser.Error:
        return None
    location = location.replace("%(here)s", str(code_dir)).strip()
    if not location or (":" in location and not Path(location).is_absolute()):
        return None  # a package resource ("pkg:migrations"): not a folder we can watch
    path = Path(location)
    return ((path if path.is_absolute() else code_dir / path) / "versions").resolve()


def find_dockerfile(stack: Stack) -> Path | None:
    """The app service's build Dockerfile (from the resolved model the stack holds)."""
    dockerfile = stack.project.services[stack.project.app].dockerfile
    return Path(dockerfile) if dockerfile else None


def rules_for(stack: Stack) -> Rules:
    settings = stack.settings
    code = settings.code_dir.resolve()
    return Rules(
        code_dir=code,
        dependency_files=settings.watch.dependency_files,
        dockerfile=find_dockerfile(stack),
        migrations_dir=find_migrations_dir(code, settings.watch.migrations_dir),
        rebuild_paths=stack.runtime.rebuild_paths() if stack.runtime else (),
    )


def changes_of(
    rules: Rules, *, debounce_ms: int, stop: threading.Event
) -> Iterator[list[FileChange]]:
    """Real file-system changes from watchfiles; an empty batch now and then while idle."""
    import watchfiles

    class _Filter(watchfiles.DefaultFilter):
        ignore_dirs = (*watchfiles.DefaultFilter.ignore_dirs, *IGNORED_DIRS)

    for batch in watchfiles.watch(
        *rules.paths,
        watch_filter=_Filter(),
        debounce=max(debounce_ms, 50),
        step=50,
        stop_event=stop,
        rust_timeout=500,
        yield_on_timeout=True,
        raise_interrupt=False,
    ):
        yield [(change.name, path) for change, path in batch]


def watch(
    stack: Stack,
    *,
    on_event: Callable[[Event], None],
    events: Events | None = None,
    stop: threading.Event | None = None,
    max_actions: int | None = None,
) -> WatchSummary:
    """Watch the stack's project until Ctrl-C (or `stop`, or `max_actions`)."""
    rules = rules_for(stack)
    stop = stop or threading.Event()
    debounce_ms = stack.settings.watch.debounce_ms
    return loop(
        changes_of(rules, debounce_ms=debounce_ms, stop=stop),
        rules=rules,
        runner=runner_for(stack, events or Silent()),
        debounce=debounce_ms / 1000,
        stop=stop,
        on_event=on_event,
        max_actions=max_actions,
    )
