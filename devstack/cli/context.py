"""What every command gets from the global options: settings, the stack, output, events.

Command modules import this, never `devstack.cli.app`, so the dependency runs one way:
app → command modules → context.
"""

from __future__ import annotations

import shlex
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from devstack.cli.output import Output
from devstack.events import Events as CoreEvents

if TYPE_CHECKING:
    import typer

    from devstack.cli.buildplain import PlainBuild
    from devstack.config import Settings
    from devstack.readiness.health import Status
    from devstack.stack import Stack


@dataclass
class Globals:
    """The global options, and the output they ask for."""

    project_dir: Path | None = None
    files: list[Path] = field(default_factory=list)
    project_name: str | None = None
    json: bool = False
    verbose: bool = False
    quiet: bool = False
    output: Output = field(init=False)

    def __post_init__(self) -> None:
        self.output = Output(json_mode=self.json, quiet=self.quiet, verbose=self.verbose)

    def use_json(self) -> None:
        """A command's own --json flag."""
        self.json = self.output.json_mode = True

    def settings(self, **overrides: Any) -> Settings:
        """The resolved settings; from here on their secrets are masked in all output."""
        from devstack import config
        from devstack.cli.redact import Redactor, secret_values

        flags: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if self.files:
            flags["compose_files"] = [str(f) for f in self.files]
        if self.project_name:
            flags["project_name"] = self.project_name
        settings = config.load(self.project_dir, overrides=flags)
        self.output.redact = Redactor(secret_values(settings.project_dir))
        return settings

    def stack(self, **overrides: Any) -> Stack:
        from devstack import snapshot
        from devstack.stack import open_stack

        stack = open_stack(self.settings(**overrides))
        if not overrides:  # what `ps` and `logs` read next time, without resolving it again
            key = snapshot.call_key(
                None if self.project_dir is None else str(self.project_dir),
                [str(f) for f in self.files],
                self.project_name,
            )
            snapshot.save(stack, key, start=str(self.project_dir or "."))
        return stack


def globals_of(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    if not isinstance(obj, Globals):  # a command invoked without the app's callback
        obj = ctx.find_root().obj = Globals()
    return obj


class Events(CoreEvents, Protocol):
    """The core's progress events, plus closing the live display."""

    def close(self) -> None: ...


class PlainEvents:
    """Events as plain lines: not on a terminal, or with -v (every line of a build)."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self._progress = output.progress()
        self._build: PlainBuild | None = None  # a build's progress while its log is hidden
        self._lock = threading.Lock()  # between the build's lines and its timer
        self._done = threading.Event()

    def stage(self, text: str) -> None:
        self.output.stage(text)

    def progress(self, statuses: Sequence[Status]) -> None:
        if self.output.showing_progress:
            self._progress(statuses)

    def line(self, text: str) -> None:
        self.output.line(text)

    def detail(self, text: str) -> None:
        if self.output.verbose:
            self.output.line(text)
        elif self.output.showing_progress:  # a build under `up`: its steps, never silent
            if self._build is None:
                if not text.startswith("#"):
                    return
                self._start_build()
            assert self._build is not None
            with self._lock:
                for line in self._build.feed(text):
                    self.output.line(line)

    def _start_build(self) -> None:
        """Follow a build whose log is hidden; a timer speaks while the build is silent."""
        from devstack.cli.buildplain import PlainBuild

        self._build = build = PlainBuild()
        done = self._done = threading.Event()

        def timer() -> None:
            while not done.wait(1.0):
                with self._lock:
                    if build.log is not None and not build.running:
                        return
                    for line in build.tick():
                        self.output.line(line)

        threading.Thread(target=timer, name="devstack-build-progress", daemon=True).start()

    def close(self) -> None:
        if self._build is not None:
            self._done.set()
        self._build = None


def events_for(output: Output) -> Events:
    """Live progress on a terminal; plain lines otherwise, with -v, or none for --json/-q."""
    if output.showing_progress and not output.verbose and output.err_is_terminal:
        from devstack.cli.live import LiveEvents

        return LiveEvents(output, rerun=shlex.join(["devstack", "-v", *sys.argv[1:]]))
    return PlainEvents(output)
