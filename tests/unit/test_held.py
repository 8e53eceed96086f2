"""engine/held.py's handle on real processes (the shell hold itself, no engine): released,
it runs the command; cancelled, it never does; a hold that ended first is said to be gone."""

from __future__ import annotations

from pathlib import Path

from devstack.engine.held import HeldRun, held_command


def test_released_the_command_runs_with_its_arguments_and_output() -> None:
    held = HeldRun(held_command(["printf", "%s|", "a b", "$HOME"]))
    lines: list[str] = []
    assert held.release(lines.append) == 0
    assert lines == ["a b|$HOME|"]  # words kept as they were, nothing expanded


def test_the_exit_code_is_the_commands() -> None:
    held = HeldRun(held_command(["sh", "-c", "echo failing; exit 3"]))
    lines: list[str] = []
    assert held.release(lines.append) == 3
    assert lines == ["failing"]


def test_cancelled_the_command_never_runs(tmp_path: Path) -> None:
    mark = tmp_path / "ran"
    held = HeldRun(held_command(["touch", str(mark)]))
    held.cancel()
    assert held.proc.returncode == 125
    assert not mark.exists()
    held.cancel()  # twice: nothing more


def test_a_hold_that_ended_before_release_says_so(tmp_path: Path) -> None:
    mark = tmp_path / "ran"
    held = HeldRun(["sh", "-c", "echo no shell here >&2; exit 127", str(mark)])
    held.proc.wait()
    assert held.release(lambda line: None) is None  # the caller runs it the ordinary way
    assert not mark.exists()
