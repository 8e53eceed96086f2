"""The app's dependency manager and Python, as the recipe's own installer detects them.

One implementation: the recipe's stdlib `deps/devstack_deps.py` and `deps/devstack_python.py`
(its build step runs them) are loaded here by path, so `devstack init` names exactly what the
build will use, and suggests the Python image the project's requires-python allows.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from devstack.errors import ConfigError
from devstack.init.recipe import recipe_source

INSTALLER = Path("deps") / "devstack_deps.py"
PYTHON = Path("deps") / "devstack_python.py"
EXPORT = Path("deps") / "devstack_export.py"  # devstack_deps imports it
NONE_SOURCE = "no dependency file: FastAPI alone, as tiangolo's image shipped it"
_HINT = re.compile(r"devstack: hint: (.+)$")
_SAID = re.compile(r"devstack: (?!hint: )(.+)$")


@dataclass(frozen=True)
class Detected:
    manager: str  # poetry, uv, pdm, pipenv, pip; "none" when nothing is declared
    source: str  # the file (and table) the dependencies are read from
    locked: bool

    def describe(self) -> str:
        return f"{self.manager} ({self.source})"


def installer() -> ModuleType:
    """The recipe's installer module (stdlib only), loaded once."""
    _recipe_module(EXPORT)
    return _recipe_module(INSTALLER)


def exporter() -> ModuleType:
    """The recipe's module that readies an exported lock (stdlib only), loaded once."""
    return _recipe_module(EXPORT)


def _recipe_module(rel: Path) -> ModuleType:
    name = rel.stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, recipe_source() / rel)
        if spec is None or spec.loader is None:  # pragma: no cover - a broken installation
            raise ConfigError(f"cannot load {rel}", hint="reinstall devstack")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def python_image(directory: Path) -> str:
    """The python image for the project in `directory`: the recipe's default
    (python:3.12-slim) when its requires-python allows it, else the newest it allows."""
    return str(_recipe_module(PYTHON).image(directory))


def python_check(directory: Path, have: tuple[int, ...]) -> tuple[str, str] | None:
    """(message, hint) when Python `have` does not meet the project's requires-python."""
    found = _recipe_module(PYTHON).check(directory, have)
    return (str(found[0]), str(found[1])) if found else None


def python_required(directory: Path) -> tuple[str, str] | None:
    """(requires-python, where it was read) for the project in `directory`, or None."""
    found = _recipe_module(PYTHON).requirement(directory)
    return (str(found[0]), str(found[1])) if found else None


def detect(directory: Path) -> Detected:
    """Which manager declares the dependencies in `directory`: manager "none" when no file
    declares any (the app runs on the runtime's own packages); exit 2 if one cannot be read."""
    module = installer()
    try:
        found, _ = module.detect(directory)
    except module.NoDeclaration:
        return Detected(manager="none", source=NONE_SOURCE, locked=False)
    except module.Unreadable as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    return Detected(manager=found.manager, source=found.source, locked=found.locked)


def build_hint(output: str) -> str | None:
    """From a failed build's output, the installer's own message and hint (its `devstack:`
    lines), or None when the installer did not fail."""
    lines = output.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        hint = _HINT.search(lines[i])
        if hint:
            said = _SAID.search(lines[i - 1]) if i else None
            why = f"{said.group(1).strip()}; " if said else ""
            return f"the app's dependencies could not be installed: {why}{hint.group(1).strip()}"
    return None
