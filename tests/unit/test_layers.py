"""The direction of imports the README's Architecture section draws: left to right, never
back (the cycle check in test_cli_layout.py cannot see a dependency that points the wrong
way without closing a loop yet)."""

from __future__ import annotations

from tests.unit.test_cli_layout import _import_graph

LAYERS = (
    ("cli",),
    ("watch", "doctor", "app_checks", "logs", "testrun"),
    ("lifecycle",),
    ("migrations", "diagnose", "testrun.orphans", "testrun.owners", "snapshot", "status"),
    ("stack",),
    ("delivery", "overlay", "certs"),
    ("events",),
    ("readiness", "project", "runtime", "config", "init", "checks"),
    ("composefiles", "checkouts", "merged"),
    ("lock",),
    ("engine",),
    ("errors",),
)  # fmt: skip
ALLOWED = {("devstack.engine.api", "devstack.delivery.location")}  # the docker context


def layer(module: str) -> int | None:
    """The layer of the longest name that `module` is or lies in."""
    found: tuple[int, int] | None = None
    for n, names in enumerate(LAYERS):
        for name in names:
            full = f"devstack.{name}"
            if (module == full or module.startswith(full + ".")) and (
                found is None or len(name) > found[1]
            ):
                found = (n, len(name))
    return found[0] if found else None


def backwards(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    found = []
    for module, deps in graph.items():
        for dep in deps:
            a, b = layer(module), layer(dep)
            if a is not None and b is not None and b < a and (module, dep) not in ALLOWED:
                found.append((module, dep))
    return sorted(found)


def test_imports_run_one_way() -> None:
    graph = _import_graph()
    placed = {m for m in graph if m.count(".") and layer(m) is None}
    assert placed <= {"devstack.__main__", "devstack.__init__"}, placed
    assert backwards(graph) == []


def test_the_check_finds_an_import_against_the_direction() -> None:
    graph = {"devstack.engine.compose": {"devstack.stack"}, "devstack.stack": {"devstack.engine"}}
    assert backwards(graph) == [("devstack.engine.compose", "devstack.stack")]
