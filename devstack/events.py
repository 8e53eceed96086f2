"""How core code reports progress: the CLI renders it (devstack.cli.context), tests record it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from devstack.readiness.health import Status


class Events(Protocol):
    """How core code reports progress; the CLI renders it."""

    def stage(self, text: str) -> None: ...
    def progress(self, statuses: Sequence[Status]) -> None: ...
    def line(self, text: str) -> None: ...
    def detail(self, text: str) -> None: ...


class Silent:
    def stage(self, text: str) -> None:
        pass

    def progress(self, statuses: Sequence[Status]) -> None:
        pass

    def line(self, text: str) -> None:
        pass

    def detail(self, text: str) -> None:
        pass
