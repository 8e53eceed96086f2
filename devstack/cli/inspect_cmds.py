"""`logs`, `exec`, `shell`, `config`: looking into a running stack."""

from __future__ import annotations

import sys

import typer

from devstack.cli.app import _g, app
from devstack.cli.render import json_line
from devstack.errors import DevstackError


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
            g.output.out.print(g.output.redact(json_line(line)), markup=False)
            continue
        text = Text(
            f"{line.service:<{width}} | ", style=g.output.service_colour(line.service, names)
        )
        if timestamps:
            text.append(line.timestamp + " ", style="dim")
        text.append(g.output.redact(line.text))
        g.output.out.print(text)


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
    from devstack import readiness

    if settings_only:
        settings = g.settings()
        try:  # how each service is judged ready, when the compose project can be read
            ready = readiness.described(g.stack().project)
        except DevstackError as exc:
            ready = {"error": exc.message}
        g.output.json({**config.describe(settings), "readiness": ready})
        return
    stack = g.stack()
    if g.json:
        g.output.json(stack.engine.config())
    else:
        g.output.out.print(g.output.redact(stack.engine.config_yaml().rstrip()), markup=False)
        how = readiness.described(stack.project)
        lines = [f"#   {name}: {text}" for name, text in how.items()]
        g.output.out.print(
            "\n".join(["# devstack waits on each service by:", *lines]), markup=False
        )
