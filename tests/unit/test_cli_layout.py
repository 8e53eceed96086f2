"""The CLI's shape: commands registered in one place, no import cycle, no private imports;
errors say each fact once; read paths stay light; the model cache sees the variables."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cli.output import Output
from devstack.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[2] / "devstack"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_command_modules_never_import_the_app() -> None:
    for path in (PACKAGE / "cli").glob("*.py"):
        if path.name not in ("app.py", "fast.py"):  # fast.py: the entry point, above the app
            assert not any(m.startswith("devstack.cli.app") for m in _imports(path)), path


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module of devstack/ and the devstack modules it imports, wherever the import
    stands (a function-level import is still a dependency). `from pkg import mod` depends
    on `pkg.mod`, not on the package's other modules."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                found |= subs if len(subs) == len(node.names) else {node.module, *subs}
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    graph = _import_graph()
    assert len(graph) > 60 and "devstack.readiness.health" in graph["devstack.lifecycle"]
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_imports_from_typer_or_click() -> None:
    for path in PACKAGE.rglob("*.py"):
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] in ("typer", "click"):
                assert not any(p.startswith("_") for p in parts[1:]), (path, module)


def test_every_module_is_small() -> None:
    """No module in devstack/ (its sub-packages too) or in the image's runtime passes 400
    lines: each has one job its name tells."""
    paths = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "compose" / "runtime").rglob("*.py")]
    assert len(paths) > 60 and PACKAGE / "watch" / "loop.py" in paths
    big = {str(p): n for p in paths if (n := len(p.read_text().splitlines())) > 400}
    assert big == {}


def test_every_command_is_registered() -> None:
    from devstack.cli.app import app

    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert names == [
        "up", "down", "ps", "migrate", "test", "logs", "exec", "shell", "config", "init", "watch",
        "doctor",
    ]  # fmt: skip


def test_an_error_says_each_fact_once(capsys: pytest.CaptureFixture[str]) -> None:
    detail = "services.app.ports must be a list"
    exc = ConfigError(
        f"the compose project is invalid: {detail}",
        hint="fix it",
        details=f"{detail}\nin compose.yaml",
    )
    Output().error(exc)
    err = capsys.readouterr().err
    assert err.count(detail) == 1 and "in compose.yaml" in err and "hint: fix it" in err


def test_read_commands_import_neither_python_on_whales_nor_rich_nor_yaml() -> None:
    probe = (
        "import sys; import devstack.cli.app, devstack.lifecycle, devstack.logs, devstack.stack; "
        "print(sorted(m for m in ('python_on_whales', 'pydantic', 'rich', 'yaml') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_the_model_cache_sees_the_variables_the_files_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import config
    from devstack.stack import _fingerprint, interpolated

    (tmp_path / "compose.yaml").write_text('services:\n  app:\n    ports: ["${APP_PORT}:80"]\n')
    settings = config.load(tmp_path, environ={})
    monkeypatch.setenv("APP_PORT", "8080")
    used = interpolated(settings)
    assert used == {"APP_PORT"}
    first = _fingerprint(settings, used)
    monkeypatch.setenv("UNRELATED", "x")
    assert _fingerprint(settings, used) == first
    monkeypatch.setenv("APP_PORT", "8081")
    assert _fingerprint(settings, used) != first
