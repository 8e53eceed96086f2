"""Shell completion of service names, read straight from the compose files (no engine).

Fast enough to feel instant: PyYAML on the files devstack would use (their `include:`d
files too), not `docker compose config`. Any problem completes nothing rather than failing.
The reading is in `devstack.composefiles` (typer-free, for the fast entry too); these are
the callbacks typer calls.
"""

from __future__ import annotations

import typer

from devstack.cli.bodies import project_services as services_of
from devstack.composefiles import services_in

__all__ = ["complete_service", "complete_services", "project_services", "services_in"]


def project_services(ctx: typer.Context) -> list[str]:
    """The services of the project the command line points at (-C, -f, environment)."""
    params = ctx.find_root().params
    return services_of(params.get("project_dir"), list(params.get("file") or []))


def complete_services(ctx: typer.Context, incomplete: str) -> list[str]:
    """Service names for a list argument: those not already on the line."""
    given = set(ctx.params.get("services") or [])
    return [s for s in project_services(ctx) if s.startswith(incomplete) and s not in given]


def complete_service(ctx: typer.Context, incomplete: str) -> list[str]:
    """Service names for a single service argument."""
    return [s for s in project_services(ctx) if s.startswith(incomplete)]
