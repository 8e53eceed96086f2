"""`logs`, `exec`, `shell`, `config`: looking into a running stack."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from devstack.cli.complete import complete_service, complete_services
from devstack.cli.context import globals_of
from devstack.cli.render import json_line
from devstack.errors import DevstackError

if TYPE_CHECKING:
    from devstack.cli.output import Output
    from devstack.logs import LogLine


def logs(
    ctx: typer.Context,
    services: list[str] | None = typer.Argument(
        None, help="Services (default: all).", autocompletion=complete_services
    ),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep following until Ctrl-C."),
    tail: int | None = typer.Option(None, "--tail", min=0, help="Lines from the end of each log."),
    since: str | None = typer.Option(None, "--since", help="Since a time or a duration (10m)."),
    timestamps: bool = typer.Option(False, "-t", "--timestamps", help="Show timestamps."),
) -> None:
    """The services' logs merged in time order, prefixed and coloured by service."""
    from devstack import logs as logs_core

    g = globals_of(ctx)
    stack = g.stack()
    names = sorted(stack.project.services)
    width = max(len(n) for n in names)
    lines = (
        logs_core.follow(stack, services or [], tail=tail, since=since)
        if follow
        else iter(logs_core.read(stack, services or [], tail=tail, since=since))
    )
    show = _log_printer(g.output, names, width, timestamps=timestamps)
    for line in lines:
        show(line)


def _log_printer(
    output: Output, names: list[str], width: int, *, timestamps: bool
) -> Callable[[LogLine], None]:
    """One log line at a time: JSON, plain for pipes, coloured by service on a terminal."""
    redact = output.redact
    if output.json_mode:
        return lambda line: print(redact(json_line(line)), flush=True)
    if not output.out_is_terminal:

        def plain(line: LogLine) -> None:
            stamp = f"{line.timestamp} " if timestamps else ""
            print(f"{line.service:<{width}} | {stamp}{redact(line.text)}", flush=True)

        return plain
    from rich.text import Text

    def coloured(line: LogLine) -> None:
        text = Text(f"{line.service:<{width}} | ", style=output.service_colour(line.service, names))
        if timestamps:
            text.append(line.timestamp + " ", style="dim")
        text.append(redact(line.text))
        output.out.print(text)

    return coloured


def exec_(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service.", autocompletion=complete_service),
    command: list[str] = typer.Argument(..., help="The command and its arguments."),
) -> None:
    """Run a command in a service's running container."""
    g = globals_of(ctx)
    stack = g.stack()
    stack.project.require([service])
    raise typer.Exit(stack.engine.execute(service, command, tty=sys.stdin.isatty()))


def shell(
    ctx: typer.Context,
    service: str | None = typer.Argument(
        None, help="The service (default: the app).", autocompletion=complete_service
    ),
) -> None:
    """A shell in a service's container: bash if present, else sh."""
    g = globals_of(ctx)
    stack = g.stack()
    name = service or stack.project.app
    stack.project.require([name])
    command = ["sh", "-c", "if command -v bash >/dev/null; then exec bash; else exec sh; fi"]
    raise typer.Exit(stack.engine.execute(name, command, tty=sys.stdin.isatty()))


def config_(
    ctx: typer.Context,
    settings_only: bool = typer.Option(
        False, "--settings", help="Show devstack's resolved settings."
    ),
) -> None:
    """Print the merged compose configuration (your files plus devstack's overlay)."""
    from devstack import config
    from devstack.readiness import probes as readiness

    g = globals_of(ctx)
    if settings_only:
        settings = g.settings()
        try:  # how each service is judged ready, when the compose project can be read
            stack = g.stack()
            ready = readiness.described(stack.project, stack.engine)
        except DevstackError as exc:
            ready = {"error": exc.message}
        g.output.json({**config.describe(settings), "readiness": ready})
        return
    stack = g.stack()
    if g.json:
        g.output.json(stack.engine.config())
    else:
        g.output.result(stack.config_yaml().rstrip())
        how = readiness.described(stack.project, stack.engine)
        lines = [f"#   {name}: {text}" for name, text in how.items()]
        g.output.result("\n".join(["# devstack waits on each service by:", *lines]))
