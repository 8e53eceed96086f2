"""`devstack up --build` on a real terminal (a pseudo-terminal, its screen emulated with pyte):
quiet builds with live progress, the failing step's log on failure, the full log with -v."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest

from tests.integration.helpers import Project, example

pytestmark = [pytest.mark.docker, pytest.mark.slow]

COLUMNS, LINES = 120, 40


@dataclass
class Screen:
    code: int
    lines: list[str]  # what the terminal shows in the end, scrolled-off lines included
    raw: str

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def on_terminal(p: Project, *args: str, timeout: float = 600) -> Screen:
    """Run devstack on a 120x40 pseudo-terminal; the screen a user would see afterwards."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {**os.environ, **p.env, "TERM": "xterm-256color"}
    for key in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "devstack", "-C", str(p.dir), "-p", p.name, *args]
    proc = subprocess.Popen(
        cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed: the process is done
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
        raise AssertionError(f"devstack {' '.join(args)} did not finish in {timeout}s")
    os.close(master)
    code = proc.wait(timeout=30)
    raw = b"".join(chunks).decode(errors="replace")
    # A screen tall enough that nothing scrolls off, as wide as the terminal.
    screen = pyte.Screen(COLUMNS, 2000)
    stream = pyte.Stream(screen)
    stream.feed(raw.replace("\n", "\r\n") if "\r\n" not in raw else raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return Screen(code, lines, raw)


@pytest.fixture
def project(tmp_path: Path, project_name: str) -> Project:
    return example("fastapi-redis", tmp_path, project_name)


def _add_requirement(p: Project, line: str) -> None:
    requirements = p.dir / "requirements.txt"
    requirements.write_text(requirements.read_text() + line + "\n")


def test_build_on_a_terminal_is_a_few_lines_ending_with_the_table(project: Project) -> None:
    # A real dependency install: a new package, and a new line so that the layer is rebuilt.
    _add_requirement(project, f"six  # {uuid.uuid4().hex}")
    shown = on_terminal(project, "up", "--build")
    try:
        print(f"\n[screen]\n{shown.text}")
        assert shown.code == 0, shown.text
        assert len([line for line in shown.lines if line.strip()]) <= 15, shown.text
        assert not [line for line in shown.lines if line.lstrip().startswith("#")], shown.text
        assert any("app built in" in line and "steps cached" in line for line in shown.lines), (
            shown.text
        )
        assert "Bake" not in shown.raw and "level=warning" not in shown.raw
        table = [i for i, line in enumerate(shown.lines) if line.startswith("SERVICE")]
        assert table and all(
            shown.lines[i].split()[0] in ("app", "redis", "ready")
            for i in range(table[0] + 1, len(shown.lines))
        ), shown.text
        assert shown.lines[-1].startswith("ready in"), shown.text
    finally:
        project.devstack("down", "-v")


NOT_FOUND = "No solution found when resolving dependencies"  # uv's words for a missing package


def test_failed_build_shows_the_failing_step_and_verbose_the_whole_log(project: Project) -> None:
    _add_requirement(project, f"devstack-no-such-package-{uuid.uuid4().hex[:8]}")
    shown = on_terminal(project, "up", "--build")
    print(f"\n[screen]\n{shown.text}")
    assert shown.code == 6, shown.text
    failed = [i for i, line in enumerate(shown.lines) if "app failed at step" in line]
    assert failed, shown.text
    step_log = "\n".join(shown.lines[failed[0] :])
    assert NOT_FOUND in step_log
    assert "the whole build log: devstack -v" in step_log
    assert "error: build failed" in step_log
    assert not [line for line in shown.lines if line.lstrip().startswith("#")], shown.text
    # The installer's error is shown once in the step's log, not again in the error's details.
    assert shown.text.count(NOT_FOUND) == 1, shown.text

    verbose = on_terminal(project, "-v", "up", "--build")
    assert verbose.code == 6
    steps = [line for line in verbose.lines if line.lstrip().startswith("#")]
    assert len(steps) > 15 and NOT_FOUND in verbose.text
