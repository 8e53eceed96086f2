"""`devstack doctor`: check everything that commonly breaks a stack."""

from __future__ import annotations

import typer

from devstack.cli.app import app
from devstack.errors import ConfigError


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check the engine, compose, ports, file watching, disk, certificates and config."""
    raise ConfigError("doctor is not implemented yet")
