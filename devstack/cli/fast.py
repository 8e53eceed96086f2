"""The entry point. Simple invocations (`ps`, `logs` without --follow, `config`, `down`, bash
completion of service names) are parsed here and run the same bodies as the typer commands
(`devstack.cli.bodies`) without importing typer, whose import costs about as much as
`docker compose ps` takes; everything else, and anything this small parser does not know
exactly (other options, `--opt=value`, a value that looks like an option), goes to the
typer app, which then answers as it always did: its help, usage errors and messages.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

_VALUED = {"-C": 0, "--project-dir": 0, "-f": 1, "--file": 1, "-p": 2, "--project-name": 2}
_FLAGS = {"--json": 3, "-q": 4, "--quiet": 4}
_SIMPLE = {  # their whole lines
    "ps": ((), ("--json",)),
    "config": ((), ("--settings",)),
    "down": ((), ("-v",), ("--volumes",)),
}
_LISTS_SERVICES = ("logs", "up")  # commands whose arguments are service names


class Invocation:
    """A read command as the typer app would parse it (a plain class: making a NamedTuple
    or a dataclass costs a millisecond of every start)."""

    def __init__(
        self,
        project_dir: str | None,
        files: tuple[str, ...],
        project_name: str | None,
        json: bool,
        quiet: bool,
        command: str,
        args: tuple[str, ...],
    ) -> None:
        self.project_dir, self.files, self.project_name = project_dir, files, project_name
        self.json, self.quiet, self.command, self.args = json, quiet, command, args


def _globals(argv: Sequence[str]) -> tuple[list[object], int] | None:
    """The global options in front of the command, and where the command starts."""
    values: list[object] = [None, [], None, False, False]
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        if word in _VALUED:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            slot = _VALUED[word]
            if slot == 1:
                values[1] = [*values[1], argv[i + 1]]  # type: ignore[misc]
            elif values[slot] is not None:
                return None  # given twice: left to typer
            else:
                values[slot] = argv[i + 1]
            i += 2
        elif word in _FLAGS:
            values[_FLAGS[word]] = True
            i += 1
        else:
            return None
    return values, i


def parse(argv: Sequence[str]) -> Invocation | None:
    """`argv` (without the program) when it is a command this parser knows exactly:
    `ps [--json]`, `config [--settings]`, `down [-v]`,
    `logs [SERVICE...] [--tail N] [--since T] [-t]`."""
    found = _globals(argv)
    if found is None or found[1] >= len(argv):
        return None
    values, at = found
    command, rest = argv[at], tuple(argv[at + 1 :])
    if command in _SIMPLE:
        if rest not in _SIMPLE[command]:
            return None
    elif command != "logs" or not _plain_logs(rest):
        return None
    project_dir, files, project_name, json_out, quiet = values
    return Invocation(
        project_dir,  # type: ignore[arg-type]
        tuple(files),  # type: ignore[arg-type]
        project_name,  # type: ignore[arg-type]
        bool(json_out),
        bool(quiet),
        command,
        rest,
    )


def _plain_logs(rest: Sequence[str]) -> bool:
    i, seen = 0, set()
    while i < len(rest):
        word = rest[i]
        if word in ("--tail", "--since"):
            if word in seen or i + 1 >= len(rest) or rest[i + 1].startswith("-"):
                return False
            if word == "--tail" and not (rest[i + 1].isascii() and rest[i + 1].isdigit()):
                return False
            seen.add(word)
            i += 2
        elif word in ("-t", "--timestamps") or not word.startswith("-"):
            i += 1
        else:
            return False
    return True


def completion(environ: Mapping[str, str]) -> tuple[Invocation, list[str], str] | None:
    """Bash asking for service names after `devstack [-C DIR] [-f FILE] logs|up NAME... `:
    (the invocation, the names already given, the word being completed)."""
    if environ.get("_DEVSTACK_COMPLETE") != "complete_bash":
        return None
    line, cword = environ.get("COMP_WORDS", ""), environ.get("COMP_CWORD", "")
    if not cword.isascii() or not cword.isdigit() or not line.isascii():
        return None
    if any(c in line for c in "'\"\\\t\r\n\x0b\x0c"):
        return None  # quoting: left to click's own splitting
    words = line.split()
    args, incomplete = words[1 : int(cword)], (words[int(cword) :] or [""])[0]
    found = _globals(args)
    if found is None or found[1] >= len(args) or incomplete.startswith("-"):
        return None
    values, at = found
    given = args[at + 1 :]
    if args[at] not in _LISTS_SERVICES or any(w.startswith("-") for w in given):
        return None
    project_dir, files, _, _, _ = values
    call = Invocation(project_dir, tuple(files), None, False, False, "complete", ())  # type: ignore[arg-type]
    return call, given, incomplete


def run(call: Invocation) -> None:
    """The read command, as the typer command would run it: from the read snapshot when it
    holds (devstack.cli.quick), else in full."""
    from devstack.cli import quick

    try:
        if quick.answer(call):
            return
    except KeyboardInterrupt:
        _interrupted()
    from pathlib import Path

    from devstack.cli import bodies
    from devstack.cli.context import Globals

    g = Globals(
        Path(call.project_dir) if call.project_dir is not None else None,
        [Path(f) for f in call.files],
        call.project_name,
        call.json,
        False,
        call.quiet,
    )
    try:
        if call.command == "ps":
            bodies.show_ps(g, json_out=call.args == ("--json",))
        elif call.command == "config":
            bodies.show_config(g, settings_only=call.args == ("--settings",))
        elif call.command == "down":
            bodies.run_down(g, volumes=bool(call.args))
        else:
            _logs(g, call.args)
    except Exception as exc:
        from devstack.errors import DevstackError

        if not isinstance(exc, DevstackError):
            raise
        g.output.error(exc)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        _interrupted()


def _interrupted() -> None:
    from devstack.errors import ExitCode

    print("interrupted", file=sys.stderr)
    sys.exit(int(ExitCode.INTERRUPTED))


def _logs(g: object, rest: Sequence[str]) -> None:
    from devstack.cli import bodies
    from devstack.cli.quick import log_options

    services, tail, since, timestamps = log_options(rest)
    bodies.show_logs(
        g,  # type: ignore[arg-type]
        services,
        follow=False,
        tail=tail,
        since=since,
        timestamps=timestamps,
    )


def complete(call: Invocation, given: Sequence[str], incomplete: str) -> None:
    """Print what typer's bash completion prints: one name a line."""
    from pathlib import Path

    from devstack.cli.bodies import project_services

    names = project_services(
        Path(call.project_dir) if call.project_dir is not None else None,
        [Path(f) for f in call.files],
    )
    print("\n".join(n for n in names if n.startswith(incomplete) and n not in given))
    sys.exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """`devstack`: a simple read command here, anything else through the typer app."""
    args = list(sys.argv[1:] if argv is None else argv)
    asked = completion(os.environ)
    if asked is not None:
        complete(*asked)
    call = parse(args) if "_DEVSTACK_COMPLETE" not in os.environ else None
    if call is not None:
        run(call)
        return
    from devstack.cli.app import main as typer_main

    typer_main(argv)
