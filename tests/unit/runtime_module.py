"""The image runtime (compose/runtime/*.py) loaded by path: it is not a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "compose" / "runtime"


def load(name: str = "devstack_runtime") -> ModuleType:
    if str(RUNTIME_DIR) not in sys.path:  # the modules import their siblings, as in the image
        sys.path.insert(0, str(RUNTIME_DIR))
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RUNTIME_DIR / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
