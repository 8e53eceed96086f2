"""The runtime's contract: what the overlay asks of the recipe's image or the project's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from devstack.runtime.placement import Placement

RUNTIME_MOUNT = "/devstack-runtime"  # devstack's runtime, read-only, in a project's own image
FALLBACK_MARK = "devstack-runtime: running the project's own command"


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool = False

    def as_volume(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "bind", "source": str(self.source), "target": self.target}
        if self.read_only:
            out["read_only"] = True
        return out


class Runtime(Protocol):
    """The variant of the app container devstack runs for development."""

    kind: str  # "recipe" | "own image"
    placement: Placement  # the code: host folder, where the image keeps it

    def entrypoint(self) -> list[str] | None:
        """The app's entrypoint in the overlay; None keeps the project's own."""

    def command(self) -> list[str] | None:
        """The app's command in the overlay; None keeps the project's own."""

    def mounts(self) -> list[Mount]:
        """Bind mounts besides the code's (devstack's runtime, read-only)."""

    def kept_volumes(self) -> list[Any] | None:
        """The app's own volumes to keep when some must go (a mount nested in the code
        mount that shows the same folder); None keeps them all."""

    def notes(self) -> tuple[str, ...]:
        """What `up` says once about how the app runs (why not the warm reloader)."""

    def rebuild_paths(self) -> tuple[Path, ...]:
        """Files whose change needs a new image (develop.watch rebuild rules)."""

    def note_from_log(self, log: str) -> str | None:
        """What the app's log says about how it runs, when it fell back in the container."""
