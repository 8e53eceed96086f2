"""A fake engine for the core's unit tests: it implements devstack.engine.EngineClient,
records every call in order, and gives each service's container a scripted life.

    engine = FakeEngine({"db": Script(health=True, ready_after=1), "app": Script()})
    stack = fake_stack(tmp_path, engine)               # a Stack on it (bind mount)
    lifecycle.up(stack, events=Recorder(engine))       # events land in engine.log too
    assert engine.steps() == ["up db", "ready db", "run app", "up app", "ready app"]

`interrupt_at` / `fail_at` name a step ("up app", "run app", "wait db", ...) at which the
engine raises KeyboardInterrupt / ComposeError, for the clean-up paths.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devstack.config import Settings
from devstack.delivery.base import Delivery
from devstack.delivery.bind import BindMount
from devstack.delivery.location import Location
from devstack.delivery.sync import daemon
from devstack.delivery.sync.daemon import SyncStatus
from devstack.engine import ContainerState, LineSink
from devstack.engine.client import Held, Started
from devstack.errors import ComposeError, EngineUnavailable
from devstack.project import Project, Service
from devstack.readiness.health import Status
from devstack.stack import Stack


@dataclass
class Script:
    """How a service's container behaves once `up` created it."""

    health: bool = False  # it has a health check (starting, then healthy)
    ready_after: int = 0  # looks (containers() calls) before it is healthy
    crash: bool = False  # it exits with code 1 instead
    unhealthy: bool = False  # its health check fails instead
    never: bool = False  # it stays starting
    logs: str = ""
    image: str = ""
    exposed: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()


@dataclass
class _Box:
    id: str
    service: str
    script: Script
    looks: int = 0
    oneoff: bool = False
    state: str = "running"
    health: str | None = None
    exit_code: int = 0


class FakeEngine:
    """EngineClient with scripted containers; `log` holds every call, in order."""

    def __init__(
        self,
        scripts: Mapping[str, Script],
        *,
        run_code: int = 0,
        exec_code: int = 0,
        probe_code: int = 0,
    ) -> None:
        self.scripts = dict(scripts)
        self.boxes: dict[str, _Box] = {}
        self.log: list[tuple[str, ...]] = []
        self.run_code = run_code
        self.exec_code = exec_code
        self.probe_code = probe_code
        self.interrupt_at: str | None = None
        self.fail_at: str | None = None
        self.kept_volumes = ["p_data"]
        self.unreachable = False  # every call that reads containers fails as a gone engine
        self.hold_fails = False  # a held one-off ends before it is released (no /bin/sh)
        self._ids = 0

    # ---- scripting and reading back ------------------------------------------------------

    def _step(self, *call: str) -> None:
        self.log.append(call)
        name = " ".join(call[:2])
        if name == self.interrupt_at:
            self.interrupt_at = None  # once: the clean-up that follows runs undisturbed
            raise KeyboardInterrupt
        if name == self.fail_at:
            self.fail_at = None
            raise ComposeError(f"{name} failed", command=["docker", *call], return_code=1)

    def steps(self) -> list[str]:
        """The calls that change something, and services turning ready, in order."""
        keep = ("up", "hold", "run", "exec", "ready", "down", "build", "remove", "sync", "release")
        return [" ".join(c) for c in self.log if c[0] in keep]

    def start(self, service: str, *, oneoff: bool = False) -> _Box:
        self._ids += 1
        box = _Box(f"c{self._ids:02d}{service}", service, self.scripts.get(service, Script()))
        box.oneoff = oneoff
        box.health = "starting" if box.script.health else None
        self.boxes[box.id] = box
        return box

    def _look(self, box: _Box) -> None:
        s = box.script
        box.looks += 1
        if s.never or box.looks <= s.ready_after or box.state != "running":
            return
        if s.crash:
            box.state, box.exit_code = "exited", 1
        elif s.unhealthy:
            box.health = "unhealthy"
        elif s.health:
            box.health = "healthy"

    def _state(self, box: _Box) -> ContainerState:
        s = box.script
        return ContainerState(
            id=box.id,
            name=f"p-{box.service}-1",
            service=box.service,
            state=box.state,
            health=box.health,
            exit_code=box.exit_code,
            started_at=datetime.now(UTC),
            ports=(),
            health_test=("CMD", "true") if s.health else (),
            health_timeout=5.0,
            health_output="",
            restart_count=0,
            oneoff=box.oneoff,
            image=s.image,
            exposed=s.exposed,
            addresses=s.addresses,
        )

    # ---- EngineClient --------------------------------------------------------------------

    def config(self, services: Sequence[str] = ()) -> dict[str, Any]:
        self._step("config", *services)
        return {"services": {name: {} for name in services or self.scripts}}

    def config_yaml(self) -> str:
        return "services: {}\n"

    def build(self, services: Sequence[str], *, sink: LineSink | None = None) -> None:
        for s in services:
            self._step("build", s)

    def up(
        self,
        services: Sequence[str],
        *,
        build: bool | None = None,
        sink: LineSink | None = None,
        networked: Callable[[], None] | None = None,
    ) -> None:
        for service in services:
            self._step("up", service)
            for box in [b for b in self.boxes.values() if b.service == service and not b.oneoff]:
                del self.boxes[box.id]  # recreated, as compose does on a change
            self.start(service)
            if networked:  # compose made the networks before its first container
                networked()
                networked = None

    def up_started(self, services: Sequence[str], *, build: bool | None = None) -> Started:
        done = FakeStarted()
        try:
            self.up(services, build=build)  # at once; its failure told by wait()
        except BaseException as exc:
            done.error = exc
        return done

    def down(self, *, volumes: bool, timeout: int, sink: LineSink | None = None) -> None:
        self._step("down", "volumes" if volumes else "-")
        for box in list(self.boxes.values()):
            if sink:
                sink(f"Container {box.id} Removed")
        self.boxes.clear()
        if volumes and sink:
            for v in self.kept_volumes:
                sink(f"Volume {v} Removed")
            self.kept_volumes = []

    def stop(self, services: Sequence[str], *, timeout: int) -> None:
        self._step("stop", *services)

    def volumes(self, project: str) -> list[str]:
        return list(self.kept_volumes)

    def volume_labels(self, project: str) -> dict[str, dict[str, str]]:
        return {v: {} for v in self.kept_volumes}

    def create_volume(
        self, name: str, *, labels: dict[str, str], driver: str | None, options: dict[str, str]
    ) -> None:
        self._step("volume", name)

    def containers(self, project: str, *, oneoff: bool | None = False) -> list[ContainerState]:
        self.log.append(("containers",))
        if self.unreachable:
            raise EngineUnavailable("the Docker engine does not answer")
        out = []
        for box in list(self.boxes.values()):
            if oneoff is not None and box.oneoff != oneoff:
                continue
            if not box.oneoff:
                was = (box.state, box.health)
                self._look(box)
                if (box.state, box.health) != was and box.health == "healthy":
                    self.log.append(("healthy", box.service))
            out.append(self._state(box))
        for state in out:
            if not state.oneoff:
                self._step("wait", state.service)
        return out

    def probe(self, container_id: str, test: Sequence[str], timeout: float) -> tuple[bool, str]:
        box = self.boxes.get(container_id)
        self.log.append(("probe", box.service if box else container_id))
        return (box is not None and box.health == "healthy"), ""

    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        box = self.boxes.get(container_id)
        return box.script.logs if box else ""

    def remove(self, container_ids: Sequence[str], *, timeout: float = 30) -> None:
        for cid in container_ids:
            self._step("remove", self.boxes[cid].service if cid in self.boxes else cid)
            self.boxes.pop(cid, None)

    def run(self, service: str, command: Sequence[str], *, name: str, sink: LineSink) -> int:
        box = self.start(service, oneoff=True)  # a one-off container: the image's code
        try:
            self._step("run", service, *command)
            sink(f"ran {' '.join(command)} in a one-off container")
        finally:
            self.boxes.pop(box.id, None)  # --rm
        return self.run_code

    def run_held(self, service: str, command: Sequence[str], *, name: str) -> Held:
        self._step("hold", service, *command)
        return FakeHeld(self, self.start(service, oneoff=True), tuple(command))

    def exec_service(self, service: str, command: Sequence[str], *, sink: LineSink) -> int:
        self._step("exec", service, *command)
        sink(f"ran {' '.join(command)} in the running {service}")
        return self.exec_code

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> int:
        self._step("execute", service, *command)
        return self.exec_code

    def exec_in(
        self, container_id: str, command: Sequence[str], *, env: Mapping[str, str], timeout: float
    ) -> tuple[int, str]:
        box = self.boxes.get(container_id)
        self.log.append(("exec_in", box.service if box else container_id, *command))
        return self.probe_code, "PONG" if self.probe_code == 0 else "Could not connect"

    def exec_stream(
        self, container_id: str, command: Sequence[str], *, user: str | None = None
    ) -> subprocess.Popen[bytes]:
        raise AssertionError("the fake engine has no channel: patch the sync session")

    def run_throwaway(
        self,
        image: str,
        command: Sequence[str],
        *,
        user: str | None = None,
        mounts: Sequence[tuple[Path, str, bool]] = (),
        env: dict[str, str] | None = None,
        drop_capabilities: bool = False,
        timeout: float = 60,
    ) -> tuple[int, str]:
        self._step("throwaway", image, *command)
        return 0, ""

    def logs(
        self, services: Sequence[str], *, tail: int | None, since: str | None, follow: bool
    ) -> Iterator[str]:
        yield from ()

    def container_logs(
        self,
        project: str,
        services: Sequence[str],
        *,
        tail: int | None,
        since: str | None,
        most: int = 4,
    ) -> list[tuple[str, str]] | None:
        return []

    def image_healthcheck(self, image: str) -> bool | None:
        return None

    def image_ids(self, names: Sequence[str]) -> dict[str, str]:
        return {}

    def read_image_file(self, image: str, paths: Sequence[str]) -> tuple[str, bytes] | None:
        return None


@dataclass
class FakeStarted:
    error: BaseException | None = None

    def wait(self, sink: LineSink, *, check: bool = True) -> None:
        if check and self.error is not None:
            raise self.error


@dataclass
class FakeHeld:
    """A held one-off: `release` runs its command as `run` would (the "run" step);
    `hold_fails` makes it end before it is released, as a hold without /bin/sh would."""

    engine: FakeEngine
    box: _Box
    command: tuple[str, ...]
    ended: bool = False

    def release(self, sink: LineSink) -> int | None:
        self.ended = True
        self.engine.boxes.pop(self.box.id, None)  # --rm
        if self.engine.hold_fails:
            return None
        self.engine._step("run", self.box.service, *self.command)
        sink(f"ran {' '.join(self.command)} in a one-off container")
        return self.engine.run_code

    def cancel(self) -> None:
        if not self.ended:
            self.ended = True
            self.engine.log.append(("cancel", self.box.service))
            self.engine.boxes.pop(self.box.id, None)


class Recorder:
    """Events that land in the fake engine's log: ("stage", text), ("ready", service)."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.stages: list[str] = []
        self.lines: list[str] = []
        self._ready: set[str] = set()

    def stage(self, text: str) -> None:
        self.stages.append(text)
        self.engine.log.append(("stage", text))

    def progress(self, statuses: Sequence[Status]) -> None:
        for s in statuses:
            if s.state == "healthy" and s.service not in self._ready:
                self._ready.add(s.service)
                self.engine.log.append(("ready", s.service))

    def line(self, text: str) -> None:
        self.lines.append(text)

    def detail(self, text: str) -> None:
        self.lines.append(text)


def fake_stack(
    tmp_path: Path,
    engine: FakeEngine,
    *,
    delivery: Delivery | None = None,
    depends: Mapping[str, Sequence[str]] | None = None,
    alembic: bool = True,
    **settings: Any,
) -> Stack:
    """A Stack of the fake engine's services ("app" is the app), its code in tmp_path."""
    depends = depends if depends is not None else {"app": [s for s in engine.scripts if s != "app"]}
    services = {
        name: Service(
            name=name, builds=name == "app", depends_on=tuple(depends.get(name, ())), ports=()
        )
        for name in engine.scripts
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    if alembic:
        (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    settings.setdefault("wait_timeout", 5.0)
    return Stack(
        settings=Settings(project_dir=tmp_path, **settings),
        project=Project(name="p", services=services, app="app"),
        engine=engine,
        delivery=delivery or BindMount(),
    )


FAR = Location(host="ssh://me@far", remote=True, source="DOCKER_HOST")
MIGRATE = "alembic upgrade head"


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sync delivery with its transport and background process patched at devstack's
    own seams (daemon.session_for, start, stop, status); what they were asked, in order."""
    asked: list[str] = []

    def session_for(stack: Stack, on_event: object, **_: object) -> FakeSession:
        return FakeSession(stack.engine)  # type: ignore[arg-type]

    def start(stack: Stack) -> SyncStatus:
        asked.append("start")
        stack.engine.log.append(("sync", "daemon"))  # type: ignore[attr-defined]
        return SyncStatus(True, 1, "watching", "", {"8000": "ok"}, None)

    def stop(stack: Stack, timeout: float = 5) -> bool:
        asked.append("stop")
        return True

    def status(stack: Stack) -> SyncStatus:
        return SyncStatus(True, 1, "watching", "3 sent", {}, None)

    monkeypatch.setattr(daemon, "session_for", session_for)
    monkeypatch.setattr(daemon, "start", start)
    monkeypatch.setattr(daemon, "stop", stop)
    monkeypatch.setattr(daemon, "status", status)
    return asked


@dataclass
class FakeSession:
    """Stands in for the sync session (devstack.delivery.sync.daemon.session_for): the sync
    itself is tested on its own (test_sync.py) and on a remote engine (test_remote.py)."""

    engine: FakeEngine
    channel: None = None
    events: list[str] = field(default_factory=list)

    def connect(self, *, release: bool = True) -> None:
        self.engine.log.append(("sync", "connect" if not release else "connect+release"))

    def release(self) -> None:
        self.engine.log.append(("release", "app"))
