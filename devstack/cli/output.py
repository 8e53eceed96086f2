"""Everything devstack prints goes through here: redacted, plain or rich, JSON on request.

rich is imported only when something styled goes to a terminal: a pipe, a log file and
`--json` get plain text, and the read commands stay fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any, TextIO

from devstack.cli.redact import Redactor
from devstack.errors import DevstackError

if TYPE_CHECKING:
    from rich.console import Console

    from devstack.readiness.health import Status

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


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


class Output:
    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        verbose: bool = False,
        redact: Redactor | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.verbose = verbose
        self.redact = redact or Redactor()
        self.showed_step_log = False  # the live view printed a failed build step's log
        self._out: Console | None = None
        self._err: Console | None = None

    # ---- streams ------------------------------------------------------------------

    @property
    def out_is_terminal(self) -> bool:
        return is_terminal(sys.stdout)

    @property
    def err_is_terminal(self) -> bool:
        return is_terminal(sys.stderr)

    @property
    def out(self) -> Console:
        """A rich console on stdout (made on first use)."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @out.setter
    def out(self, console: Console) -> None:
        self._out = console

    @property
    def err(self) -> Console:
        """A rich console on stderr (made on first use)."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    @err.setter
    def err(self, console: Console) -> None:
        self._err = console

    @property
    def showing_progress(self) -> bool:
        return not self.quiet and not self.json_mode

    # ---- plain text -----------------------------------------------------------------

    def result(self, text: str) -> None:
        """A command's result, on stdout."""
        print(self.redact(text), file=sys.stdout)

    def info(self, text: str) -> None:
        """Progress and notes, on stderr; hidden by --quiet and --json."""
        if self.showing_progress:
            print(self.redact(text), file=sys.stderr)

    def stage(self, text: str) -> None:
        self.info(f"[devstack] {text}")

    def line(self, text: str) -> None:
        """Output of a build or migration: shown live, unless quiet."""
        if not self.showing_progress:
            return
        if self.err_is_terminal:
            from rich.text import Text

            self.err.print(Text("  " + self.redact(text), style="dim"))
        else:
            print("  " + self.redact(text), file=sys.stderr)

    def error_line(self, text: str) -> None:
        """A failure that is not the command's error (watch goes on after it), in red."""
        if self.err_is_terminal:
            from rich.markup import escape

            self.err.print(f"[bold red]{escape(self.redact(text))}[/]")
        else:
            print(self.redact(text), file=sys.stderr)

    def json(self, data: Any) -> None:
        print(self.redact(json.dumps(_plain(data), indent=2, default=str)), file=sys.stdout)

    def error(self, exc: DevstackError) -> None:
        """The message, the details it does not already say, the hint; a traceback with -v."""
        message = self.redact(exc.message)
        text = exc.details.strip()
        step_log = getattr(exc, "step_log", "").strip()
        if self.showed_step_log and step_log and text.startswith(step_log):
            text = text[len(step_log) :]  # the live view just printed the step's log
        details = [
            line
            for line in self.redact(text).splitlines()
            if not (line.strip() and line.strip() in message)
        ]
        while details and not details[0].strip():
            details.pop(0)
        hint = self.redact(exc.hint) if exc.hint else None
        trace = ""
        if self.verbose:  # traceback is imported for -v only
            import traceback

            trace = self.redact("".join(traceback.format_exception(exc)))
        if not self.err_is_terminal:
            print(f"error: {message}", file=sys.stderr)
            for line in details:
                print(line, file=sys.stderr)
            if hint:
                print(f"hint: {hint}", file=sys.stderr)
            if trace:
                print(trace, file=sys.stderr, end="")
            return
        from rich.markup import escape
        from rich.text import Text

        self.err.print(f"[bold red]error:[/] {escape(message)}")
        if details:
            self.err.print(Text("\n".join(details)))
        if hint:
            self.err.print(f"[yellow]hint:[/] {escape(hint)}")
        if trace:
            self.err.print(Text(trace))

    # ---- progress of waiting (plain; on a terminal see devstack.cli.live) -------------

    def progress(self) -> Progress:
        return Progress(self)

    # ---- tables ---------------------------------------------------------------------

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table: rich on a terminal (long cells fold), plain aligned text otherwise
        (nothing cropped for pipes and logs)."""
        cells = [[self.redact(cell) for cell in row] for row in rows]
        if not self.out_is_terminal:
            widths = [max(len(r[i]) for r in [list(columns), *cells]) for i in range(len(columns))]
            for row in [list(columns), *cells]:
                line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                print(line.rstrip(), file=sys.stdout)
            return
        from rich.markup import escape
        from rich.table import Table

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
    """Services being waited on, as a line each time one's state changes."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.seen: dict[str, str] = {}

    def __call__(self, statuses: Sequence[Status]) -> None:
        for s in statuses:
            key = f"{s.state}/{s.detail}"
            if self.seen.get(s.service) != key:
                self.seen[s.service] = key
                self.output.info(f"  {s.service:<16} {s.state:<8} {s.detail:<10} {s.seconds:6.1f}s")

    def close(self) -> None:
        pass


def _plain(data: Any) -> Any:
    if is_dataclass(data) and not isinstance(data, type):
        return _plain(asdict(data))
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data
