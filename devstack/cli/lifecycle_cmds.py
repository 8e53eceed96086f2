"""`up`, `down`, `ps`, `migrate`: the stack's lifecycle."""

from __future__ import annotations

import typer

from devstack.cli.complete import complete_services
from devstack.cli.context import events_for, globals_of
from devstack.cli.render import services_table


def up(
    ctx: typer.Context,
    services: list[str] | None = typer.Argument(
        None, help="Services to start (default: all).", autocompletion=complete_services
    ),
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
    profile: list[str] | None = typer.Option(
        None, "--profile", help="Enable a compose profile (repeatable; also COMPOSE_PROFILES)."
    ),
) -> None:
    """Build, start dependencies, wait on health, migrate, start the app, wait on it."""
    from devstack import lifecycle
    from devstack.project import profiles_enabling

    g = globals_of(ctx)
    stack = g.stack(wait_timeout=wait_timeout, **({"profiles": profile} if profile else {}))
    unknown = [s for s in services or [] if s not in stack.project.services]
    if unknown:  # naming a service of an inactive profile enables that profile, as in compose
        extra = [*stack.settings.profiles, *profiles_enabling(stack.engine, unknown)]
        stack = g.stack(wait_timeout=wait_timeout, profiles=extra)
    events = events_for(g.output)
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
        services_table(g.output, result.services, waited=True)
        note = stack.delivery.state(stack).note
        if note:
            g.output.info(note)
        g.output.info(f"ready in {result.seconds:.1f}s")
    if watch:
        from devstack.cli.watch_cmd import run_watch

        run_watch(g, stack)


def down(
    ctx: typer.Context,
    volumes: bool = typer.Option(
        False, "-v", "--volumes", help="Also delete named volumes (the data)."
    ),
) -> None:
    """Stop and remove the containers and networks; volumes are kept unless -v."""
    from devstack.cli.bodies import run_down

    run_down(globals_of(ctx), volumes=volumes)


def ps(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """Every service's state, health, ports and uptime."""
    from devstack.cli.bodies import show_ps

    show_ps(globals_of(ctx), json_out=json_out)


def migrate(
    ctx: typer.Context,
    args: list[str] | None = typer.Argument(
        None, help="Arguments for the migration tool (after --)."
    ),
) -> None:
    """Wait for the database, then run the migration command in a one-off container."""
    from devstack import lifecycle

    g = globals_of(ctx)
    events = events_for(g.output)
    try:
        result = lifecycle.migrate(g.stack(), args or [], events=events)
    finally:
        events.close()
    if g.json:
        g.output.json(result)
    else:
        g.output.info(f"migrated in {result.seconds:.1f}s")
