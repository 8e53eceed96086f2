"""The bodies of the commands the fast entry runs (`ps`, `logs`, `config`, `down`) and the
service names shell completion offers, without typer: the typer commands call these, and so
does the fast entry (`devstack.cli.fast`) that parses simple invocations itself. One body
each, so both ways print the same."""

from __future__ import annotations

TYPE_CHECKING = False  # the fast entry imports this module: no typing, no pathlib
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from devstack.cli.context import Globals
    from devstack.cli.output import Output
    from devstack.lifecycle import DownResult


def show_ps(g: Globals, *, json_out: bool) -> None:
    """Every service's state, health, ports and uptime."""
    from devstack import status
    from devstack.cli.render import services_table

    if json_out:
        g.use_json()
    stack = g.stack()
    reports = status.ps(stack)
    if g.json:
        g.output.json(list(reports))
    else:
        services_table(g.output, reports, waited=False)
        delivered = stack.delivery.state(stack)
        if delivered.note:
            sync = f"; sync: {delivered.sync}" if delivered.sync else ""
            g.output.info(delivered.note + sync)


def run_down(g: Globals, *, volumes: bool) -> None:
    """Stop and remove the containers and networks; volumes are kept unless -v."""
    from devstack import lifecycle
    from devstack.cli.context import events_for

    events = events_for(g.output)
    try:
        result = lifecycle.down(g.stack(), volumes=volumes, events=events)
    finally:
        events.close()
    show_down(g.output, result)


def show_down(output: Output, result: DownResult) -> None:
    """What `down` removed and kept."""
    if output.json_mode:
        output.json(result)
        return
    output.result(
        f"removed {result.containers} container(s) of {result.project} in {result.seconds:.1f}s"
    )
    if result.test_copies:
        copies = ", ".join(result.test_copies)
        output.result(f"removed test copies left by a killed run: {copies}")
    if result.volumes_deleted:
        output.result(f"deleted volumes: {', '.join(result.volumes_deleted)}")
    elif result.volumes_kept:
        output.info(
            f"kept volumes: {', '.join(result.volumes_kept)} (`devstack down -v` deletes them)"
        )


def show_logs(
    g: Globals,
    services: Sequence[str],
    *,
    follow: bool,
    tail: int | None,
    since: str | None,
    timestamps: bool,
) -> None:
    """The services' logs merged in time order, prefixed and coloured by service."""
    from devstack import logs as logs_core
    from devstack.cli.render import log_printer

    stack = g.stack()
    names = sorted(stack.project.services)
    width = max(len(n) for n in names)
    lines = (
        logs_core.follow(stack, services, tail=tail, since=since)
        if follow
        else iter(logs_core.read(stack, services, tail=tail, since=since))
    )
    show = log_printer(g.output, names, width, timestamps=timestamps)
    for line in lines:
        show(line)


def show_config(g: Globals, *, settings_only: bool) -> None:
    """The merged compose configuration (your files plus devstack's overlay)."""
    if settings_only:
        from devstack import config
        from devstack.errors import DevstackError
        from devstack.testrun import command as test_command

        settings = g.settings()
        code = None
        try:  # how each service is judged ready, when the compose project can be read
            stack = g.stack()
            ready = stack.readiness()
            code = test_command.code_of(stack)
        except DevstackError as exc:
            ready = {"error": exc.message}
        tests = test_command.resolve(settings, code=code)  # what `devstack test` runs, and why
        test = {"command": tests.shown, "why": tests.why}
        g.output.json({**config.describe(settings), "readiness": ready, "test": test})
        return
    stack = g.stack()
    if g.json:
        g.output.json(stack.engine.config())
    else:
        print_config(g.output, stack.config_yaml(), stack.readiness())


def print_config(output: Output, text: str, how: dict[str, str]) -> None:
    """The merged configuration, then how devstack waits on each service."""
    output.result(text.rstrip())
    lines = [f"#   {name}: {ready}" for name, ready in how.items()]
    output.result("\n".join(["# devstack waits on each service by:", *lines]))


def project_services(project_dir: Path | None, files: Sequence[Path]) -> list[str]:
    """The service names of the project -C and -f point at, read from its compose files
    (no engine); none when the project cannot be found."""
    from devstack import config
    from devstack.composefiles import services_in
    from devstack.errors import DevstackError

    overrides = {"compose_files": [str(f) for f in files]} if files else {}
    try:
        settings = config.load(project_dir, overrides=overrides)
    except DevstackError:
        return []
    return services_in(settings.compose_files)
