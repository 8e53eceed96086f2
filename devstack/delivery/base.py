"""How the code reaches the app container: the `Delivery` protocol, one seam.

A bind mount (bind.py) and a synced tree (synced.py) differ in: the overlay's app fragment,
starting the app, running a command against the current code (a migration), stopping, what
`ps` and `doctor` report, and how readiness probes reach containers. Everything else
(lifecycle, watch, migrations, doctor, the CLI) calls through this protocol; the choice is
made once, when the stack is opened (devstack.delivery.for_location).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from devstack.delivery.location import Location

if TYPE_CHECKING:
    from devstack.config import Settings
    from devstack.engine import ContainerState, EngineClient
    from devstack.engine.client import Held
    from devstack.events import Events
    from devstack.project import Project
    from devstack.runtime import Runtime

T = TypeVar("T")
LineSink = Callable[[str], None]


@dataclass(frozen=True)
class CodeTarget:
    """What is delivered where: the code directory here and its path in the app container
    (the runtime's placement, devstack.runtime)."""

    code_dir: Path
    target: str


@dataclass(frozen=True)
class DeliveryState:
    """What `ps` and `up` report about the delivery."""

    engine: str = ""  # a remote engine's address ("" for one that sees the project directory)
    sync: str = ""  # the code sync's state and last event ("" when nothing syncs)
    note: str = ""  # one line for the CLI ("" when there is nothing to say)


class StackView(Protocol):
    """The parts of an open stack a delivery uses (devstack.stack.Stack is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def project(self) -> Project: ...

    @property
    def engine(self) -> EngineClient: ...

    @property
    def name(self) -> str: ...

    @property
    def code(self) -> CodeTarget: ...

    @property
    def runtime(self) -> Runtime | None: ...

    def containers(self) -> list[ContainerState]: ...


class Delivery(Protocol):
    """One way of putting the code in the app container."""

    @property
    def kind(self) -> str:
        """ "bind mount", "sync": part of the model cache key, shown by `sync status`."""
        ...

    @property
    def location(self) -> Location:
        """Where the engine is."""
        ...

    @property
    def code_is_shared(self) -> bool:
        """What the containers write into the code lands in this machine's directory."""
        ...

    def app_fragment(self, runtime: Runtime, state_dir: Path) -> dict[str, Any]:
        """The overlay's keys for the app service: the runtime's code placement, mounts,
        entrypoint and command, delivered this way (volumes, a command that waits);
        `state_dir` is the stack's own (.devstack)."""
        ...

    def start_app(
        self,
        stack: StackView,
        *,
        build: bool | None,
        migrate: Callable[[], T] | None,
        events: Events,
        on_stage: Callable[[str], None],
        follow: bool = True,
    ) -> T | None:
        """Start the app with its code in place; run `migrate` (against the current code)
        where this delivery's order needs it; returns what `migrate` returned. `follow`:
        keep delivering changes afterwards (False: the code as it is now, nothing left
        running beside the stack)."""
        ...

    def run_current(
        self, stack: StackView, service: str, command: Sequence[str], *, name: str, sink: LineSink
    ) -> int:
        """Run `command` for `service` against the current code (not the image's copy):
        its exit code. `name` names a one-off container when one is used."""
        ...

    def hold_current(
        self, stack: StackView, service: str, command: Sequence[str], *, name: str
    ) -> Held | None:
        """`run_current`'s container made ready now and its command held until released,
        while the dependencies are still being waited on; None where this delivery runs
        it another way (then `run_current` runs it when the time comes)."""
        ...

    def stop(self, stack: StackView) -> str:
        """Stop what this delivery runs beside the stack; what was stopped ("": nothing)."""
        ...

    def state(self, stack: StackView) -> DeliveryState: ...

    def serve(
        self, stack: StackView, *, stop: threading.Event, on_event: Callable[[Any], None]
    ) -> None:
        """Keep the code delivered in the foreground until `stop` (`devstack sync run`)."""
        ...

    def probe_from(self, setting: str) -> str:
        """How readiness probes reach containers: "host" or "container" (`setting`
        wins when it names one)."""
        ...

    def abandoned(self, directory: Path) -> bool:
        """A stack made from `directory` can be taken over: it is gone for good."""
        ...

    def engine_files(self, code_dir: Path) -> str:
        """`doctor`'s line about where the engine is and how it gets the code."""
        ...

    def mount_check(self) -> str | None:
        """None: `doctor` checks the bind mount; else why it is skipped."""
        ...

    def snapshot_socket(self) -> str | None:
        """The engine's unix socket the read snapshot (devstack.snapshot) may answer through,
        or None: the read commands then resolve the stack in full each time."""
        ...
