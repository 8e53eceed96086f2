"""A build's progress as plain lines when the output is not a terminal (no engine)."""

from __future__ import annotations

from devstack.cli.buildplain import QUIET_MAX, PlainBuild
from tests.unit.test_buildlog import CACHED_THEN_INSTALL


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_per_finished_step_and_the_summary() -> None:
    plain = PlainBuild(Clock())
    said = [line for raw in CACHED_THEN_INSTALL.splitlines() for line in plain.feed(raw)]
    assert said == [
        "app: step 1/11 (FROM docker.io/devstack-local/python:3.11) done in 0.0 s",
        "app: step 5/11 (RUN /devstack/install-deps r) done in 3.3 s",
        "app built in 0.0 s, 2 of 11 steps cached",
    ]


def test_a_silent_step_is_reported_every_ten_seconds_at_most() -> None:
    clock = Clock()
    plain = PlainBuild(clock)
    plain.feed("#9 [backend stage-1  4/11] RUN uv sync --frozen --package app")
    assert plain.tick() == [] and plain.running
    clock.now += QUIET_MAX - 1
    assert plain.tick() == []
    clock.now += 1
    assert plain.tick() == ["backend: step 4/11 (RUN uv sync --frozen --package app) "
                            "running for 10 s"]  # fmt: skip
    assert plain.tick() == []  # not again before another QUIET_MAX
    clock.now += QUIET_MAX
    assert plain.tick()[0].endswith("running for 20 s")
    assert plain.feed("#9 DONE 20.5s")[0].endswith("done in 20.5 s")
    assert plain.feed("#0 chatter that is not a step") == []


def test_engine_chatter_before_a_build_says_nothing() -> None:
    plain = PlainBuild(Clock())
    assert plain.feed(" Container x-db-1  Started") == [] and not plain.running
