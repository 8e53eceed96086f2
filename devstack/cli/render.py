"""Small renderers shared by commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.cli.output import Output


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
