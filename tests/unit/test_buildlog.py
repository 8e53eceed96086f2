"""BuildKit's plain progress read as build state (no engine): steps, cache, summary, failure."""

from __future__ import annotations

from devstack.cli.buildlog import BuildLog

# As `docker compose build` prints it (compose 2.40, BuildKit), trimmed.
CACHED_THEN_INSTALL = """\
#0 building with "default" instance using docker driver

#1 [app internal] load build definition from Dockerfile
#1 transferring dockerfile: 3.10kB done
#1 DONE 0.0s

#4 [app stage-0  1/11] FROM docker.io/devstack-local/python:3.11
#4 DONE 0.0s

#6 [app stage-0  2/11] COPY compose/runtime-requirements.txt /devstack/
#6 CACHED

#7 [app stage-0  3/11] RUN --mount=type=secret,id=ca_bundle     python3 -m venv /opt/venv
#7 CACHED

#9 [app stage-0  5/11] RUN --mount=type=cache,target=/root/.cache/pip     /devstack/install-deps r
#9 0.791 Collecting fastapi>=0.110
#9 3.083 Successfully installed fastapi-0.165.0
#9 DONE 3.3s

#16 [app] exporting to image
#16 exporting layers 0.2s done
#16 DONE 0.3s
 app  Built
"""

FAILED = """\
#9 [app stage-0  5/11] RUN /devstack/install-deps /tmp/app-deps/requirements.txt
#9 2.608 Collecting fastapi>=0.110
#9 2.997 ERROR: No matching distribution found for no-such-package==9.9
#9 ERROR: executor failed running [/bin/sh -c /devstack/install-deps]: exit code: 1
------
 > [app stage-0  5/11] RUN /devstack/install-deps /tmp/app-deps/requirements.txt:
2.997 ERROR: No matching distribution found for no-such-package==9.9
------
failed to solve: executor failed running [/bin/sh -c /devstack/install-deps]: exit code: 1
"""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def feed(text: str, log: BuildLog | None = None) -> tuple[BuildLog, list[str]]:
    log = log or BuildLog(clock=Clock())
    shown = [line for line in text.splitlines() if not log.feed(line)]
    return log, shown


def test_a_build_becomes_steps_and_one_summary() -> None:
    log, shown = feed(CACHED_THEN_INSTALL)
    assert shown == []  # every line belonged to the build
    app = log.services["app"]
    assert app.total == 11 and sorted(app.steps) == [1, 2, 3, 5]
    assert app.cached == 2 and app.finished is not None and app.failed is None
    assert app.steps[5].log[-1] == "Successfully installed fastapi-0.165.0"
    assert app.steps[5].seconds == 3.3
    assert app.summary().startswith("app built in ") and app.summary().endswith(
        " s, 2 of 11 steps cached"
    )


def test_the_running_step_and_its_short_name() -> None:
    log, _ = feed("\n".join(CACHED_THEN_INSTALL.splitlines()[:18]))
    step = log.services["app"].current
    assert step is not None and step.step == (5, 11)
    assert step.short_name == "RUN /devstack/install-deps r"
    assert log.services["app"].finished is None


def test_a_failure_keeps_the_failing_step_and_compose_summary_apart() -> None:
    log, shown = feed(FAILED)
    assert shown == []
    (failed,) = log.failed
    assert failed.step == (5, 11)
    assert failed.log[-1] == "ERROR: No matching distribution found for no-such-package==9.9"
    assert failed.error and failed.error.startswith("executor failed running")
    assert log.trailer[0] == "------" and log.trailer[-1].startswith("failed to solve")


def test_lines_that_are_not_the_build_are_left_to_show() -> None:
    log, shown = feed("Running migrations\n#1 [app internal] load build definition\n#1 DONE 0.0s")
    assert shown == ["Running migrations"]
    assert "app" in log.services


def test_several_services_are_told_apart() -> None:
    text = (
        "#1 [api stage-0 1/3] FROM python\n#2 [worker stage-0 1/2] FROM python\n"
        "#3 [worker stage-0 2/2] RUN pip install x\n#1 CACHED\n#3 DONE 1.0s\n"
    )
    log, _ = feed(text)
    assert log.services["api"].total == 3 and log.services["worker"].total == 2
    assert log.services["api"].cached == 1 and log.services["worker"].cached == 0
