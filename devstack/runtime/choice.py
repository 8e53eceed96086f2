"""Which runtime a project gets, decided once when its stack is opened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devstack.config import Settings
from devstack.runtime.base import Runtime
from devstack.runtime.own import OwnImage
from devstack.runtime.placement import Build
from devstack.runtime.recipe import Recipe


def choose(config: Mapping[str, Any], app: str, settings: Settings) -> Runtime:
    """The recipe's runtime when the app runs devstack's recipe (or the tiangolo contract,
    /start-reload.sh, or a reload_command the user set); the project's own image otherwise."""
    services = config.get("services") or {}
    spec = services.get(app) or {}
    build = Build.of(spec, settings.project_dir)
    if recipe_like(spec, build, settings):
        return Recipe(settings)
    return OwnImage(spec, build, settings)


def recipe_like(spec: Mapping[str, Any], build: Build, settings: Settings) -> bool:
    if settings.reload_command != Settings.reload_command:  # the user's own reload command
        return True
    if build.dockerfile is not None:  # FROM tiangolo's images: their /start-reload.sh
        parsed = build.parsed
        return (
            parsed is None
            or parsed.text_has_reload_script
            or any("uvicorn-gunicorn" in base for base in parsed.bases)
        )
    image = str(spec.get("image") or "")
    return not image or "uvicorn-gunicorn" in image or image.startswith("devstack")
