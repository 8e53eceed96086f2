"""What the core asks of the engine: one protocol, `EngineClient`.

The real implementation is `Engine` (compose.py: python-on-whales for compose operations,
the socket API and the docker CLI for the read paths). The core (lifecycle, readiness,
migrations, watch, delivery) depends on this surface only, so a fake engine can stand in
for it in unit tests (tests/unit/fake_engine.py). How a command line is built and run is
the adapter's business, behind this surface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import subprocess

    from devstack.engine.state import ContainerState

LineSink = Callable[[str], None]


class Held(Protocol):
    """A one-off command started ahead, held until released (engine/held.py)."""

    def release(self, sink: LineSink) -> int | None:
        """Run it, its output to `sink`: its exit code; None when the hold ended before
        (the command never ran: run it the ordinary way)."""
        ...

    def cancel(self) -> None:
        """Never run it; the one-off goes away."""
        ...


class Started(Protocol):
    """Engine work running in the background (engine/held.py)."""

    def wait(self, sink: LineSink, *, check: bool = True) -> None:
        """Block until it ended; its output to `sink`; its error raised unless not `check`."""
        ...


class EngineClient(Protocol):
    """A compose project on an engine, and the engine-wide calls the core makes."""

    # ---- the compose project -----------------------------------------------------------

    def config(self, services: Sequence[str] = ()) -> dict[str, Any]: ...

    def config_yaml(self) -> str: ...

    def build(self, services: Sequence[str], *, sink: LineSink | None = None) -> None: ...

    def up(
        self,
        services: Sequence[str],
        *,
        build: bool | None = None,
        sink: LineSink | None = None,
        networked: Callable[[], None] | None = None,
    ) -> None: ...

    def up_started(self, services: Sequence[str], *, build: bool | None = None) -> Started: ...

    def down(self, *, volumes: bool, timeout: int, sink: LineSink | None = None) -> None: ...

    def stop(self, services: Sequence[str], *, timeout: int) -> None: ...

    def volumes(self, project: str) -> list[str]: ...

    def volume_labels(self, project: str) -> dict[str, dict[str, str]]: ...

    def create_volume(
        self, name: str, *, labels: dict[str, str], driver: str | None, options: dict[str, str]
    ) -> None: ...

    # ---- containers --------------------------------------------------------------------

    def containers(self, project: str, *, oneoff: bool | None = False) -> list[ContainerState]: ...

    def probe(self, container_id: str, test: Sequence[str], timeout: float) -> tuple[bool, str]: ...

    def logs_tail(self, container_id: str, lines: int = 20) -> str: ...

    def remove(self, container_ids: Sequence[str], *, timeout: float = 30) -> None: ...

    # ---- commands in containers ----------------------------------------------------------

    def run(self, service: str, command: Sequence[str], *, name: str, sink: LineSink) -> int: ...

    def run_held(self, service: str, command: Sequence[str], *, name: str) -> Held: ...

    def exec_service(self, service: str, command: Sequence[str], *, sink: LineSink) -> int: ...

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> int: ...

    def exec_in(
        self, container_id: str, command: Sequence[str], *, env: Mapping[str, str], timeout: float
    ) -> tuple[int, str]: ...

    def exec_stream(
        self, container_id: str, command: Sequence[str], *, user: str | None = None
    ) -> subprocess.Popen[bytes]: ...

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
    ) -> tuple[int, str]: ...

    # ---- logs ----------------------------------------------------------------------------

    def logs(
        self, services: Sequence[str], *, tail: int | None, since: str | None, follow: bool
    ) -> Iterator[str]: ...

    def container_logs(
        self,
        project: str,
        services: Sequence[str],
        *,
        tail: int | None,
        since: str | None,
        most: int = 4,
    ) -> list[tuple[str, str]] | None: ...

    # ---- images --------------------------------------------------------------------------

    def image_healthcheck(self, image: str) -> bool | None: ...

    def image_ids(self, names: Sequence[str]) -> dict[str, str]: ...

    def read_image_file(self, image: str, paths: Sequence[str]) -> tuple[str, bytes] | None: ...
