"""Bringing a stack up and down."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devstack.errors import DevstackError, Interrupted
from devstack.events import Events, Silent

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Protocol

    from devstack import migrations
    from devstack.engine import ContainerState, LineSink
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
class ServiceReport:
    service: str
    state: str
    health: str
    url: str
    seconds: float | None  # to ready, when this command waited on it
    uptime: float | None = None
    ready_by: str = ""  # how it was judged ready: "healthcheck", "probe: redis PING", ...
    engine: str = ""  # a remote engine's address ("" for one that sees the project directory)
    sync: str = ""  # the app's code sync on a remote engine: state and last event
    exit_code: int | None = None  # a container that exited ("completed" when 0)


@dataclass(frozen=True)
class UpResult:
    project: str
    services: tuple[ServiceReport, ...]
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


def url_of(c: ContainerState, app: bool) -> str:
    published = [p for p in c.ports if p.host_port]
    if not published:
        return ""
    p = published[0]
    host = "127.0.0.1" if p.host_ip in ("", "0.0.0.0") else p.host_ip
    return f"http://{host}:{p.host_port}" if app else f"{host}:{p.host_port}"


def report(
    stack: Stack, seconds: dict[str, float], judged: dict[str, str] | None = None
) -> tuple[ServiceReport, ...]:
    """The project's containers as rows (see `rows`)."""
    delivered = stack.delivery.state(stack)
    return rows(
        stack.containers(),
        app=stack.project.app,
        oneshots=stack.project.oneshots,
        engine=delivered.engine,
        sync=delivered.sync,
        seconds=seconds,
        judged=judged,
    )


def rows(
    containers: Iterable[ContainerState],
    *,
    app: str,
    oneshots: Collection[str],
    engine: str = "",
    sync: str = "",
    seconds: Mapping[str, float] | None = None,
    judged: Mapping[str, str] | None = None,
) -> tuple[ServiceReport, ...]:
    """Containers as rows; a service that passed our own run of its health check is shown
    healthy even while the engine's next scheduled check is pending, and one without a
    health check shows how it was judged ready. `engine` and `sync`: the delivery's state."""
    now = time.time()
    seconds = seconds or {}
    judged = judged or {}
    out = []
    for c in sorted(containers, key=lambda c: c.service):
        uptime = now - c.started_at.timestamp() if c.started_at and c.state == "running" else None
        how = judged.get(c.service, "")
        if c.finished:
            health = f"exit {c.exit_code}"  # its health check no longer says anything
        elif c.service in seconds and c.health == "starting":
            health = "healthy"
        elif not c.health and how and how != "healthcheck":
            health = how
        else:
            health = c.health or ""
        out.append(
            ServiceReport(
                service=c.service,
                state=c.shown_state(one_shot=c.service in oneshots),
                health=health,
                exit_code=c.exit_code if c.finished else None,
                url=url_of(c, c.service == app),
                seconds=seconds.get(c.service),
                uptime=uptime,
                ready_by=how,
                engine=engine,
                sync=sync if c.service == app else "",
            )
        )
    return tuple(out)


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
        try:
            ready: dict[str, float] = {}
            judged: dict[str, str] = {}
            migration = None
            migrated_by = None
            if stack.project.app_reason not in ("configured", "named app"):
                ev.stage(stack.project.app_note())
            if build:
                stage = "building"
                ev.stage("building images")
                stack.engine.build(
                    [s for s in order if stack.project.services[s].builds], sink=ev.line
                )
            for wave in waves:
                if wave == [app]:
                    migrated_by = migrations.run_by_prestart(stack) if migrate else None
                    if migrated_by:
                        when = f" when {app} starts" if migrated_by.startswith("/") else ""
                        ev.stage(f"migrations: run by {migrated_by}{when}")
                    run: Callable[[], migrations.MigrationResult] | None = None
                    if migrate and not migrated_by and migrations.wanted(stack):

                        def run() -> migrations.MigrationResult:
                            nonlocal stage
                            stage = "migrating"
                            ev.stage(f"migrating: {' '.join(stack.settings.migrate_command)}")
                            return migrations.run_migrations(stack, sink=ev.line)

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
                    stack.engine.up(wave, build=build, sink=ev.detail)
                stage = "waiting on the app" if wave == [app] else "waiting on dependencies"
                ready.update(wait_on(stack, wave, timeout, ev, judged))
                if wave == [app]:
                    _note_fallback(stack, ev)
        except KeyboardInterrupt:
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
            migrations.remove_oneoffs(stack)
            raise diagnose.explained(diagnose.named_builds(exc, stack)) from exc.__cause__
    return UpResult(
        project=stack.name,
        services=report(stack, ready, judged),
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
        # `devstack test` left) does not wait for the containers to stop: SIGTERM is out
        # first, and the app's shutdown takes most of a `down`.
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


def ps(stack: Stack) -> tuple[ServiceReport, ...]:
    """Every service's state, health, ports and uptime; services not created show as such."""
    replicas = {name: s.replicas for name, s in stack.project.services.items()}
    return with_missing(report(stack, {}), replicas, engine=stack.delivery.state(stack).engine)


def with_missing(
    found: tuple[ServiceReport, ...], replicas: Mapping[str, int], *, engine: str = ""
) -> tuple[ServiceReport, ...]:
    """`found`, then a "not created" row for each service with none (scale 0: never created)."""
    seen = {r.service for r in found}
    missing = [
        ServiceReport(
            service=s, state="not created", health="", url="", seconds=None, engine=engine
        )
        for s in sorted(replicas)
        if s not in seen and replicas[s]
    ]
    return found + tuple(missing)


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
