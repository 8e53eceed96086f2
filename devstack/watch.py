"""Watching the project on the host: rebuild the app on dependency changes, migrate on new
migrations, leave everything else to the in-container reloader.

The pieces are separate so each can be tested alone: `classify` (pure), `Coalescer` and
`loop` (fed any iterator of change batches), `perform` (an action with injectable steps),
and `watch`, which wires them to watchfiles and a stack.
"""

from __future__ import annotations

import configparser
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from devstack import migrations
from devstack.errors import DevstackError
from devstack.health import wait_ready
from devstack.lifecycle import Events, Silent
from devstack.lock import project_lock
from devstack.stack import Stack

Action = Literal["rebuild", "migrate"]
FileChange = tuple[str, str]  # ("added" | "modified" | "deleted", absolute path)
IGNORED_DIRS = (".git", ".venv", "__pycache__", "node_modules", ".devstack")


@dataclass(frozen=True)
class Rules:
    """What a change means: which files are dependencies, where migrations live."""

    code_dir: Path
    dependency_files: tuple[str, ...]  # name patterns, or paths relative to code_dir with a /
    dockerfile: Path | None = None  # the app's build Dockerfile, wherever it lives
    migrations_dir: Path | None = None

    @property
    def paths(self) -> tuple[Path, ...]:
        """What to watch: the code, and the Dockerfile's folder when it lies outside it.

        A Dockerfile in a folder above the code is watched as a file, not its whole tree."""
        out = [self.code_dir]
        df = self.dockerfile
        if df is not None and not _within(df, self.code_dir):
            out.append(df if _within(self.code_dir, df.parent) else df.parent)
        return tuple(out)


@dataclass(frozen=True)
class Step:
    name: str  # "build", "migrate", "recreate", "healthy"
    seconds: float


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
class WatchEvent:
    """One action done: what triggered it, what ran, whether it worked, how long it took."""

    trigger: tuple[str, ...]
    action: Action
    result: Literal["ok", "failed"]
    seconds: float
    detail: str = ""
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class WatchSummary:
    actions: int
    failed: int
    seconds: float
    interrupted: bool


Event = Watching | ActionStarted | WatchEvent

# ---- what a change means ----------------------------------------------------------------


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def is_dependency(path: Path, rules: Rules) -> bool:
    if rules.dockerfile is not None and path == rules.dockerfile:
        return True
    if not _within(path, rules.code_dir):
        return False
    rel = path.relative_to(rules.code_dir).as_posix()
    return any(fnmatch(rel if "/" in p else path.name, p) for p in rules.dependency_files)


def is_migration(kind: str, path: Path, rules: Rules) -> bool:
    d = rules.migrations_dir
    return d is not None and kind != "deleted" and path.suffix == ".py" and d in path.parents


def classify(changes: Iterable[FileChange], rules: Rules) -> Action | None:
    """The action a batch of changes calls for; a rebuild wins over a migration."""
    action: Action | None = None
    for kind, raw in changes:
        path = Path(raw)
        if is_dependency(path, rules):
            return "rebuild"
        if is_migration(kind, path, rules):
            action = "migrate"
    return action


def triggers(changes: Iterable[FileChange], rules: Rules) -> tuple[str, ...]:
    """The changed files that called for an action, relative to the code where they can be."""
    out = set()
    for kind, raw in changes:
        path = Path(raw)
        if is_dependency(path, rules) or is_migration(kind, path, rules):
            rel = _within(path, rules.code_dir)
            out.add(path.relative_to(rules.code_dir).as_posix() if rel else str(path))
    return tuple(sorted(out))


def ignored(path: str) -> bool:
    return any(part in IGNORED_DIRS for part in Path(path).parts)


# ---- coalescing -------------------------------------------------------------------------


class Coalescer:
    """Changes gathered between actions: everything that arrives while an action runs
    becomes one next batch, handed out once no change has come for `quiet` seconds."""

    def __init__(self, quiet: float, *, longest: float = 10.0) -> None:
        self.quiet = quiet
        self.longest = longest  # a steady stream of changes still gets handled
        self._pending: set[FileChange] = set()
        self._first = 0.0
        self._last = 0.0
        self._closed = False
        self._cond = threading.Condition()

    def add(self, batch: Iterable[FileChange]) -> None:
        batch = set(batch)
        if not batch:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending |= batch
            self._last = now
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, stop: threading.Event) -> set[FileChange] | None:
        """The next settled batch; None once closed (or stopped) with nothing pending."""
        with self._cond:
            while True:
                if stop.is_set():
                    return None
                now = time.monotonic()
                if self._pending:
                    settled = now - self._last >= self.quiet or now - self._first >= self.longest
                    if settled or self._closed:
                        batch, self._pending = self._pending, set()
                        return batch
                    wait = min(self.quiet - (now - self._last), self.longest - (now - self._first))
                elif self._closed:
                    return None
                else:
                    wait = 0.2
                self._cond.wait(max(0.01, min(wait, 0.2)))


# ---- actions ----------------------------------------------------------------------------


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
        detail = f"{current} failed: {exc.message}"
        if exc.details:
            detail += "\n" + _tail(exc.details, 30)
        return WatchEvent(trigger, action, "failed", time.monotonic() - start, detail, tuple(steps))
    except Exception as exc:  # an unexpected failure must not end the watch either
        detail = f"{current} failed: {type(exc).__name__}: {exc}"
        return WatchEvent(trigger, action, "failed", time.monotonic() - start, detail, tuple(steps))
    return WatchEvent(
        trigger, action, "ok", time.monotonic() - start, _tail(output, 20), tuple(steps)
    )


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


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
    """The app service's build Dockerfile from the resolved compose model."""
    spec = (stack.engine.config().get("services") or {}).get(stack.project.app) or {}
    build = spec.get("build")
    if not isinstance(build, dict):
        return None
    context = Path(str(build.get("context") or stack.settings.project_dir))
    if not context.is_absolute():
        context = stack.settings.project_dir / context
    dockerfile = Path(str(build.get("dockerfile") or "Dockerfile"))
    return (dockerfile if dockerfile.is_absolute() else context / dockerfile).resolve()


def rules_for(stack: Stack) -> Rules:
    settings = stack.settings
    code = settings.code_dir.resolve()
    return Rules(
        code_dir=code,
        dependency_files=settings.watch.dependency_files,
        dockerfile=find_dockerfile(stack),
        migrations_dir=find_migrations_dir(code, settings.watch.migrations_dir),
    )


def runner_for(stack: Stack, events: Events) -> Runner:
    app = stack.project.app
    timeout = stack.settings.wait_timeout

    def build() -> None:
        events.stage(f"building {app}")
        stack.engine.build([app], sink=events.line)

    def recreate() -> None:
        events.stage(f"recreating {app}")
        stack.engine.up([app], build=False, sink=events.detail)

    def wait_healthy() -> None:
        wait_ready(stack.engine, stack.name, [app], timeout=timeout, on_progress=events.progress)

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
