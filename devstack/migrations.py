"""Migrations: run once the database is healthy, in a one-off container of the app."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from devstack.config import DEFAULT_MIGRATE
from devstack.errors import MigrationFailed
from devstack.stack import Stack

if TYPE_CHECKING:
    from devstack.engine.client import Held

ONEOFF_PREFIX = "devstack-migrate"


@dataclass(frozen=True)
class MigrationResult:
    command: tuple[str, ...]
    seconds: float
    output: str


def service(stack: Stack) -> str:
    return stack.settings.migrate_service or stack.project.require_app("migrating")


def wanted(stack: Stack) -> bool:
    """Whether `up` migrates: a command is set (alembic's default only with alembic.ini)."""
    command = stack.settings.migrate_command
    if not command:
        return False
    if command == DEFAULT_MIGRATE:
        return (stack.settings.code_dir / "alembic.ini").exists()
    return True


def run_by_prestart(stack: Stack) -> str | None:
    """The app's prestart script (PRE_START_PATH, else /app/prestart.sh) when it runs the
    migration tool itself, as the seed's image taught: then `up` leaves the migration to it
    (it runs once, when the app starts, after the dependencies are ready). Only a script in
    the bind-mounted code can be read; one baked into the image is not looked at."""
    command = stack.settings.migrate_command
    if not command or not stack.project.app:
        return None
    by_service = _run_by_oneshot(stack, command[0])
    if by_service:
        return by_service
    env = stack.project.services[stack.project.app].environment
    path = env.get("PRE_START_PATH") or "/app/prestart.sh"
    mount = stack.settings.mount_path.rstrip("/")
    if not path.startswith(mount + "/"):
        return None
    script = stack.settings.code_dir / path[len(mount) + 1 :]
    try:
        text = script.read_text(errors="replace")
    except OSError:
        return None
    return path if _runs(command[0], text) else None


def _runs(tool: str, text: str) -> bool:
    """Whether `text` (a command or a script, comments left out) runs `tool`."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    name = re.escape(PurePosixPath(tool).name)
    return re.search(rf"(?<![\w.-]){name}(?![\w.-])", code) is not None


def _run_by_oneshot(stack: Stack, tool: str) -> str | None:
    """The project's own one-shot service (another waits on it with
    service_completed_successfully) when it runs the migration tool: in its command, or
    in a script its command names that is in the code directory (`bash scripts/prestart.sh`)."""
    for name in sorted(stack.project.oneshots):
        words = stack.project.services[name].command
        if _runs(tool, " ".join(words)):
            return f"the {name} service (`{' '.join(words)}`)"
        for word in words:
            script = _script(stack, word, stack.project.services[name].working_dir)
            if script and _runs(tool, script):
                return f"the {name} service ({word})"
    return None


def _script(stack: Stack, word: str, working_dir: str) -> str | None:
    """A script a command names, read from the code directory where the code mount or the
    working directory puts it; None when it is not there."""
    if not word.endswith((".sh", ".py", ".bash")):
        return None
    mount = stack.settings.mount_path.rstrip("/")
    path = PurePosixPath(word if word.startswith("/") else f"{working_dir or mount}/{word}")
    roots = [stack.settings.code_dir, stack.settings.project_dir]
    candidates = [r / path.relative_to(mount) for r in roots if path.is_relative_to(mount)]
    candidates += [r / word for r in roots if not word.startswith("/")]
    for candidate in candidates:
        try:
            return candidate.read_text(errors="replace")
        except OSError:
            continue
    return None


def command_for(stack: Stack, args: Sequence[str]) -> tuple[str, ...]:
    """The migration command; extra args replace the default's arguments (`-- downgrade -1`)."""
    command = stack.settings.migrate_command
    if not args:
        return command
    return (command[0], *args) if command else tuple(args)


def _oneoff_name(stack: Stack) -> str:
    return f"{stack.name}-{ONEOFF_PREFIX}-{uuid.uuid4().hex[:8]}"


def hold(stack: Stack) -> Held | None:
    """The migration made ready ahead, while its dependencies are still being waited on
    (the one-off created and started, the command held until `run_migrations` releases
    it); None where the delivery runs it another way. The caller cancels it on failure."""
    command = stack.settings.migrate_command
    if not command:
        return None
    return stack.delivery.hold_current(stack, service(stack), command, name=_oneoff_name(stack))


def run_migrations(
    stack: Stack,
    args: Sequence[str] = (),
    *,
    sink: Callable[[str], None],
    held: Held | None = None,
) -> MigrationResult:
    """Run the migration command against the current code, as the stack's delivery does it
    (a one-off container that sees the bind-mounted code; the app's running container that
    holds the synced code), or release the one `hold` made ready (`held`, made for the
    configured command: `args` must be empty). Its dependencies must be up."""
    command = command_for(stack, args)
    if not command:
        raise MigrationFailed(
            "no migration command is configured", hint="set migrate_command in [tool.devstack]"
        )
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        sink(line)

    start = time.monotonic()
    try:
        code = held.release(keep) if held and not args else None
        if code is None:  # nothing held, or the hold could not be set: run it now
            name = _oneoff_name(stack)
            code = stack.delivery.run_current(stack, service(stack), command, name=name, sink=keep)
    finally:
        if held:
            held.cancel()  # ended already, unless released with other arguments
        remove_oneoffs(stack)
    output = "\n".join(lines)
    if code != 0:
        raise MigrationFailed(
            f"migration `{' '.join(command)}` exited with code {code}",
            hint="fix the migration, then run `devstack migrate` again",
            details="\n".join(lines[-30:]),
        )
    return MigrationResult(command=command, seconds=time.monotonic() - start, output=output)


def remove_oneoffs(stack: Stack) -> list[str]:
    """Remove devstack's one-off containers of this project (left by an interrupt)."""
    found = [c for c in stack.engine.containers(stack.name, oneoff=True) if ONEOFF_PREFIX in c.name]
    stack.engine.remove([c.id for c in found])
    return [c.name for c in found]
