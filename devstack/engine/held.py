"""Engine work started ahead of its time.

A one-off command started ahead and held until released: `compose run` does its slow
part (compose's start-up, the container's creation, network attachment and start) while
something else is still being waited on, and the command itself runs only once released.

The hold is a shell reading one line from the container's stdin before it execs the
command (`read` blocks, no polling, no sleep): `release` writes that line; `cancel`, or
devstack going away, closes stdin instead, and the shell exits without running it (then
`run --rm` removes the container). A hold that cannot be set (an image without /bin/sh)
ends before it is released, with the command never run: `release` says so (None) and the
caller runs the command the ordinary way.

A compose command run in the background (`Background`): the app's `up` while its
migration runs (devstack.delivery.hold).
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import IO

from devstack.engine import runner, trace
from devstack.engine.client import LineSink

# `read` fails on a closed stdin (cancelled, devstack gone): the command never runs.
HOLD = ["/bin/sh", "-c", 'read -r _ || exit 125; exec "$@"', "devstack-hold"]
GRACE = 10.0  # seconds compose gets to remove a cancelled one-off before it is killed


def held_command(command: Sequence[str]) -> list[str]:
    """`command` behind the hold (run by the service's entrypoint, as `command` would be)."""
    return [*HOLD, *command]


class HeldRun:
    """A `compose run` process whose command waits for `release`."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.proc = runner.pipe(argv)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(pipe,), daemon=True)
            for pipe in (self.proc.stdout, self.proc.stderr)
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, pipe: IO[bytes] | None) -> None:
        assert pipe is not None
        for raw in pipe:
            line = raw.decode(errors="replace").rstrip("\n")
            if not runner.is_noise(line):
                self.lines.put(line)
        self.lines.put(None)

    def release(self, sink: LineSink) -> int | None:
        """Run the command; its output (and compose's, so far) to `sink` as it comes: the
        exit code, or None when the hold ended before this (the command never ran)."""
        stdin = self.proc.stdin
        assert stdin is not None
        if self.proc.poll() is not None:
            self._drain(None)
            return None
        try:
            stdin.write(b"go\n")
            stdin.close()
        except (BrokenPipeError, ValueError):  # ended just now, before the line went out
            self.proc.wait()
            self._drain(None)
            return None
        self._drain(sink)
        return self.proc.wait()

    def _drain(self, sink: LineSink | None) -> None:
        ended = 0
        while ended < len(self._readers):
            line = self.lines.get()
            if line is None:
                ended += 1
            elif sink:
                sink(line)
            else:
                trace.debug(__name__, "held one-off: %s", line)

    def cancel(self) -> None:
        """Never run the command: the shell sees stdin closed and exits, compose removes
        the one-off (killed after GRACE seconds). Nothing when it already ended."""
        if self.proc.poll() is not None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            trace.debug(__name__, "%s did not end within %.0fs: killed", self.proc.args, GRACE)
            self.proc.kill()
            self.proc.wait()


class Background:
    """A compose command (`work`, given a line sink) run in a thread now; its output kept
    for `wait`, which hands it on from the caller's thread."""

    def __init__(self, work: Callable[[LineSink], None]) -> None:
        self.lines: list[str] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[LineSink], None]) -> None:
        try:
            work(self.lines.append)
        except BaseException as exc:  # re-raised by wait(), in the caller's thread
            self.error = exc

    def wait(self, sink: LineSink, *, check: bool = True) -> None:
        """Block until it ended; its lines to `sink`; its error raised (unless not `check`)."""
        self.thread.join()
        for line in self.lines:
            sink(line)
        if check and self.error is not None:
            raise self.error
