"""`ps`, `logs`, `down` and `config` answered from the read snapshot (devstack.snapshot)
while it holds: the engine's socket is asked directly, and the rows, lines, printers and
orchestration are the full path's own (devstack.status, devstack.logs, devstack.merged,
devstack.lifecycle.down, devstack.cli.render and bodies). Whatever it would not answer
exactly as the full path does (an unknown service, a --since the API cannot take, an engine
that does not answer, nothing kept for `config`) is left to the full path, which then also
reports any error."""

from __future__ import annotations

import sys

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
    if call.command not in ("ps", "logs", "down", "config") or call.args == ("--settings",):
        return False
    saved = snapshot.load(snapshot.call_key(call.project_dir, call.files, call.project_name))
    if saved is None:
        return False
    from devstack.engine import api

    client = api.Api(saved["socket"])
    if call.command == "down":
        return _down(saved, client, call)
    try:
        if call.command == "ps":
            return _ps(saved, client, call)
        if call.command == "config":
            return _config(saved, client, call)
        return _logs(saved, client, call)
    except (api.Unusable, DevstackError):
        return False


def _output(saved: dict[str, Any], call: Invocation, *, json_mode: bool) -> Output:
    from devstack.cli.output import Output
    from devstack.cli.redact import Redactor, secret_values

    redact = Redactor(secret_values(saved["project_dir"]))
    return Output(json_mode=json_mode, quiet=call.quiet, redact=redact)


def _ps(saved: dict[str, Any], client: Any, call: Invocation) -> bool:
    from devstack import status
    from devstack.cli.render import services_table
    from devstack.engine import api
    from devstack.engine.state import parse_state

    states = [parse_state(c) for c in api.project_containers(client, saved["project"])]
    found = status.rows(
        [s for s in states if not s.oneoff], app=saved["app"], oneshots=saved["oneshots"]
    )
    reports = status.with_missing(found, saved["services"])
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


def _config(saved: dict[str, Any], client: Any, call: Invocation) -> bool:
    """The merged configuration and readiness lines merged.json keeps for the stack's key."""
    from devstack import merged
    from devstack.cli.bodies import print_config
    from devstack.engine import api

    where = saved.get("config")
    if call.json or not isinstance(where, dict):
        return False  # --json asks compose; an own image's runtime: the full path
    kept = merged.read(where["path"], where["key"])
    text = kept.get("yaml")
    how = merged.readiness(kept, lambda image: api.healthcheck_of(client, image))
    if not isinstance(text, str) or not how:
        return False
    print_config(_output(saved, call, json_mode=False), text, how)
    return True


def _down(saved: dict[str, Any], client: Any, call: Invocation) -> bool:
    """`down` through lifecycle.down, on the stack the snapshot describes. Once it has
    started, its errors are its own (a second, full `down` would not undo the first)."""
    from devstack import lifecycle
    from devstack.cli.bodies import show_down
    from devstack.cli.context import events_for
    from devstack.engine import api

    try:
        client.get("ping", "/_ping")
    except (api.Unusable, DevstackError):
        return False  # the full path reports an engine that does not answer
    output = _output(saved, call, json_mode=call.json)
    events = events_for(output)
    try:
        result = lifecycle.down(
            SnapshotStack(saved, client), volumes=bool(call.args), events=events
        )
    except DevstackError as exc:
        events.close()
        output.error(exc)
        sys.exit(int(exc.exit_code))
    events.close()
    show_down(output, result)
    return True


class SnapshotStack:
    """The parts of a stack `lifecycle.down` uses (lifecycle.Teardown), from the snapshot and
    the engine's socket. The snapshot is saved only for a bind mount on a local engine."""

    def __init__(self, saved: dict[str, Any], client: Any) -> None:
        from pathlib import Path

        from devstack.delivery import for_location
        from devstack.delivery.location import LOCAL

        self.name = str(saved["project"])
        self.settings = _Timeouts(
            Path(saved["state_dir"]), saved["wait_timeout"], saved["stop_timeout"]
        )
        self.engine = _SocketEngine(client, self.name)
        self.delivery = for_location(LOCAL)  # a snapshot names a local engine's socket
        self.project_dir = str(saved["project_dir"])
        self.client = client

    def stop_delivery(self) -> str:
        return self.delivery.stop(self)  # type: ignore[arg-type]

    def ensure_ours(self, on_note: Any = None) -> None:
        from devstack import checkouts

        labels = [f"com.docker.compose.project={self.name}"]
        listed = self.client.containers(labels)
        checkouts.ensure_ours(
            self.name,
            self.project_dir,
            [
                ((c.get("Labels") or {}).get(checkouts.WORKING_DIR_LABEL, ""), c.get("State", ""))
                for c in listed
            ],
            self.client.volume_labels(labels),
            abandoned=self.delivery.abandoned,
            on_note=on_note,
        )


class _Timeouts:
    def __init__(self, state_dir: Any, wait_timeout: float, stop_timeout: int) -> None:
        self.state_dir, self.wait_timeout, self.stop_timeout = state_dir, wait_timeout, stop_timeout


class _SocketEngine:
    """`down` and the kept volumes through the engine's API (what Engine does on a local
    socket: devstack.engine.teardown)."""

    def __init__(self, client: Any, project: str) -> None:
        self.client, self.project = client, project

    def down(self, *, volumes: bool, timeout: int, sink: Any = None) -> None:
        from devstack.engine import teardown

        teardown.down(self.client, self.project, volumes=volumes, timeout=timeout, sink=sink)

    def volumes(self, project: str) -> list[str]:
        from devstack.engine import api

        return api.project_volumes(self.client, project)


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
