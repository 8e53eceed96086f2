"""Small renderers shared by commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.cli.output import Output
    from devstack.logs import LogLine


def services_table(output: Output, reports: Sequence[Any], *, waited: bool) -> None:
    columns = ["SERVICE", "STATE", "HEALTH", "URL", "READY IN" if waited else "UPTIME"]
    rows = []
    for r in reports:
        secs = r.seconds if waited else r.uptime
        rows.append([r.service, r.state, r.health or "-", r.url or "-", duration(secs)])
    output.table(columns, rows)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def json_line(line: Any) -> str:
    return json.dumps({"service": line.service, "timestamp": line.timestamp, "text": line.text})


def log_printer(
    output: Output, names: list[str], width: int, *, timestamps: bool
) -> Callable[[LogLine], None]:
    """One log line at a time: JSON, plain for pipes, coloured by service on a terminal."""
    redact = output.redact
    if output.json_mode:
        return lambda line: print(redact(json_line(line)), flush=True)
    if not output.out_is_terminal:

        def plain(line: LogLine) -> None:
            stamp = f"{line.timestamp} " if timestamps else ""
            print(f"{line.service:<{width}} | {stamp}{redact(line.text)}", flush=True)

        return plain
    from rich.text import Text

    def coloured(line: LogLine) -> None:
        text = Text(f"{line.service:<{width}} | ", style=output.service_colour(line.service, names))
        if timestamps:
            text.append(line.timestamp + " ", style="dim")
        text.append(redact(line.text))
        output.out.print(text)

    return coloured
