"""`devstack doctor`: check everything that commonly breaks a stack."""

from __future__ import annotations

import time

import typer

from devstack.cli.context import globals_of
from devstack.errors import ExitCode


def doctor(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Check the engine, compose, ports, file watching, disk, certificates and config.

    Exits 1 when a check fails, 0 otherwise (warnings included)."""
    from devstack import doctor as core

    g = globals_of(ctx)
    start = time.monotonic()
    checks = core.run(g.settings)
    seconds = time.monotonic() - start
    failed = core.failed(checks)
    if g.json or json_out:
        g.output.json({"ok": not failed, "seconds": round(seconds, 2), "checks": list(checks)})
    else:
        g.output.table(
            ["STATUS", "CHECK", "DETAIL", "FIX"],
            [[c.status, c.name, c.detail, c.fix or "-"] for c in checks],
        )
        g.output.info(f"{'failed' if failed else 'ok'} in {seconds:.1f}s")
    if failed:
        raise typer.Exit(int(ExitCode.DOCTOR_FAILED))
