"""Which test command `devstack test` runs in the app service, and why.

First match wins: `test_command` in the configuration; else the project's own test script
(the first of SCRIPTS in the code directory, as FastAPI's full-stack template ships
`scripts/tests-start.sh`), run by the interpreter its first line names; else `pytest`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.config import Settings
from devstack.stack import Stack

SCRIPTS = (
    "scripts/tests-start.sh",
    "scripts/test.sh",
    "scripts/tests.sh",
    "scripts/run-tests.sh",
    "tests-start.sh",
    "test.sh",
)
DEFAULT = ("pytest",)


@dataclass(frozen=True)
class TestCommand:
    argv: tuple[str, ...]  # what runs in the app container, arguments after `--` included
    shown: str  # as the first lines and `config --settings` show it
    why: str

    __test__ = False  # not a pytest class, whatever its name


def resolve(
    settings: Settings,
    args: Sequence[str] = (),
    *,
    code: tuple[Path, str] | None = None,
) -> TestCommand:
    """The test command; `code` is where the app's code is here and in the container
    (the stack's runtime says: a project's own image may keep it at /app/backend)."""
    extra = tuple(args)
    code_dir, mount = code or (settings.code_dir, settings.mount_path)
    if settings.test_command:
        if os.environ.get("DEVSTACK_TEST_COMMAND"):
            why = "test_command from DEVSTACK_TEST_COMMAND"
        else:
            why = f"test_command in {settings.sources[0] if settings.sources else 'the settings'}"
        return _made(settings.test_command + extra, why)
    for rel in SCRIPTS:
        script = code_dir / rel
        if script.is_file():
            inside = f"{mount.rstrip('/')}/{rel}"
            argv = (*_interpreter(script.read_bytes()[:200], os.access(script, os.X_OK)), inside)
            return _made(argv + extra, f"the project's test script {rel} (no test_command set)")
    return _made(DEFAULT + extra, f"no test_command set and no test script ({SCRIPTS[0]}, ...)")


def _made(argv: tuple[str, ...], why: str) -> TestCommand:
    return TestCommand(argv=argv, shown=shlex.join(argv), why=why)


def _interpreter(head: bytes, executable: bool) -> tuple[str, ...]:
    """How to run a script: bash or sh as its first line says; an executable one with
    another interpreter runs itself; else sh."""
    first = head.split(b"\n", 1)[0].decode(errors="replace")
    if first.startswith("#!"):
        words = first[2:].split()
        name = words[-1] if words and words[0].endswith("/env") else (words[0] if words else "")
        if name.endswith("bash"):
            return ("bash",)
        if name.endswith("/sh") or name == "sh":
            return ("sh",)
        if executable:
            return ()
    return ("sh",)


def code_of(stack: Stack) -> tuple[Path, str]:
    """Where the app's code is here and in its container."""
    if stack.runtime is not None:
        return stack.runtime.placement.source, stack.runtime.placement.target
    return stack.settings.code_dir, stack.settings.mount_path
