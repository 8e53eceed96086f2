"""Where devstack's app image recipe is: inside the installed package, or compose/ in a checkout."""

from __future__ import annotations

from pathlib import Path

from devstack.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent.parent


def recipe_source() -> Path:
    """The app image recipe: inside the installed package, or compose/ in a checkout."""
    for candidate in (_PACKAGE / "_recipe", _PACKAGE.parent / "compose"):
        if (candidate / "Dockerfile").is_file():
            return candidate
    raise ConfigError(
        "devstack's app image recipe is missing from this installation", hint="reinstall devstack"
    )
