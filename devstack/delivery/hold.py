"""The app held at its start while the migration runs (a bind mount): its container is
created and started beside the migration, and its command waits for the migration's end.

The overlay runs the app's command behind a shell that waits while a hold file exists in a
folder of this stack's state directory, mounted read-only at HOLD_MOUNT. `up` creates the
file before it starts a container that was not running, and removes it once the migration
succeeded (the app's command then starts) or after it removed the held containers (a
failed migration, Ctrl-C). Without the file the command starts at once: a container the
engine restarts, `watch`'s rebuild, a plain `docker compose up`. Only a devstack killed
while it held the app leaves the file; the next `up` or `down` of the stack removes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from devstack.delivery.base import StackView
    from devstack.events import Events

T = TypeVar("T")

HOLD_MOUNT = "/devstack-hold"
HOLD_NAME = "held"
# `$` doubled: compose interpolates the overlay as it does the user's files.
WAIT = f'while [ -e {HOLD_MOUNT}/{HOLD_NAME} ]; do sleep 0.05; done; exec "$$@"'


def folder(state_dir: Path) -> Path:
    """The folder mounted at HOLD_MOUNT, made before any `up` (the engine would refuse a
    missing one); 0755 so that any user the app runs as can look into it."""
    path = state_dir / "hold"
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    return path


def wrapped(fragment: dict[str, Any], state_dir: Path) -> dict[str, Any]:
    """The app's overlay fragment with its entrypoint, or else its command, behind the
    wait, and the hold folder mounted; unchanged when it sets neither (the image's own
    command runs, which cannot be held: the app then starts after the migration)."""
    wait = ["/bin/sh", "-c", WAIT, "devstack-hold"]
    out = dict(fragment)
    if "entrypoint" in out:
        out["entrypoint"] = [*wait, *out["entrypoint"]]
        out.setdefault("command", [])
    elif "command" in out:
        out["command"] = [*wait, *out["command"]]
    else:
        return fragment
    mount = {"type": "bind", "source": str(state_dir / "hold"), "target": HOLD_MOUNT}
    out["volumes"] = [*out.get("volumes", []), {**mount, "read_only": True}]
    return out


def can_hold(stack: StackView) -> bool:
    """The overlay holds the app's command (it sets one) and no app container runs now
    (a running one stays as it is until the migration is done, as before)."""
    runtime = stack.runtime
    if runtime is not None and runtime.entrypoint() is None and runtime.command() is None:
        return False
    app = stack.project.app
    return not any(c.service == app and c.state == "running" for c in stack.containers())


def release(state_dir: Path) -> None:
    (state_dir / "hold" / HOLD_NAME).unlink(missing_ok=True)


def start_during(
    stack: StackView, migrate: Callable[[], T], *, build: bool | None, events: Events
) -> T:
    """Start the app's container held, run `migrate` meanwhile, then let the app start.
    When the migration fails (or Ctrl-C), the held containers are removed first."""
    app = stack.project.app
    held = folder(stack.settings.state_dir) / HOLD_NAME
    held.touch()
    starting = stack.engine.up_started([app], build=build)
    try:
        result = migrate()
    except BaseException:
        starting.wait(events.detail, check=False)
        ids = [c.id for c in stack.containers() if c.service == app]
        stack.engine.remove(ids)  # never served before its migration
        # Only now: interrupted before this, the file stays and what is left stays held
        # (the next up or down removes it).
        held.unlink(missing_ok=True)
        raise
    try:
        starting.wait(events.detail)
    finally:
        held.unlink(missing_ok=True)  # migrated: the app may start
    return result
