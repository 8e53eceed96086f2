"""The typer application: global options, the commands registered in one place, and the one
place errors become exit codes.

Commands parse options, call one core function and render its result; no engine logic here.
The command modules never import this one: it imports them and registers their functions.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from devstack import __version__
from devstack.cli import (
    doctor_cmd,
    init_cmd,
    inspect_cmds,
    lifecycle_cmds,
    sync_cmds,
    test_cmd,
    watch_cmd,
)
from devstack.cli.context import Globals
from devstack.errors import ConfigError, DevstackError, ExitCode

__all__ = ["Globals", "app", "main"]

app = typer.Typer(
    name="devstack",
    help="Run a FastAPI project's local development stack on Docker Compose.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer costs ~100 ms per start
    context_settings={"help_option_names": ["-h", "--help"]},
)

_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}

# The commands, in the order `--help` lists them.
app.command()(lifecycle_cmds.up)
app.command()(lifecycle_cmds.down)
app.command()(lifecycle_cmds.ps)
app.command(context_settings=_PASS_THROUGH)(lifecycle_cmds.migrate)
app.command(context_settings=_PASS_THROUGH)(test_cmd.test)
app.command()(inspect_cmds.logs)
app.command("exec", context_settings=_PASS_THROUGH)(inspect_cmds.exec_)
app.command()(inspect_cmds.shell)
app.command("config")(inspect_cmds.config_)
app.command()(init_cmd.init)
app.command()(watch_cmd.watch)
app.command()(doctor_cmd.doctor)
app.add_typer(sync_cmds.sync_app, name="sync")


def _version(value: bool) -> None:
    if value:
        print(f"devstack {__version__}")
        raise typer.Exit()


_current: list[Globals] = []  # the global options of this run, for main() to render errors


@app.callback()
def main_options(
    ctx: typer.Context,
    project_dir: Path | None = typer.Option(
        None,
        "-C",
        "--project-dir",
        metavar="DIR",
        help="The project's directory (default: the current one).",
    ),
    file: list[Path] | None = typer.Option(
        None, "-f", "--file", metavar="FILE", help="Compose file; repeat for several, like compose."
    ),
    project_name: str | None = typer.Option(
        None, "-p", "--project-name", metavar="NAME", help="Compose project name."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Machine-readable output where there is output."
    ),
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Show every engine command and build line; tracebacks."
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only results and errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run a FastAPI project's local development stack on Docker Compose."""
    if verbose and quiet:
        raise ConfigError("--verbose and --quiet contradict each other", hint="pass one of them")
    g = Globals(project_dir, list(file or []), project_name, json_out, verbose, quiet)
    ctx.obj = g
    _current[:] = [g]
    if verbose:
        _log_commands(g)


def _log_commands(g: Globals) -> None:
    """-v: every engine command on stderr, secrets masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("$ %(message)s"))

    class _Redacting(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = g.output.redact(record.getMessage())
            record.args = ()
            return True

    handler.addFilter(_Redacting())
    for name in ("devstack", "python_on_whales"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the app, turn every expected failure into its exit code.

    typer itself shows usage errors (exit 2) and turns Ctrl-C into exit 130."""
    _current.clear()
    try:
        app(args=list(argv) if argv is not None else None, prog_name="devstack")
    except DevstackError as exc:
        from devstack.cli.output import Output

        output = _current[0].output if _current else Output(verbose="-v" in (argv or sys.argv))
        output.error(exc)
        sys.exit(int(exc.exit_code))
    except SystemExit as exc:
        if exc.code == ExitCode.INTERRUPTED:
            print("interrupted", file=sys.stderr)
        raise
    except KeyboardInterrupt:  # outside any command (typer handles those inside)
        print("interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
