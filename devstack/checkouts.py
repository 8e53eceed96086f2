"""One checkout per stack: before touching a stack, stop when its project name is in use by
a stack made from another directory (another checkout of the same repository shares the
compose project name) — its containers, or the named volumes it created (labelled with their
checkout), which hold its data and the passwords of its `.env`.

A stack whose directory is gone for good (a deleted checkout: the delivery says, through
`abandoned`) is taken over, with a note: nobody can run `devstack down` there.

Stdlib only: `down` from the read snapshot checks this too (devstack.cli.quick).
"""

from __future__ import annotations

import os

from devstack.errors import ProjectInUse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

CHECKOUT_LABEL = "dev.devstack.checkout"  # on named volumes: the directory that created them
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"  # on containers, by compose


def ensure_ours(
    name: str,
    here: str | Path,
    containers: Iterable[tuple[str, str]],
    volumes: Mapping[str, Mapping[str, str]],
    *,
    abandoned: Callable[[Path], bool],
    on_note: Callable[[str], None] | None = None,
) -> None:
    """ProjectInUse unless every container ((working directory, state) pairs) and every
    named volume (name -> labels) of project `name` was made from `here`."""
    from pathlib import Path

    others: dict[Path, list[str]] = {}
    for working_dir, state in containers:
        if working_dir and not same_dir(working_dir, here):
            others.setdefault(Path(working_dir), []).append(state)
    owned: dict[Path, list[str]] = {}
    for volume, labels in volumes.items():
        made_in = labels.get(CHECKOUT_LABEL)
        if made_in and not same_dir(made_in, here):
            owned.setdefault(Path(made_in), []).append(volume)
    gone = {d for d in (*others, *owned) if abandoned(d)}
    for left in sorted(gone):
        others.pop(left, None)
        owned.pop(left, None)
        if on_note:
            on_note(f"taking over the stack left by {left} (that directory no longer exists)")
    hint = (
        "give this checkout its own name (`devstack -p NAME ...`, COMPOSE_PROJECT_NAME "
        "or project_name in [tool.devstack]), or run `devstack down` in {there} first"
    )
    if others:
        where, states = next(iter(others.items()))
        running = sum(s == "running" for s in states)
        said = f"{running} running" if running else "stopped"
        raise ProjectInUse(
            f"the project name {name!r} is in use by a stack from another directory: "
            f"{where} ({len(states)} container(s), {said}); this checkout is {here}",
            hint=hint.format(there=where),
        )
    if owned:
        where, names = next(iter(owned.items()))
        raise ProjectInUse(
            f"the project name {name!r} is in use by a stack from another directory: "
            f"{where} (its volume(s) {', '.join(sorted(names))}, with its data and the "
            f"passwords of its .env); this checkout is {here}",
            hint=hint.format(there=where).replace("`devstack down`", "`devstack down -v`")
            + " if its data can go",
        )


def same_dir(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return os.path.normpath(a) == os.path.normpath(b)
