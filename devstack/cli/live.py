"""Progress on a terminal: one live region under the lines already printed.

It shows, by priority, one line per image being built (step n of m, the step, elapsed),
the services being waited on, or the current stage with its elapsed time, so the terminal
is never silent while something runs. What is finished is printed once above it: a build as
one summary line, a wait as its final table. A failed build prints its failing step's log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from devstack.cli.buildlog import BuildLog, ServiceBuild

if TYPE_CHECKING:
    from devstack.cli.output import Output
    from devstack.readiness.health import Status

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
REFRESH_PER_SECOND = 8


def _spinner(now: float) -> str:
    return SPINNER[int(now * 10) % len(SPINNER)]


class LiveEvents:
    """The core's progress events (see devstack.lifecycle.Events) drawn live."""

    def __init__(self, output: Output, *, rerun: str) -> None:
        self.output = output
        self.rerun = rerun  # the command that shows a whole build log
        self.lock = threading.Lock()  # between event calls and the refresh thread
        self.live: Live | None = None
        self.stage_text: str | None = None
        self.stage_started = 0.0
        self.statuses: list[Status] = []
        self.build: BuildLog | None = None
        self.reported: set[str] = set()

    # ---- events ---------------------------------------------------------------------

    def stage(self, text: str) -> None:
        self._print(Text(f"[devstack] {self.output.redact(text)}"))
        with self.lock:
            self.stage_text, self.stage_started = text, time.monotonic()
            self.statuses = []
        self._show()

    def progress(self, statuses: Sequence[Status]) -> None:
        if statuses and all(s.state == "healthy" for s in statuses):
            with self.lock:
                self.statuses, self.stage_text = [], None
            self._print(_status_table(statuses))
        else:
            with self.lock:
                self.statuses = list(statuses)
        self._show()

    def line(self, text: str) -> None:
        with self.lock:
            if self.build is None and text.startswith("#"):
                self.build = BuildLog()
            consumed = self.build is not None and self.build.feed(text)
            done = [b for b in self._builds() if b.finished and b.service not in self.reported]
            self.reported.update(b.service for b in done if not b.failed)
        if not consumed:
            self._print(Text("  " + self.output.redact(text), style="dim"))
        for b in done:
            if not b.failed:
                self._print(Text.from_markup(f"[green]✔[/] {escape(b.summary())}"))
        self._show()

    def detail(self, text: str) -> None:
        pass  # engine chatter: shown with -v only, by the plain renderer

    def close(self) -> None:
        """Stop drawing; report a failed build's step."""
        with self.lock:
            self.stage_text, self.statuses = None, []
            failed = [b for b in self._builds() if b.failed]
            self.build, self.reported = None, set()
        if self.live is not None:
            self.live.stop()
            self.live = None
        for b in failed:
            self._failure(b)

    # ---- drawing ----------------------------------------------------------------------

    def _builds(self) -> list[ServiceBuild]:
        return list(self.build.services.values()) if self.build else []

    def _print(self, renderable: RenderableType) -> None:
        console = self.live.console if self.live is not None else self.output.err
        console.print(renderable)

    def _show(self) -> None:
        with self.lock:
            busy = bool(self.stage_text or self.statuses or self._running())
        if busy and self.live is None:
            self.live = Live(
                _Board(self),
                console=self.output.err,
                auto_refresh=True,
                refresh_per_second=REFRESH_PER_SECOND,
                transient=True,
            )
            self.live.start()
        elif not busy and self.live is not None:
            self.live.stop()
            self.live = None
        elif self.live is not None:
            self.live.refresh()

    def _running(self) -> list[ServiceBuild]:
        return [b for b in self._builds() if not b.finished]

    def render(self, width: int) -> RenderableType:
        now = time.monotonic()
        with self.lock:
            running = self._running()
            if running:
                return _build_lines(running, now, width, self.output.redact)
            if self.statuses:
                return _status_table(self.statuses, spinner=_spinner(now))
            if self.stage_text:
                return Text.from_markup(
                    f"[yellow]{_spinner(now)}[/] {escape(self.output.redact(self.stage_text))} "
                    f"[dim]{now - self.stage_started:.1f} s[/]"
                )
        return Group()

    def _failure(self, build: ServiceBuild) -> None:
        step = build.failed
        assert step is not None
        where = f"step {step.step[0]}/{step.step[1]}" if step.step else "a build step"
        err = self.output.err
        err.print(
            Text.from_markup(
                f"[bold red]✘[/] {escape(build.service)} failed at {where} after "
                f"{build.seconds(build.finished or time.monotonic()):.1f} s: "
                f"{escape(self.output.redact(step.short_name))}"
            )
        )
        for line in step.log:  # its error line follows, in the command's error
            err.print(Text("  " + self.output.redact(line), style="dim"))
        self.output.showed_step_log = True  # the command's error need not repeat it
        err.print(Text.from_markup(f"  the whole build log: [bold]{escape(self.rerun)}[/]"))


class _Board:
    """What the live region shows, computed at each refresh."""

    def __init__(self, events: LiveEvents) -> None:
        self.events = events

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.events.render(options.max_width)


def _build_lines(
    builds: Sequence[ServiceBuild], now: float, width: int, redact: Callable[[str], str]
) -> Group:
    """`⠹ app  step 5/12  RUN pip install -r requirements.txt …  12.3 s`, one per image,
    the step's name cut to fit the terminal's width."""
    service_width = max(len(b.service) for b in builds)
    lines = []
    for b in builds:
        step = b.current
        if step is None or step.step is None:
            where, name = "preparing", ""
        elif b.exporting:
            where, name = "exporting the image", ""
        else:
            where, name = f"step {step.step[0]}/{step.step[1]}", redact(step.short_name)
        head = f"{_spinner(now)} {b.service:<{service_width}}  {where}  "
        tail = f"  {b.seconds(now):.1f} s"
        room = max(width - len(head) - len(tail), 0)
        if len(name) > room:
            name = name[: max(room - 1, 0)] + "…" if room else ""
        line = Text.assemble(
            (head[:2], "yellow"), (head[2:], "bold"), name, (tail, "dim"), no_wrap=True
        )
        lines.append(line)
    return Group(*lines)


def _status_table(statuses: Sequence[Status], *, spinner: str = "…") -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    for s in statuses:
        mark = "[green]✔[/]" if s.state == "healthy" else f"[yellow]{spinner}[/]"
        table.add_row(mark, escape(s.service), escape(s.detail or s.state), f"{s.seconds:5.1f}s")
    return table
