"""Everything devstack prints goes through here: redacted, plain or rich, JSON on request."""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from devstack.errors import DevstackError
from devstack.redact import Redactor

if TYPE_CHECKING:
    from devstack.health import Status

COLOURS = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_red",
    "bright_cyan",
    "bright_magenta",
)


class Output:
    def __init__(
        self, *, json_mode: bool = False, quiet: bool = False, verbose: bool = False
    ) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.redact = Redactor()
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    # ---- plain text ---------------------------------------------------------

    def result(self, text: str) -> None:
        """A command's result, on stdout."""
        self.out.print(escape(self.redact(text)))

    def info(self, text: str) -> None:
        """Progress and notes, on stderr; hidden by --quiet and --json."""
        if not self.quiet and not self.json_mode:
            self.err.print(escape(self.redact(text)))

    def stage(self, text: str) -> None:
        self.info(f"[devstack] {text}")

    def line(self, text: str) -> None:
        """Output of a build or migration: shown live, unless quiet."""
        if not self.quiet and not self.json_mode:
            self.err.print(Text("  " + self.redact(text), style="dim"))

    def json(self, data: Any) -> None:
        text = json.dumps(_plain(data), indent=2, default=str)
        self.out.print(self.redact(text), markup=False)

    def error(self, exc: DevstackError) -> None:
        self.err.print(f"[bold red]error:[/] {escape(self.redact(exc.message))}")
        if exc.details:
            self.err.print(Text(self.redact(exc.details)))
        if exc.hint:
            self.err.print(f"[yellow]hint:[/] {escape(self.redact(exc.hint))}")
        if self.verbose:
            self.err.print(Text(self.redact("".join(traceback.format_exception(exc)))))

    # ---- progress of waiting --------------------------------------------------

    def progress(self) -> Progress:
        return Progress(self)

    # ---- tables ----------------------------------------------------------------

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table: rich on a terminal (long cells fold), plain aligned text otherwise
        (nothing cropped for pipes and logs)."""
        cells = [[self.redact(cell) for cell in row] for row in rows]
        if not self.out.is_terminal:
            widths = [max(len(r[i]) for r in [list(columns), *cells]) for i in range(len(columns))]
            for row in [list(columns), *cells]:
                line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                self.out.print(line.rstrip(), markup=False, highlight=False)
            return
        t = Table(box=None, pad_edge=False, show_edge=False)
        for i, c in enumerate(columns):
            t.add_column(c, no_wrap=i < len(columns) - 2, overflow="fold")
        for row in cells:
            t.add_row(*(escape(cell) for cell in row))
        self.out.print(t)

    def service_colour(self, service: str, services: Sequence[str]) -> str:
        index = sorted(services).index(service) if service in services else 0
        return COLOURS[index % len(COLOURS)]


class Progress:
    """Live status of services being waited on: a rich table on a terminal, lines otherwise."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.live: Live | None = None
        self.seen: dict[str, str] = {}
        self.started = time.monotonic()

    def __call__(self, statuses: Sequence[Status]) -> None:
        o = self.output
        if o.quiet or o.json_mode:
            return
        if o.err.is_terminal:
            table = Table(box=None, show_header=False, pad_edge=False)
            for s in statuses:
                mark = "[green]✔[/]" if s.state == "healthy" else "[yellow]…[/]"
                table.add_row(mark, s.service, s.detail or s.state, f"{s.seconds:5.1f}s")
            if self.live is None:
                self.live = Live(table, console=o.err, transient=False, auto_refresh=False)
                self.live.start()
            self.live.update(table, refresh=True)
            if all(s.state == "healthy" for s in statuses):
                self.close()
            return
        for s in statuses:
            key = f"{s.state}/{s.detail}"
            if self.seen.get(s.service) != key:
                self.seen[s.service] = key
                o.info(f"  {s.service:<16} {s.state:<8} {s.detail:<10} {s.seconds:6.1f}s")

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _plain(data: Any) -> Any:
    if is_dataclass(data) and not isinstance(data, type):
        return _plain(asdict(data))
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


def is_tty() -> bool:
    return sys.stdout.isatty()
