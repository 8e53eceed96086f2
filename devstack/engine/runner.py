"""Running the docker CLI: the one place a docker process is started.

- `run`: a command to its end, with a timeout and extra environment: `Done` (exit code,
  stdout, stderr); `Done.check()` raises `Failed` for a non-zero exit;
- `run_all`: several side by side;
- `stream`: the output lines as they come (stdout and stderr together: compose writes a
  container's stderr to its own); `wait=True` for a child that handles Ctrl-C itself;
- `attached`: a command on this terminal (`exec -it`);
- `pipe`: a command kept open, spoken to over its stdin and stdout.

A missing docker binary is `EngineUnavailable`, a timeout `EngineTimeout` naming the
command; a non-zero exit is `Failed` (command, exit code, stdout, stderr), which
`translate` turns into the devstack error for what was asked. Every command is logged at
debug level (`-v`); secrets never ride on argv (`exec_in` passes environment by name).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

# subprocess, threading and queue are imported where a process starts: a command that reads
# its answers from the engine's socket and the caches starts none.

from devstack.engine import trace
from devstack.errors import EngineTimeout, EngineUnavailable

# compose's warnings the user cannot act on: without buildx it builds as before (its output
# unchanged), and setting COMPOSE_BAKE=false only swaps this warning for a deprecation one.
NOISE = (
    "Docker Compose is configured to build using Bake, but buildx isn't installed",
    "COMPOSE_BAKE=false is deprecated",
)
GRACE = 10.0  # seconds a `wait=True` child gets to finish after the reader stopped


def is_noise(line: str) -> bool:
    return "level=warning" in line and any(n in line for n in NOISE)


def without_noise(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not is_noise(line))


class Failed(Exception):
    """A docker command exited non-zero. Internal to the engine package: `translate` turns
    it into a devstack error (the attribute names are python-on-whales' DockerException's,
    so one translation serves both)."""

    def __init__(self, command: Sequence[str], return_code: int, stdout: str, stderr: str):
        super().__init__(f"`{shlex.join(command)}` exited {return_code}: {stderr.strip()[:300]}")
        self.docker_command = list(command)
        self.return_code = return_code
        self.stdout = stdout
        self.stderr = stderr


@dataclass(frozen=True)
class Done:
    command: list[str]
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        """stdout as text, the trailing newline stripped."""
        return self.stdout.decode(errors="replace").rstrip("\n")

    @property
    def text(self) -> str:
        """stdout then stderr as text, stripped: what a user would have seen."""
        return (self.stdout + self.stderr).decode(errors="replace").strip()

    def check(self) -> Done:
        if self.code != 0:
            raise Failed(
                self.command,
                self.code,
                self.stdout.decode(errors="replace"),
                without_noise(self.stderr.decode(errors="replace")),
            )
        return self


def _env(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    return {**os.environ, **extra} if extra else None


def _missing(exc: FileNotFoundError) -> EngineUnavailable:
    return EngineUnavailable(
        "the docker command is not installed",
        hint="install Docker, then check `docker info`",
        details=str(exc),
    )


def run(
    cmd: Sequence[str],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    shown: Sequence[str] | None = None,
) -> Done:
    """Run `cmd` to its end. `env` is added to the client's environment (never to its argv);
    `shown` replaces `cmd` in the log and in a timeout's message (a long script argument)."""
    import subprocess

    shown = list(shown or cmd)
    trace.debug(__name__, "%s", shlex.join(shown))
    try:
        done = subprocess.run(
            list(cmd), capture_output=True, timeout=timeout, check=False, env=_env(env)
        )
    except FileNotFoundError as exc:
        raise _missing(exc) from None
    except subprocess.TimeoutExpired:
        raise EngineTimeout(
            f"`{shlex.join(shown)[:200]}` did not finish within {timeout:.0f}s",
            command=shown,
            hint="the Docker engine may be overloaded or stuck: check `docker info`",
        ) from None
    return Done(list(cmd), done.returncode, done.stdout, done.stderr)


def output(cmd: Sequence[str], *, timeout: float | None = None) -> str:
    """`cmd`'s stdout (trailing newline stripped); `Failed` when it exits non-zero."""
    return run(cmd, timeout=timeout).check().out


def run_all(cmds: Sequence[Sequence[str]]) -> list[Done]:
    """Run `cmds` side by side, each to its end; `Failed` for the first that failed."""
    import subprocess

    procs = []
    for cmd in cmds:
        trace.debug(__name__, "%s", shlex.join(cmd))
        try:
            procs.append(
                subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            )
        except FileNotFoundError as exc:
            raise _missing(exc) from None
    outputs = [proc.communicate() for proc in procs]
    return [
        Done(list(cmd), proc.returncode, out, err).check()
        for cmd, proc, (out, err) in zip(cmds, procs, outputs, strict=True)
    ]


def stream(
    cmd: Sequence[str], *, wait: bool = False, grace: float = GRACE
) -> Generator[str, None, None]:
    """`cmd`'s output lines as they come (compose's noise left out); `Failed` at the end
    when it exits non-zero, with its stderr.

    When the reader stops early (Ctrl-C, a closed pipe, `close()`), the child is killed,
    or with `wait` given `grace` seconds to finish first: compose handles the Ctrl-C the
    terminal sent it too (a `run --rm` stops and removes its container), which a kill
    would cut short."""
    import queue
    import subprocess
    import threading

    trace.debug(__name__, "%s", shlex.join(cmd))
    try:
        proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise _missing(exc) from None
    lines: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
    stderr: list[bytes] = []

    def read(name: str, pipe: IO[bytes]) -> None:
        for raw in pipe:
            lines.put((name, raw))
        lines.put(None)

    for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        assert pipe is not None
        threading.Thread(target=read, args=(name, pipe), daemon=True).start()
    try:
        open_pipes = 2
        while open_pipes:
            item = lines.get()
            if item is None:
                open_pipes -= 1
                continue
            name, raw = item
            line = raw.decode(errors="replace").rstrip("\n")
            if is_noise(line):
                continue
            if name == "stderr":
                stderr.append(raw)
            yield line
        code = proc.wait()
    finally:
        _stop(proc, wait=wait, grace=grace)
    if code != 0:
        Done(list(cmd), code, b"", b"".join(stderr)).check()


def _stop(proc: subprocess.Popen[bytes], *, wait: bool, grace: float) -> None:
    import subprocess

    if proc.poll() is not None:
        return
    if wait:
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            trace.debug(__name__, "%s did not finish within %.0fs: killed", proc.args, grace)
    proc.kill()
    proc.wait()


def attached(cmd: Sequence[str]) -> int:
    """Run `cmd` on this terminal (its stdin, stdout and stderr): its exit code."""
    import subprocess

    trace.debug(__name__, "%s", shlex.join(cmd))
    try:
        return subprocess.call(list(cmd))
    except FileNotFoundError as exc:
        raise _missing(exc) from None


def pipe(cmd: Sequence[str], *, shown: Sequence[str] | None = None) -> subprocess.Popen[bytes]:
    """`cmd` kept open: the caller speaks to it over its stdin and stdout."""
    import subprocess

    trace.debug(__name__, "%s", shlex.join(shown or cmd))
    try:
        return subprocess.Popen(
            list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError as exc:
        raise _missing(exc) from None
