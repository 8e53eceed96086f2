"""Running the docker CLI for the read paths (ps, logs, config) without importing
python-on-whales, whose pydantic models cost ~0.2 s at import: a command's start-up would
otherwise be slower than the compose command it wraps.

Failures raise python-on-whales' own exceptions (imported then), so error translation and
`NoSuchContainer` handling are the same whichever way a command ran.
"""

from __future__ import annotations

import logging
import queue
import shlex
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import IO

log = logging.getLogger(__name__)


# compose's warnings the user cannot act on: without buildx it builds as before (its output
# unchanged), and setting COMPOSE_BAKE=false only swaps this warning for a deprecation one.
NOISE = (
    "Docker Compose is configured to build using Bake, but buildx isn't installed",
    "COMPOSE_BAKE=false is deprecated",
)


def is_noise(line: str) -> bool:
    return "level=warning" in line and any(n in line for n in NOISE)


def without_noise(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not is_noise(line))


def _failure(cmd: Sequence[str], code: int, stdout: bytes, stderr: bytes) -> Exception:
    from python_on_whales.utils import get_docker_exception_type

    exc_type = get_docker_exception_type(stderr)
    return exc_type(list(cmd), code, stdout, stderr)


def run(cmd: Sequence[str]) -> str:
    """`cmd`'s stdout (trailing newline stripped); a DockerException when it fails."""
    log.debug("%s", shlex.join(cmd))
    done = subprocess.run(list(cmd), capture_output=True, check=False)
    if done.returncode != 0:
        raise _failure(cmd, done.returncode, done.stdout, done.stderr)
    return done.stdout.decode(errors="replace").rstrip("\n")


def run_all(cmds: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """Run `cmds` side by side: (stdout, stderr) of each, in order; a DockerException for
    the first that fails."""
    procs = []
    for cmd in cmds:
        log.debug("%s", shlex.join(cmd))
        procs.append(subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = [proc.communicate() for proc in procs]
    for cmd, proc, (out, err) in zip(cmds, procs, outputs, strict=True):
        if proc.returncode != 0:
            raise _failure(cmd, proc.returncode, out, err)
    return [(out.decode(errors="replace"), err.decode(errors="replace")) for out, err in outputs]


def stream(cmd: Sequence[str]) -> Iterator[str]:
    """`cmd`'s output lines (stdout and stderr: compose writes a container's stderr to its
    own) as they come; a DockerException when it fails."""
    log.debug("%s", shlex.join(cmd))
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
            if name == "stderr":
                stderr.append(raw)
            yield raw.decode(errors="replace").rstrip("\n")
        code = proc.wait()
    finally:
        if proc.poll() is None:  # the reader stopped early (Ctrl-C, a closed pipe)
            proc.kill()
            proc.wait()
    if code != 0:
        raise _failure(cmd, code, b"", b"".join(stderr))
