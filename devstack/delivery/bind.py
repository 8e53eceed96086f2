"""The code bind-mounted into the app container: an engine that sees this machine's files."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from devstack.delivery import hold
from devstack.delivery.base import DeliveryState, LineSink, StackView
from devstack.delivery.location import LOCAL, Location
from devstack.errors import ConfigError

if TYPE_CHECKING:
    from devstack.engine.client import Held
    from devstack.events import Events
    from devstack.runtime import Runtime

T = TypeVar("T")


@dataclass(frozen=True)
class BindMount:
    location: Location = LOCAL
    kind: str = "bind mount"

    @property
    def code_is_shared(self) -> bool:
        return True  # the mount is this directory

    def app_fragment(self, runtime: Runtime, state_dir: Path) -> dict[str, Any]:
        """The code bind-mounted where the runtime keeps it, beside the runtime's mounts;
        the command held while `up` migrates (hold.py)."""
        where = runtime.placement
        code = {"type": "bind", "source": str(where.source), "target": where.target}
        out: dict[str, Any] = {"volumes": [code, *(m.as_volume() for m in runtime.mounts())]}
        entrypoint, command = runtime.entrypoint(), runtime.command()
        if entrypoint is not None:
            out["entrypoint"] = entrypoint
        if command is not None:
            out["command"] = command
        return hold.wrapped(out, state_dir)

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
        """Migrate (a one-off container sees the mounted code) while the app's container
        starts held, then let the app start; an app that runs already, or whose command
        cannot be held, is started after the migration."""
        hold.folder(stack.settings.state_dir)  # mounted: it must exist for compose
        if migrate and hold.can_hold(stack):
            migrated = hold.start_during(stack, migrate, build=build, events=events)
            on_stage("starting the app")
            events.stage(f"starting {stack.project.app}")
            return migrated
        result = migrate() if migrate else None
        on_stage("starting the app")
        events.stage(f"starting {stack.project.app}")
        stack.engine.up([stack.project.app], build=build, sink=events.detail)
        hold.release(stack.settings.state_dir)  # one a killed devstack left
        return result

    def run_current(
        self, stack: StackView, service: str, command: Sequence[str], *, name: str, sink: LineSink
    ) -> int:
        return stack.engine.run(service, command, name=name, sink=sink)

    def hold_current(
        self, stack: StackView, service: str, command: Sequence[str], *, name: str
    ) -> Held | None:
        """The one-off created and started ahead (the code is mounted at creation)."""
        return stack.engine.run_held(service, command, name=name)

    def stop(self, stack: StackView) -> str:
        hold.release(stack.settings.state_dir)  # one a killed devstack left
        return ""

    def state(self, stack: StackView) -> DeliveryState:
        return DeliveryState()

    def serve(
        self, stack: StackView, *, stop: threading.Event, on_event: Callable[[Any], None]
    ) -> None:
        raise ConfigError(
            "the engine sees the project directory: nothing to sync",
            hint="set DOCKER_HOST or a docker context to a remote engine (or DEVSTACK_REMOTE=1)",
        )

    def probe_from(self, setting: str) -> str:
        if setting in ("host", "container"):
            return setting
        return "host" if sys.platform.startswith("linux") else "container"

    def abandoned(self, directory: Path) -> bool:
        return not directory.exists()

    def engine_files(self, code_dir: Path) -> str:
        return f"{self.location.describe()} sees {code_dir}"

    def mount_check(self) -> str | None:
        return None

    def snapshot_socket(self) -> str | None:
        from devstack.engine import api

        return api.socket_path()  # None for an address the socket reader cannot take
