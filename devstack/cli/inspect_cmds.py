"""`logs`, `exec`, `shell`, `config`: looking into a running stack."""

from __future__ import annotations

import sys

import typer

from devstack.cli.bodies import show_config, show_logs
from devstack.cli.complete import complete_service, complete_services
from devstack.cli.context import globals_of


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
    show_logs(
        globals_of(ctx),
        services or [],
        follow=follow,
        tail=tail,
        since=since,
        timestamps=timestamps,
    )


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
    name = service or stack.project.require_app("`devstack shell` without a SERVICE")
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
    show_config(globals_of(ctx), settings_only=settings_only)
