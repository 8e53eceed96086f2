"""The recipe's bytecode step (no engine): a module compiled once is copied from the build
cache afterwards, stamped for the new file, and loads as a valid timestamp pyc."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from devstack.init.recipe import recipe_source


def bytecode() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "devstack_bytecode", recipe_source() / "deps" / "devstack_bytecode.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["devstack_bytecode"] = module  # its compile workers pickle its functions
    spec.loader.exec_module(module)
    return module


def test_compiled_once_then_from_the_cache(tmp_path: Path) -> None:
    step = bytecode()
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (site / "pkg" / "broken.py").write_text("def (:\n")  # not meant to compile: skipped
    cache = tmp_path / "cache"
    saved = sys.pycache_prefix
    try:
        first = step.compile_tree([str(site)], str(tmp_path / "layer1"), cache)
        assert first == (1, 0, 0)
        assert step.compile_tree([str(site)], str(tmp_path / "layer1"), cache) == (0, 0, 1)
        # A rebuilt layer: the same content installed again (a new mtime), a fresh prefix.
        source = site / "pkg" / "__init__.py"
        os.utime(source, (1_000_000, 1_000_000))
        assert step.compile_tree([str(site)], str(tmp_path / "layer2"), cache) == (0, 1, 0)
        pyc = Path(importlib.util.cache_from_source(str(source)))
    finally:
        sys.pycache_prefix = saved
    data = pyc.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[8:12], "little") == 1_000_000  # stamped for the new file
    assert int.from_bytes(data[12:16], "little") == source.stat().st_size
    namespace: dict[str, object] = {}
    exec(__import__("marshal").loads(data[16:]), namespace)
    assert namespace["VALUE"] == 1
