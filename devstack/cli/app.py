"""The typer application: global options, error rendering, command registration."""

from __future__ import annotations

import typer

from devstack import __version__

app = typer.Typer(
    name="devstack",
    help="Run a FastAPI project's local development stack on Docker Compose.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"devstack {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run a FastAPI project's local development stack on Docker Compose."""


def main() -> None:
    app()
