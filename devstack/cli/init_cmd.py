"""`init`: scaffold devstack into a FastAPI project."""

from __future__ import annotations

from pathlib import Path

import typer

from devstack.cli.context import globals_of


def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("."), help="The FastAPI project to set up."),
    postgres: bool = typer.Option(
        True, "--postgres/--no-postgres", help="Add a PostgreSQL service."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Scaffold devstack into an existing FastAPI project."""
    from devstack.init.command import init as init_project

    g = globals_of(ctx)
    result = init_project(directory, postgres=postgres, force=force)
    if g.json:
        g.output.json(result)
        return
    for path in result.adopted:
        g.output.result(f"adopted {path} (yours, untouched)")
    for path in result.written:
        g.output.result(f"wrote   {path}")
    for path in result.skipped:
        g.output.result(f"kept    {path} (exists; --force overwrites)")
    g.output.info(f"dependencies: {result.dependencies}")
    if result.runs:
        g.output.info(result.runs)
    for advice in result.advice:
        g.output.info(f"change: {advice}")
    g.output.info(f"app module: {result.app_module}; next: `devstack -C {directory} up`")
