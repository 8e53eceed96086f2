"""`ps` and `logs` answered from the read snapshot (devstack.snapshot) while it holds: the
engine's socket is asked directly, and the rows, lines and printers are the full path's own
(devstack.lifecycle, devstack.logs, devstack.cli.render). Whatever it would not answer
exactly as the full path does (an unknown service, a --since the API cannot take, an engine
that does not answer) is left to the full path, which then also reports any error."""

from __future__ import annotations

from devstack import snapshot
from devstack.errors import DevstackError

TYPE_CHECKING = False  # typing's import costs a read command more than its whole lookup
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Protocol

    from devstack.cli.output import Output

    class Invocation(Protocol):
        """The read command devstack.cli.fast parsed."""

        project_dir: str | None
        files: tuple[str, ...]
        project_name: str | None
        json: bool
        quiet: bool
        command: str
        args: tuple[str, ...]


def answer(call: Invocation) -> bool:
    """Run `call` from the snapshot; False when the full path must run it."""
    if call.command not in ("ps", "logs"):
        return False
    saved = snapshot.load(snapshot.call_key(call.project_dir, call.files, call.project_name))
    if saved is None:
        return False
    from devstack.engine import api

    try:
        if call.command == "ps":
            return _ps(saved, api.Api(saved["socket"]), call)
        return _logs(saved, api.Api(saved["socket"]), call)
    except (api.Unusable, DevstackError):
        return False


def _output(saved: dict[str, Any], call: Invocation, *, json_mode: bool) -> Output:
    from devstack.cli.output import Output
    from devstack.cli.redact import Redactor, secret_values

    redact = Redactor(secret_values(saved["project_dir"]))
    return Output(json_mode=json_mode, quiet=call.quiet, redact=redact)


def _ps(saved: dict[str, Any], client: Any, call: Invocation) -> bool:
    from devstack import lifecycle
    from devstack.cli.render import services_table
    from devstack.engine import api
    from devstack.engine.state import parse_state

    states = [parse_state(c) for c in api.project_containers(client, saved["project"])]
    found = lifecycle.rows(
        [s for s in states if not s.oneoff], app=saved["app"], oneshots=saved["oneshots"]
    )
    reports = lifecycle.with_missing(found, saved["services"])
    output = _output(saved, call, json_mode=call.json or call.args == ("--json",))
    if output.json_mode:
        output.json(list(reports))
    else:
        services_table(output, reports, waited=False)
    return True


def _logs(saved: dict[str, Any], client: Any, call: Invocation) -> bool:
    from devstack import logs
    from devstack.cli.render import log_printer
    from devstack.engine import api

    services, tail, since, timestamps = log_options(call.args)
    names = sorted(saved["services"])
    if any(s not in names for s in services):
        return False  # the full path names the unknown service
    seconds = api.since_seconds(since) if since else None
    if since and seconds is None:
        return False  # a --since only the docker CLI reads
    found = api.project_logs(client, saved["project"], services, tail=tail, since=seconds)
    output = _output(saved, call, json_mode=call.json)
    show = log_printer(output, names, max(len(n) for n in names), timestamps=timestamps)
    for line in logs.merged(found):
        show(line)
    return True


def log_options(rest: Sequence[str]) -> tuple[list[str], int | None, str | None, bool]:
    """`logs [SERVICE...] [--tail N] [--since T] [-t]`, as devstack.cli.fast checked it."""
    services: list[str] = []
    tail: int | None = None
    since: str | None = None
    timestamps = False
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "--tail":
            tail, i = int(rest[i + 1]), i + 2
        elif word == "--since":
            since, i = rest[i + 1], i + 2
        elif word in ("-t", "--timestamps"):
            timestamps, i = True, i + 1
        else:
            services.append(word)
            i += 1
    return services, tail, since, timestamps
