"""The typer application: global options, commands, and the one place errors become exit codes.

Commands parse options, call one core function and render its result; no engine logic here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer._click.exceptions import ClickException  # typer vendors click

from devstack import __version__
from devstack.errors import ConfigError, DevstackError, ExitCode

if TYPE_CHECKING:
    from devstack.cli.output import Output
    from devstack.health import Status
    from devstack.stack import Stack

app = typer.Typer(
    name="devstack",
    help="Run a FastAPI project's local development stack on Docker Compose.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer costs ~100 ms per start
    context_settings={"help_option_names": ["-h", "--help"]},
)


_state = {"verbose": False}  # read by main() when rendering an error


@dataclass
class Globals:
    project_dir: Path | None
    files: list[Path]
    project_name: str | None
    json: bool
    verbose: bool
    quiet: bool
    _output: Output | None = None

    @property
    def output(self) -> Output:
        if self._output is None:
            from devstack.cli.output import Output

            self._output = Output(json_mode=self.json, quiet=self.quiet, verbose=self.verbose)
        return self._output

    def settings(self, **overrides: Any) -> Any:
        from devstack import config

        flags: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if self.files:
            flags["compose_files"] = [str(f) for f in self.files]
        if self.project_name:
            flags["project_name"] = self.project_name
        settings = config.load(self.project_dir, overrides=flags)
        from devstack.redact import secret_values

        self.output.redact.__init__(secret_values(settings.project_dir))  # type: ignore[misc]
        return settings

    def stack(self, **overrides: Any) -> Stack:
        from devstack.stack import open_stack

        return open_stack(self.settings(**overrides))


class CliEvents:
    """Core progress events rendered by the CLI."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self._progress = output.progress()

    def stage(self, text: str) -> None:
        self._progress.close()
        self.output.stage(text)

    def progress(self, statuses: Sequence[Status]) -> None:
        self._progress(statuses)

    def line(self, text: str) -> None:
        self.output.line(text)

    def detail(self, text: str) -> None:
        if self.output.verbose:
            self.output.line(text)

    def close(self) -> None:
        self._progress.close()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"devstack {__version__}")
        raise typer.Exit()


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
        False, "-v", "--verbose", help="Show every engine command; tracebacks."
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only results and errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run a FastAPI project's local development stack on Docker Compose."""
    _state["verbose"] = verbose
    if verbose and quiet:
        raise ConfigError("--verbose and --quiet contradict each other", hint="pass one of them")
    ctx.obj = Globals(project_dir, list(file or []), project_name, json_out, verbose, quiet)
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("$ %(message)s"))
        g = ctx.obj

        class _Redacting(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                record.msg = g.output.redact(record.getMessage())
                record.args = ()
                return True

        handler.addFilter(_Redacting())
        for name in ("devstack", "python_on_whales"):
            logging.getLogger(name).addHandler(handler)
            logging.getLogger(name).setLevel(logging.DEBUG)


def _g(ctx: typer.Context) -> Globals:
    obj = ctx.obj
    assert isinstance(obj, Globals)
    return obj


def _watch(g: Globals, stack: Stack) -> None:
    from devstack.cli.watch_cmd import run_watch

    run_watch(g, stack)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the app, turn every expected failure into its exit code."""
    try:
        code = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except DevstackError as exc:
        from devstack.cli.output import Output

        ctx_out = Output(verbose=_state["verbose"])
        ctx_out.error(exc)
        sys.exit(int(exc.exit_code))
    except (typer.Abort, KeyboardInterrupt):
        code = int(ExitCode.INTERRUPTED)
    except ClickException as exc:
        exc.show()
        sys.exit(int(ExitCode.USAGE))
    if code == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into exit code 130
        print("interrupted", file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)


# Each command module registers its commands on `app`, in the order `--help` lists them.
# isort: off
from devstack.cli import lifecycle_cmds  # noqa: E402, F401
from devstack.cli import inspect_cmds  # noqa: E402, F401
from devstack.cli import init_cmd  # noqa: E402, F401
from devstack.cli import watch_cmd  # noqa: E402, F401
from devstack.cli import doctor_cmd  # noqa: E402, F401
from devstack.cli import sync_cmds  # noqa: E402, F401
# isort: on
