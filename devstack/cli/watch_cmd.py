"""`devstack watch`: rebuild on dependency changes, migrate on new migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from devstack.cli.app import app
from devstack.errors import ConfigError

if TYPE_CHECKING:
    from devstack.cli.app import Globals
    from devstack.stack import Stack


def run_watch(g: Globals, stack: Stack) -> None:
    raise ConfigError("watch is not implemented yet")


@app.command()
def watch(ctx: typer.Context) -> None:
    """Watch the project: rebuild the app on dependency changes, migrate on new migrations."""
    from devstack.cli.app import _g

    g = _g(ctx)
    run_watch(g, g.stack())
