"""Progress drawn on a terminal (a rich console that thinks it is one): a build collapses to
its summary, a failed build shows its failing step, waits end in their table."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from devstack.cli.live import LiveEvents
from devstack.cli.output import Output
from devstack.cli.watch_cmd import Renderer
from devstack.readiness.health import Status
from devstack.watch.actions import Step, WatchEvent
from devstack.watch.loop import ActionStarted
from tests.unit.test_buildlog import CACHED_THEN_INSTALL, FAILED


def terminal() -> tuple[LiveEvents, io.StringIO]:
    buf = io.StringIO()
    output = Output()
    output.err = Console(file=buf, force_terminal=True, width=100, highlight=False)
    return LiveEvents(output, rerun="devstack -v up --build"), buf


def shown(buf: io.StringIO) -> str:
    """What stays on the screen: control sequences out, the live region's frames erased."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    return "\n".join(line.split("\r")[-1] for line in text.splitlines())


def test_a_build_collapses_to_one_summary_line() -> None:
    events, buf = terminal()
    events.stage("building images")
    for line in CACHED_THEN_INSTALL.splitlines():
        events.line(line)
    events.line("INFO  [alembic] Running upgrade -> 0001")  # not the build: shown as it is
    events.close()
    out = shown(buf)
    assert "[devstack] building images" in out
    assert re.search(r"✔ app built in \d+\.\d s, 2 of 11 steps cached", out), out
    assert "INFO  [alembic] Running upgrade -> 0001" in out
    assert "Collecting fastapi" not in out and "#9" not in out


def test_a_failed_build_shows_its_failing_step_once() -> None:
    events, buf = terminal()
    events.stage("building images")
    for line in FAILED.splitlines():
        events.line(line)
    events.close()
    out = shown(buf)
    assert "✘ app failed at step 5/11" in out
    assert out.count("No matching distribution found for no-such-package==9.9") == 1, out
    assert "the whole build log: devstack -v up --build" in out
    assert "failed to solve" not in out  # compose's summary: the command's error says it


def test_a_wait_ends_in_its_table() -> None:
    events, buf = terminal()
    events.stage("starting db")
    events.progress([Status("db", "starting", "starting", 0.4)])
    events.progress([Status("db", "healthy", "healthy", 1.2)])
    events.close()
    out = shown(buf)
    assert "[devstack] starting db" in out and re.search(r"✔\s+db\s+healthy\s+1\.2s", out), out


def test_watch_stops_drawing_when_an_action_ends(capsys: pytest.CaptureFixture[str]) -> None:
    events, buf = terminal()
    render = Renderer(events.output, events)
    render(ActionStarted(("requirements.txt",), "rebuild"))
    events.stage("building app")
    for line in CACHED_THEN_INSTALL.splitlines()[:12]:
        events.line(line)
    assert events.live is not None  # the build is being drawn
    render(WatchEvent(("requirements.txt",), "rebuild", "ok", 12.0, steps=(Step("build", 10.0),)))
    assert events.live is None  # nothing stays live while watching idles
    assert "rebuilt the app in 12.0s" in capsys.readouterr().out
    assert "[devstack] building app" in shown(buf)
