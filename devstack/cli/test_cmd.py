"""`devstack test`: the project's tests in a throw-away copy of the stack."""

from __future__ import annotations

import sys

import typer

from devstack.cli.context import events_for, globals_of


def test(
    ctx: typer.Context,
    args: list[str] | None = typer.Argument(
        None, help="Arguments for the test command (after --)."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Leave the copy running; say how to reach and remove it."
    ),
    clean: bool = typer.Option(
        False,
        "--clean",
        help="Remove this project's test copies left running (--keep, a killed run); exit.",
    ),
) -> None:
    """Run the tests in a throw-away copy of the stack (own volumes, no host ports)."""
    from devstack.testrun import orphans
    from devstack.testrun import run as testrun

    g = globals_of(ctx)
    settings = g.settings()
    the_plan = testrun.plan(settings, args or [], keep=keep)
    if clean:
        removed = orphans.remove(the_plan.dev_project, settings.state_dir, kept=True)
        g.output.result(f"removed {len(removed)} test cop{'y' if len(removed) == 1 else 'ies'}")
        return
    g.output.stage(
        f"test copy {the_plan.name} of {the_plan.dev_project}: fresh volumes, no host ports, "
        f"{the_plan.engine}"
    )
    g.output.stage(f"test command: {the_plan.command.shown} ({the_plan.command.why})")
    events = events_for(g.output)
    try:
        result = testrun.run(
            the_plan,
            tty=sys.stdin.isatty() and sys.stdout.isatty(),
            events=events,
            before_tests=events.close,
        )
    finally:
        events.close()
    if result.collected:
        g.output.info(f"copied back from the app container: {', '.join(result.collected)}")
    if g.json:
        g.output.json(result)
        raise typer.Exit(result.exit_code)
    if result.teardown_seconds is None:
        g.output.result(f"kept the test copy {result.name} (no host ports):")
        for line in result.reach:
            g.output.result(f"  {line}")
        g.output.result("  remove it: devstack test --clean")
        teardown = "copy kept"
    else:
        teardown = f"teardown in {result.teardown_seconds:.1f}s"
    g.output.result(
        f"tests {result.outcome}: stack ready in {result.ready_seconds:.1f}s, "
        f"tests in {result.test_seconds:.1f}s, {teardown}"
    )
    raise typer.Exit(result.exit_code)
