"""`devstack watch` on examples/fastapi-postgres against the real engine, with real file edits.

Each test brings the stack up, starts `devstack --json watch` as a user would and reads its
events; the figures (file write to healthy app, to applied migration) are printed (-s).
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import Project, docker, example, get

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class Watcher:
    """A running `devstack --json watch`, its stdout read on a thread, one event a line."""

    def __init__(self, p: Project) -> None:
        self.proc = p.popen("--json", "watch")
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def next(self, kind: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(
                    f"no {kind!r} event within {timeout}s; seen {self.seen}; "
                    f"exit {self.proc.poll()}"
                ) from None
            self.seen.append(event)
            if event["event"] == kind:
                return event

    def quiet_for(self, seconds: float) -> list[dict[str, Any]]:
        """Events that arrive within `seconds` (none expected)."""
        time.sleep(seconds)
        out = []
        while not self.events.empty():
            out.append(self.events.get())
        return out

    def interrupt(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()


@pytest.fixture
def stack(tmp_path: Path, project_name: str) -> Iterator[Project]:
    p = example("fastapi-postgres", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        yield p
    finally:
        p.devstack("down", "-v")


@pytest.fixture
def watcher(stack: Project) -> Iterator[Watcher]:
    w = Watcher(stack)
    try:
        w.next("watching", timeout=30)
        yield w
    finally:
        w.interrupt()


def container_id(project: str, service: str) -> str:
    return docker(
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        f"label=com.docker.compose.project={project}",
        "--filter",
        f"label=com.docker.compose.service={service}",
    ).strip()


def tables(p: Project) -> str:
    return p.devstack(
        "exec", "db", "psql", "-U", "app", "-d", "app", "-c", r"\dt", check=True
    ).stdout


REVISION = '''"""{doc}"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    {body}


def downgrade() -> None:
    pass
'''


def revision(p: Project, rev: str, down: str, body: str = "pass") -> Path:
    path = p.dir / "migrations" / "versions" / f"{rev}_auto.py"
    path.write_text(REVISION.format(doc=rev, rev=rev, down=down, body=body))
    return path


def test_dependency_change_rebuilds_only_the_app(stack: Project, watcher: Watcher) -> None:
    p = stack
    db_before = container_id(p.name, "db")
    app_before = container_id(p.name, "app")
    url = f"http://127.0.0.1:{p.env['APP_PORT']}/health"

    requirements = p.dir / "requirements.txt"
    # A fresh comment defeats the build cache, so the measure includes a real pip install.
    requirements.write_text(requirements.read_text() + f"six  # {uuid.uuid4().hex}\n")
    written = time.monotonic()

    started = watcher.next("started", timeout=30)
    assert started["action"] == "rebuild" and started["trigger"] == ["requirements.txt"]
    assert json.loads(get(url)) == {"status": "ok"}  # the old app serves during the build
    done = watcher.next("done", timeout=600)
    took = time.monotonic() - written
    assert done["result"] == "ok", done["detail"]
    assert [s["name"] for s in done["steps"]] == ["build", "recreate", "healthy"]
    print(
        f"\n[measure] requirements.txt written -> app healthy again: {took:.1f}s "
        f"(steps {done['steps']})"
    )

    assert json.loads(get(url)) == {"status": "ok"}
    r = p.devstack("exec", "app", "/opt/venv/bin/python", "-c", "import six; print('six ok')")
    assert r.returncode == 0 and "six ok" in r.stdout, r.stderr
    assert container_id(p.name, "db") == db_before  # dependencies untouched
    assert container_id(p.name, "app") not in ("", app_before)  # the app was recreated

    # A failed rebuild is reported; the running app is not replaced, and watching goes on.
    app_now = container_id(p.name, "app")
    good = requirements.read_text()
    requirements.write_text(good + "devstack-no-such-package-xq7\n")
    failed = watcher.next("done", timeout=600)
    assert failed["result"] == "failed" and failed["action"] == "rebuild"
    assert failed["detail"].startswith("build failed"), failed["detail"]
    assert [s["name"] for s in failed["steps"]] == []  # it never got past the build
    assert container_id(p.name, "app") == app_now
    assert json.loads(get(url)) == {"status": "ok"}
    requirements.write_text(good)
    again = watcher.next("done", timeout=600)
    assert again["result"] == "ok", again["detail"]

    # Code edits are the reloader's: no action.
    (p.dir / "app" / "extra.py").write_text("X = 1\n")
    assert watcher.quiet_for(2.0) == []

    code, err = watcher.interrupt()
    assert code == 0, err
    assert "Traceback" not in err
    # Ctrl-C leaves the stack as it was.
    assert container_id(p.name, "db") == db_before
    assert container_id(p.name, "app")


def test_migrations_apply_fail_recover_and_bursts_coalesce(
    stack: Project, watcher: Watcher
) -> None:
    p = stack
    app_before = container_id(p.name, "app")

    # A new revision that creates a table is applied without any other command.
    revision(p, "0002", "0001", 'op.create_table("widgets", sa.Column("id", sa.Integer))')
    written = time.monotonic()
    started = watcher.next("started", timeout=30)
    assert started == {
        "event": "started",
        "trigger": ["migrations/versions/0002_auto.py"],
        "action": "migrate",
    }
    done = watcher.next("done", timeout=120)
    took = time.monotonic() - written
    assert done["result"] == "ok", done["detail"]
    assert "0001 -> 0002" in done["detail"]  # the migration's output
    print(f"\n[measure] revision written -> migration applied: {took:.1f}s")
    assert "widgets" in tables(p)

    # A syntax error is reported, and watching goes on; the fixed file applies.
    broken = revision(p, "0003", "0002", 'op.create_table("gadgets", sa.Column("id", sa.Integer)')
    failed = watcher.next("done", timeout=120)
    assert failed["result"] == "failed" and failed["action"] == "migrate"
    assert "SyntaxError" in failed["detail"] or "was never closed" in failed["detail"], failed
    assert "gadgets" not in tables(p)
    broken.write_text(broken.read_text().replace("sa.Integer)", "sa.Integer))"))
    fixed = watcher.next("done", timeout=120)
    assert fixed["result"] == "ok", fixed["detail"]
    assert "gadgets" in tables(p)

    # 50 files within a second (a chain of revisions): exactly one action.
    start = time.monotonic()
    down = "0003"
    for i in range(50):
        rev = f"b{i:03d}"
        revision(p, rev, down)
        down = rev
    assert time.monotonic() - start < 1.0
    burst = watcher.next("done", timeout=120)
    assert burst["result"] == "ok", burst["detail"]
    assert len(burst["trigger"]) == 50
    assert watcher.quiet_for(3.0) == []  # and nothing after it
    assert [e["event"] for e in watcher.seen].count("started") == 4
    version = p.devstack(
        "exec",
        "db",
        "psql",
        "-U",
        "app",
        "-d",
        "app",
        "-tAc",
        "SELECT version_num FROM alembic_version",
        check=True,
    ).stdout.strip()
    assert version == "b049"

    assert container_id(p.name, "app") == app_before  # migrations never restart the app
    code, _ = watcher.interrupt()
    assert code == 0
