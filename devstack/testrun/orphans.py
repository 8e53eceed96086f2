"""Test copies left behind: a devstack killed (`kill -9`, a closed terminal) before its
teardown leaves its copy's containers, networks and volumes. They carry the copy's labels
(devstack.testrun.copy), so the next `devstack test` or `devstack down` of the project finds
them and removes those whose devstack no longer runs on this machine. A copy kept with
`--keep` stays until `devstack test --clean`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.engine import resources
from devstack.testrun import owners
from devstack.testrun.owners import KEEP, OF, OWNER


@dataclass(frozen=True)
class Copy:
    name: str  # its compose project
    owner: str
    kept: bool
    found: tuple[resources.Resource, ...]

    @property
    def orphaned(self) -> bool:
        return not self.kept and owners.alive(self.owner) is False


def copies(dev_project: str) -> list[Copy]:
    """Every test copy of the project on the engine, whoever runs it."""
    grouped: dict[str, list[resources.Resource]] = {}
    for r in resources.labelled(f"{OF}={dev_project}"):
        grouped.setdefault(r.project, []).append(r)
    out = []
    for name, found in sorted(grouped.items()):
        owner = next((r.labels.get(OWNER, "") for r in found if r.labels.get(OWNER)), "")
        kept = any(r.labels.get(KEEP) == "1" for r in found)
        out.append(Copy(name=name, owner=owner, kept=kept, found=tuple(found)))
    return out


def remove(
    dev_project: str,
    state_dir: Path,
    *,
    kept: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> list[str]:
    """Remove the project's orphaned copies (and, with `kept`, those left on purpose);
    the names removed. What could not be removed is noted, not raised: the caller's own
    work goes on."""
    removed = []
    for copy in copies(dev_project):
        if not (copy.orphaned or (kept and copy.kept and owners.alive(copy.owner) is not True)):
            continue
        problems = resources.remove(copy.found)
        shutil.rmtree(state_dir / "tests" / copy.name, ignore_errors=True)
        if problems and on_note:
            on_note(f"test copy {copy.name} not fully removed: {'; '.join(problems)}")
        removed.append(copy.name)
        if on_note:
            why = "kept with --keep" if copy.kept else "its devstack is gone"
            on_note(f"removed the test copy {copy.name} ({why})")
    return removed
