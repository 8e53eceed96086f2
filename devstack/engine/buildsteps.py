"""A build step that ran and failed, read from BuildKit's output (pure): the step, its last lines.

Told apart from a pull failure: the step ran, so its base image was there. What its output
says about DNS or a refused connection concerns what the step fetched (a package index), not
a registry; a build log also names its base image in every `load metadata for` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FAILED = ("executor failed running", "did not complete successfully")
_HEADER = re.compile(r"^\s*> \[(?P<step>[^\]]+)\] (?P<command>.+):\s*$")
_TIMESTAMP = re.compile(r"^\d+\.\d+ ")
_MOUNT = re.compile(r"--mount=\S+\s+")
LAST_LINES = 15


@dataclass(frozen=True)
class StepFailure:
    step: str  # "app 7/11": the service and the step's place in the Dockerfile
    command: str  # "RUN mkdir -p /tmp/app-deps && ..." (mount options left out, shortened)
    lines: tuple[str, ...]  # the step's last output lines

    def describe(self) -> str:
        return f"step [{self.step}] `{self.command}`"


def parse(text: str) -> StepFailure | None:
    """The failed step `text` (a build's stderr plus streamed output) reports, if any."""
    if not any(s in text.lower() for s in _FAILED):
        return None
    lines = text.splitlines()
    found = None
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            body = []
            for after in lines[i + 1 :]:
                if after.strip() == "------":
                    break
                body.append(_TIMESTAMP.sub("", after.rstrip()))
            found = (m["step"], m["command"], body)
    if found is None:
        return StepFailure(step="?", command="", lines=())
    step, command, body = found
    command = " ".join(_MOUNT.sub("", command).split())
    command = command if len(command) <= 120 else command[:117] + "..."
    return StepFailure(step=step, command=command, lines=tuple(body[-LAST_LINES:]))
