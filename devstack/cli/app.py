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


# ---- commands -------------------------------------------------------------------------


@app.command()
def up(
    ctx: typer.Context,
    services: list[str] | None = typer.Argument(None, help="Services to start (default: all)."),
    build: bool | None = typer.Option(
        None, "--build/--no-build", help="Rebuild images / never build."
    ),
    no_migrate: bool = typer.Option(False, "--no-migrate", help="Skip the migrations."),
    wait_timeout: float | None = typer.Option(
        None, "--wait-timeout", help="Seconds to wait on health."
    ),
    watch: bool = typer.Option(
        False, "--watch", help="Then watch for dependency and migration changes."
    ),
) -> None:
    """Build, start dependencies, wait on health, migrate, start the app, wait on it."""
    from devstack import lifecycle

    g = _g(ctx)
    stack = g.stack(wait_timeout=wait_timeout)
    events = CliEvents(g.output)
    try:
        result = lifecycle.up(
            stack,
            services or [],
            build=build,
            migrate=not no_migrate,
            wait_timeout=wait_timeout,
            events=events,
        )
    finally:
        events.close()
    if g.json:
        g.output.json(result)
    else:
        _services_table(g.output, result.services, waited=True)
        g.output.info(f"ready in {result.seconds:.1f}s")
    if watch:
        _watch(g, stack)


@app.command()
def down(
    ctx: typer.Context,
    volumes: bool = typer.Option(
        False, "-v", "--volumes", help="Also delete named volumes (the data)."
    ),
) -> None:
    """Stop and remove the containers and networks; volumes are kept unless -v."""
    from devstack import lifecycle

    g = _g(ctx)
    result = lifecycle.down(g.stack(), volumes=volumes, events=CliEvents(g.output))
    if g.json:
        g.output.json(result)
        return
    g.output.result(
        f"removed {result.containers} container(s) of {result.project} in {result.seconds:.1f}s"
    )
    if result.volumes_deleted:
        g.output.result(f"deleted volumes: {', '.join(result.volumes_deleted)}")
    elif result.volumes_kept:
        g.output.info(
            f"kept volumes: {', '.join(result.volumes_kept)} (`devstack down -v` deletes them)"
        )


@app.command()
def ps(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Every service's state, health, ports and uptime."""
    from devstack import lifecycle

    g = _g(ctx)
    reports = lifecycle.ps(g.stack())
    if g.json or json_out:
        g.output.json(list(reports))
    else:
        _services_table(g.output, reports, waited=False)


@app.command()
def logs(
    ctx: typer.Context,
    services: list[str] | None = typer.Argument(None, help="Services (default: all)."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep following until Ctrl-C."),
    tail: int | None = typer.Option(None, "--tail", min=0, help="Lines from the end of each log."),
    since: str | None = typer.Option(None, "--since", help="Since a time or a duration (10m)."),
    timestamps: bool = typer.Option(False, "-t", "--timestamps", help="Show timestamps."),
) -> None:
    """The services' logs merged in time order, prefixed and coloured by service."""
    from rich.text import Text

    from devstack import logs as logs_core

    g = _g(ctx)
    stack = g.stack()
    names = sorted(stack.project.services)
    width = max(len(n) for n in names)
    lines = (
        logs_core.follow(stack, services or [], tail=tail, since=since)
        if follow
        else iter(logs_core.read(stack, services or [], tail=tail, since=since))
    )
    for line in lines:
        if g.json:
            g.output.out.print(g.output.redact(_json_line(line)), markup=False)
            continue
        text = Text(
            f"{line.service:<{width}} | ", style=g.output.service_colour(line.service, names)
        )
        if timestamps:
            text.append(line.timestamp + " ", style="dim")
        text.append(g.output.redact(line.text))
        g.output.out.print(text)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def migrate(
    ctx: typer.Context,
    args: list[str] | None = typer.Argument(
        None, help="Arguments for the migration tool (after --)."
    ),
) -> None:
    """Wait for the database, then run the migration command in a one-off container."""
    from devstack import lifecycle

    g = _g(ctx)
    events = CliEvents(g.output)
    try:
        result = lifecycle.migrate(g.stack(), args or [], events=events)
    finally:
        events.close()
    if g.json:
        g.output.json(result)
    else:
        g.output.info(f"migrated in {result.seconds:.1f}s")


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service."),
    command: list[str] = typer.Argument(..., help="The command and its arguments."),
) -> None:
    """Run a command in a service's running container."""
    g = _g(ctx)
    stack = g.stack()
    stack.project.require([service])
    raise typer.Exit(stack.engine.execute(service, command, tty=sys.stdin.isatty()))


@app.command()
def shell(
    ctx: typer.Context,
    service: str | None = typer.Argument(None, help="The service (default: the app)."),
) -> None:
    """A shell in a service's container: bash if present, else sh."""
    g = _g(ctx)
    stack = g.stack()
    name = service or stack.project.app
    stack.project.require([name])
    command = ["sh", "-c", "if command -v bash >/dev/null; then exec bash; else exec sh; fi"]
    raise typer.Exit(stack.engine.execute(name, command, tty=sys.stdin.isatty()))


@app.command("config")
def config_(
    ctx: typer.Context,
    settings_only: bool = typer.Option(
        False, "--settings", help="Show devstack's resolved settings."
    ),
) -> None:
    """Print the merged compose configuration (your files plus devstack's overlay)."""
    from devstack import config

    g = _g(ctx)
    if settings_only:
        g.output.json(config.describe(g.settings()))
        return
    stack = g.stack()
    if g.json:
        g.output.json(stack.engine.config())
    else:
        g.output.out.print(g.output.redact(stack.engine.config_yaml().rstrip()), markup=False)


@app.command()
def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("."), help="The FastAPI project to set up."),
    postgres: bool = typer.Option(
        True, "--postgres/--no-postgres", help="Add a PostgreSQL service."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Scaffold devstack into an existing FastAPI project."""
    from devstack import scaffold

    g = _g(ctx)
    result = scaffold.init(directory, postgres=postgres, force=force)
    if g.json:
        g.output.json(result)
        return
    for path in result.written:
        g.output.result(f"wrote   {path}")
    for path in result.skipped:
        g.output.result(f"kept    {path} (exists; --force overwrites)")
    g.output.info(f"app module: {result.app_module}; next: `devstack -C {directory} up`")


def _watch(g: Globals, stack: Stack) -> None:
    from devstack.cli.watch_cmd import run_watch

    run_watch(g, stack)


# Commands with modules of their own register themselves on `app`.
from devstack.cli import doctor_cmd, watch_cmd  # noqa: E402, F401

# ---- rendering helpers ----------------------------------------------------------------


def _services_table(output: Output, reports: Sequence[Any], *, waited: bool) -> None:
    columns = ["SERVICE", "STATE", "HEALTH", "URL", "READY IN" if waited else "UPTIME"]
    rows = []
    for r in reports:
        secs = r.seconds if waited else r.uptime
        rows.append([r.service, r.state, r.health or "-", r.url or "-", _duration(secs)])
    output.table(columns, rows)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def _json_line(line: Any) -> str:
    import json

    return json.dumps({"service": line.service, "timestamp": line.timestamp, "text": line.text})


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
