"""The delivery seam: where the engine is decides how the code is delivered, in one place.

No module outside the delivery implementations asks whether the engine is remote, and
remoteness never travels as a bare boolean: a second `if remote:` is how `watch` came to
migrate the image's code instead of the synced one."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from devstack import migrations
from devstack.delivery import BindMount, for_location
from devstack.delivery.location import locate
from devstack.delivery.synced import Synced

PACKAGE = Path(__file__).resolve().parents[2] / "devstack"
# The rule (location.py), the choice (delivery/__init__.py) and the two implementations.
ALLOWED = {"delivery/location.py", "delivery/__init__.py", "delivery/bind.py", "delivery/synced.py"}
ASKS = re.compile(r"\.remote\b|\bremote=(?!=)|\b_?is_remote\b")


def askers(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if ASKS.search(code):
                found.setdefault(rel, []).append(f"{n}: {line.strip()}")
    return found


def test_no_module_outside_the_deliveries_asks_whether_the_engine_is_remote() -> None:
    assert askers(PACKAGE) == {}
    # nor is "run it in the running container" a flag its callers must remember to pass
    # (`held` is what the delivery itself made ready ahead, or None: not a flag)
    assert list(inspect.signature(migrations.run_migrations).parameters) == [
        "stack",
        "args",
        "sink",
        "held",
    ]


def test_the_scan_finds_a_branch_on_remoteness(tmp_path: Path) -> None:
    (tmp_path / "core.py").write_text(
        "def up(stack):\n    if stack.location.remote:\n        pass\n"
        "    render(project, remote=True)  # a flag\n"
    )
    (tmp_path / "clean.py").write_text("def up(stack):\n    stack.delivery.start_app(stack)\n")
    assert list(askers(tmp_path)) == ["core.py"]
    assert len(askers(tmp_path)["core.py"]) == 2


def test_the_delivery_is_chosen_from_the_engines_location(tmp_path: Path) -> None:
    assert isinstance(for_location(locate({"DOCKER_HOST": "ssh://me@far"})), Synced)
    assert isinstance(for_location(locate({"DOCKER_HOST": "tcp://10.1.2.3:2376"})), Synced)
    assert isinstance(for_location(locate({"DOCKER_CONFIG": str(tmp_path)})), BindMount)
    forced = {"DOCKER_HOST": "tcp://10.1.2.3:2376", "DEVSTACK_REMOTE": "0"}
    assert isinstance(for_location(locate(forced)), BindMount)
