"""`devstack test` on a remote engine (scripts/remote-engine: its own filesystem, over ssh):
the tests run against the synced working tree, not the image's stale copy, and the JUnit
report they write comes back into the tree; the copy is removed there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import remote_engine as re
from tests.integration.helpers import example

pytestmark = pytest.mark.docker

TEST = """from app.main import MESSAGE


def test_the_code_is_the_working_tree():
    assert MESSAGE == "edited after the build"
"""


@pytest.fixture(scope="module")
def remote_host(docker_engine: None) -> Iterator[str]:
    host = re.start()
    try:
        yield host
    finally:
        re.stop()


def test_tests_run_on_the_synced_tree_and_the_report_comes_back(
    remote_host: str, tmp_path: Path
) -> None:
    name = f"dsremote-{os.urandom(4).hex()}"
    p = example("fastapi-redis", tmp_path, name)
    p.env["DOCKER_HOST"] = remote_host
    with (p.dir / "requirements.txt").open("a") as fh:
        fh.write("pytest\n")
    (p.dir / "conftest.py").write_text("")
    (p.dir / "tests").mkdir()
    (p.dir / "tests" / "test_message.py").write_text(TEST)
    label = f"label=dev.devstack.test.of={name}"
    try:
        # The development image is built there with the code as it is now...
        p.devstack("up", check=True, timeout=900)
        p.devstack("down", check=True)
        # ...then edited here: only the synced tree has the edit.
        main = p.dir / "app" / "main.py"
        main.write_text(main.read_text().replace("hello from devstack", "edited after the build"))

        done = p.devstack("test", "--", "-q", "--junitxml=report.xml")

        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 passed" in done.stdout
        assert "remote engine" in done.stderr.splitlines()[0]
        assert "copied back from the app container: report.xml" in done.stderr
        report = (p.dir / "report.xml").read_text()
        assert "<testsuite" in report and 'tests="1"' in report and 'failures="0"' in report
        assert not re.docker(remote_host, "ps", "-aq", "--filter", label).split()
        assert not re.docker(remote_host, "volume", "ls", "-q", "--filter", label).split()
        assert not re.docker(remote_host, "network", "ls", "-q", "--filter", label).split()
    finally:
        p.devstack("down", "-v")
        re.remove_project(remote_host, name)
        for kind in ("ps -aq", "volume ls -q", "network ls -q"):
            found = re.docker(remote_host, *kind.split(), "--filter", label).split()
            assert not found, f"test copies left on the remote engine: {found}"
