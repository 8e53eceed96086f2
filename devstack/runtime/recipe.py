"""The recipe's runtime: devstack's image (or tiangolo's contract) runs /start-reload.sh with
the code at mount_path, as configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.config import Settings
from devstack.runtime.base import Mount
from devstack.runtime.placement import Placement


class Recipe:
    kind = "recipe"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        target = settings.mount_path
        self.placement = Placement(settings.code_dir, target, "code_path", target)

    def entrypoint(self) -> list[str] | None:
        return None

    def command(self) -> list[str] | None:
        return list(self.settings.reload_command)

    def mounts(self) -> list[Mount]:
        return []

    def kept_volumes(self) -> list[Any] | None:
        return None

    def notes(self) -> tuple[str, ...]:
        return ()

    def rebuild_paths(self) -> tuple[Path, ...]:
        return ()

    def note_from_log(self, log: str) -> str | None:
        return None
