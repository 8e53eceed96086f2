"""Bringing a stack up and down."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devstack import status
from devstack.errors import DevstackError, Interrupted
from devstack.events import Events, Silent

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Protocol

    from devstack import migrations
    from devstack.engine import LineSink
    from devstack.engine.client import Held
    from devstack.stack import Stack

    class DownSettings(Protocol):
        @property
        def state_dir(self) -> Path: ...
        @property
        def wait_timeout(self) -> float: ...
        @property
        def stop_timeout(self) -> int: ...

    class DownEngine(Protocol):
        def down(self, *, volumes: bool, timeout: int, sink: LineSink | None = None) -> None: ...
        def volumes(self, project: str) -> list[str]: ...

    class Teardown(Protocol):
        """What `down` needs of a stack: an open Stack, or one from the read snapshot
        (devstack.cli.quick)."""

        @property
        def name(self) -> str: ...
        @property
        def settings(self) -> DownSettings: ...
        @property
        def engine(self) -> DownEngine: ...
        def stop_delivery(self) -> str: ...
        def ensure_ours(self, on_note: Callable[[str], None] | None = None) -> None: ...

# What only up, down and migrate use is imported there: `ps` reads this module too, and its
# start-up is measured against `docker compose ps`.


@dataclass(frozen=True)
class UpResult:
    project: str
    services: tuple[status.ServiceReport, ...]
    migration: migrations.MigrationResult | None
    seconds: float
    migrated_by: str | None = None  # the app's prestart script, when it runs the migrations


@dataclass(frozen=True)
class DownResult:
    project: str
    containers: int
    volumes_deleted: tuple[str, ...]
    volumes_kept: tuple[str, ...]
    seconds: float
    test_copies: tuple[str, ...] = ()  # copies left by a killed `devstack test`, removed


def wait_on(
    stack: Stack,
    services: Sequence[str],
    timeout: float,
    ev: Events,
    judged: dict[str, str] | None = None,
) -> dict[str, float]:
    """wait_ready for `services` of this stack, progress to `ev`, probes reaching the
    containers as the delivery says (`probe_from` overrides): the one wait of up, migrate
    and watch."""
    from devstack.readiness.health import wait_ready

    return wait_ready(
        stack.engine,
        stack.name,
        services,
        timeout=timeout,
        on_progress=ev.progress,
        probe_from=stack.delivery.probe_from(stack.settings.probe_from),
        judged=judged,
        oneshots=stack.project.oneshots,
        checked=stack.project.checked,
        replicas={n: s.replicas for n, s in stack.project.services.items()},
    )


def up(
    stack: Stack,
    services: Sequence[str] = (),
    *,
    build: bool | None = None,
    migrate: bool = True,
    wait_timeout: float | None = None,
    events: Events | None = None,
    follow: bool = True,
) -> UpResult:
    """Start dependencies, wait on their health, migrate, start the app, wait on it.
    `follow=False`: the delivery keeps nothing running beside the stack (a synced tree is
    synced once, with no background sync after it: `devstack test`'s copy runs the tree as
    it was)."""
    from devstack import diagnose, migrations
    from devstack.lock import project_lock

    ev = events or Silent()
    timeout = wait_timeout or stack.settings.wait_timeout
    app = stack.project.app
    waves = stack.project.waves(services or list(stack.project.services))
    order = [s for wave in waves for s in wave]
    start = time.monotonic()
    stage = "starting"
    with project_lock(stack.settings.state_dir, what="up", timeout=timeout, on_wait=ev.stage):
        stack.ensure_ours(ev.stage)
        stack.claim_volumes()
        runtime = stack.runtime
        if runtime is not None and app and app in order:
            for note in runtime.notes():  # how the app runs, when not as it could
                ev.stage(f"{app}: {note}")
        held: Held | None = None  # the migration's one-off, made ready during the last wait
        try:
            ready: dict[str, float] = {}
            judged: dict[str, str] = {}
            migration = None
            migrated_by = None
            if stack.project.app_reason not in ("configured", "named app"):
                ev.stage(stack.project.app_note())
            if migrate and app and [app] in waves:
                migrated_by = migrations.run_by_prestart(stack)
            migrating = migrate and [app] in waves and not migrated_by and migrations.wanted(stack)
            if build:
                stage = "building"
                ev.stage("building images")
                stack.engine.build(
                    [s for s in order if stack.project.services[s].builds], sink=ev.line
                )
            for i, wave in enumerate(waves):
                if wave == [app]:
                    if migrated_by:
                        when = f" when {app} starts" if migrated_by.startswith("/") else ""
                        ev.stage(f"migrations: run by {migrated_by}{when}")
                    run: Callable[[], migrations.MigrationResult] | None = None
                    if migrating:

                        def run(ahead: Held | None = held) -> migrations.MigrationResult:
                            nonlocal stage
                            stage = "migrating"
                            ev.stage(f"migrating: {' '.join(stack.settings.migrate_command)}")
                            return migrations.run_migrations(stack, sink=ev.line, held=ahead)

                    def at(now: str) -> None:
                        nonlocal stage
                        stage = now

                    stage = "starting the app"
                    migration = stack.delivery.start_app(
                        stack, build=build, migrate=run, events=ev, on_stage=at, follow=follow
                    )
                else:
                    stage = "starting dependencies"
                    ev.stage(f"starting {', '.join(wave)}")
                    ahead: Callable[[], None] | None = None
                    if migrating and waves[i + 1 : i + 2] == [[app]]:
                        # While this wave starts and is waited on, the migration's one-off
                        # is created and started, its command held until the wave is
                        # ready: begun once compose made the networks, no other compose
                        # up after it runs beside it.

                        def ahead() -> None:
                            nonlocal held
                            held = migrations.hold(stack)

                    stack.engine.up(wave, build=build, sink=ev.detail, networked=ahead)
                stage = "waiting on the app" if wave == [app] else "waiting on dependencies"
                ready.update(wait_on(stack, wave, timeout, ev, judged))
                if wave == [app]:
                    _note_fallback(stack, ev)
        except KeyboardInterrupt:
            if held:
                held.cancel()
            removed = migrations.remove_oneoffs(stack)
            running = sorted({c.service for c in stack.containers() if c.state == "running"})
            raise Interrupted(
                f"interrupted while {stage}",
                hint="containers left running: "
                + (", ".join(running) or "none")
                + "; `devstack up` resumes, `devstack down` stops them",
                details=f"removed one-off containers: {', '.join(removed)}" if removed else "",
            ) from None
        except DevstackError as exc:
            if held:
                held.cancel()
            migrations.remove_oneoffs(stack)
            raise diagnose.explained(diagnose.named_builds(exc, stack)) from exc.__cause__
    return UpResult(
        project=stack.name,
        services=status.report(stack, ready, judged),
        migration=migration,
        seconds=time.monotonic() - start,
        migrated_by=migrated_by,
    )


def _note_fallback(stack: Stack, ev: Events) -> None:
    """Say once when the app's image could not run devstack's reloader (its log says why)."""
    if stack.runtime is None or stack.runtime.kind == "recipe":
        return
    for c in stack.containers():
        if c.service == stack.project.app and c.id:
            note = stack.runtime.note_from_log(stack.engine.logs_tail(c.id, 200))
            if note:
                ev.stage(f"{stack.project.app}: {note}")
            return


def down(stack: Teardown, *, volumes: bool = False, events: Events | None = None) -> DownResult:
    """Stop and remove containers and networks; named volumes only with `volumes`; and
    the project's test copies a killed `devstack test` left."""
    import threading

    from devstack.lock import project_lock
    from devstack.testrun import orphans

    ev = events or Silent()
    start = time.monotonic()
    with project_lock(
        stack.settings.state_dir, what="down", timeout=stack.settings.wait_timeout, on_wait=ev.stage
    ):
        # What runs beside the stack here (a background sync) is this checkout's own: it
        # stops first, even when the engine then does not answer.
        stopped = stack.stop_delivery()
        if stopped:
            ev.detail(stopped)
        stack.ensure_ours(ev.stage)
        # What was removed is read from compose's own progress lines: no extra engine calls.
        removed: dict[str, list[str]] = {"Container": [], "Volume": []}

        def track(line: str) -> None:
            kind, name, state = [*line.split(), "", "", ""][:3]
            if state == "Removed" and kind in removed:
                removed[kind].append(name)
            ev.detail(line)

        # What is read and removed beside the stack (the volumes kept, test copies a killed
        # `devstack test` left) runs while the containers stop rather than after them: the
        # apps' own shutdown takes most of a `down`.
        aside: dict[str, Any] = {}
        notes: list[str] = []

        def beside() -> None:
            try:
                aside["kept"] = [] if volumes else stack.engine.volumes(stack.name)
                aside["copies"] = orphans.remove(
                    stack.name, stack.settings.state_dir, on_note=notes.append
                )
            except BaseException as exc:  # raised below, in this thread
                aside["error"] = exc

        worker = threading.Thread(target=beside, name="devstack-down-aside", daemon=True)
        worker.start()
        try:
            stack.engine.down(volumes=volumes, timeout=stack.settings.stop_timeout, sink=track)
        finally:
            worker.join()
        for note in notes:
            ev.detail(note)
        if "error" in aside:
            raise aside["error"]
        kept, copies = aside["kept"], aside["copies"]
    return DownResult(
        project=stack.name,
        containers=len(removed["Container"]),
        volumes_deleted=tuple(sorted(removed["Volume"])),
        volumes_kept=tuple(kept),
        seconds=time.monotonic() - start,
        test_copies=tuple(copies),
    )


def migrate(
    stack: Stack, args: Sequence[str] = (), *, events: Events | None = None
) -> migrations.MigrationResult:
    """Start the migration service's dependencies if needed, wait on them, then migrate."""
    from devstack import diagnose, migrations
    from devstack.lock import project_lock

    ev = events or Silent()
    timeout = stack.settings.wait_timeout
    service = migrations.service(stack)
    deps = [s for s in stack.project.start_order([service]) if s != service]
    with project_lock(stack.settings.state_dir, what="migrate", timeout=timeout, on_wait=ev.stage):
        stack.ensure_ours(ev.stage)
        stack.claim_volumes()
        try:
            if deps:
                ev.stage(f"starting {', '.join(deps)}")
                stack.engine.up(deps, sink=ev.detail)
                wait_on(stack, deps, timeout, ev)
            ev.stage(f"migrating: {' '.join(migrations.command_for(stack, args))}")
            return migrations.run_migrations(stack, args, sink=ev.line)
        except DevstackError as exc:
            raise diagnose.explained(exc) from exc.__cause__
        except KeyboardInterrupt:
            migrations.remove_oneoffs(stack)
            raise Interrupted(
                "interrupted while migrating", hint="run `devstack migrate` again"
            ) from None
