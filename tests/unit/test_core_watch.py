"""watch's actions on the fake engine, for each delivery: a migration runs against the
current code (the bug was a one-off container holding the image's code on a remote
engine: "migrated", and no table), and the wait after a rebuild is up's (probe_from)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from devstack.delivery import BindMount
from devstack.delivery.synced import Synced
from devstack.errors import ServiceUnhealthy
from devstack.stack import Stack
from devstack.watch.actions import perform, runner_for
from tests.unit.fake_engine import FAR, MIGRATE, FakeEngine, Recorder, Script, fake_stack


def started(tmp_path: Path, e: FakeEngine, delivery: BindMount | Synced, **settings: Any) -> Stack:
    """A stack whose containers run already (as when `watch` starts)."""
    stack = fake_stack(tmp_path, e, delivery=delivery, **settings)
    for service in e.scripts:
        e.start(service)
    e.log.clear()
    return stack


def test_a_new_migration_on_a_bind_mount_runs_in_a_one_off(tmp_path: Path) -> None:
    e = FakeEngine({"db": Script(health=True), "app": Script(health=True)})
    stack = started(tmp_path, e, BindMount())
    event = perform("migrate", ("migrations/versions/0002.py",), runner_for(stack, Recorder(e)))
    assert event.result == "ok", event.detail
    assert e.steps() == [f"run app {MIGRATE}"]  # a one-off container sees the mounted code


def test_a_new_migration_on_a_synced_tree_runs_in_the_app_holding_the_synced_code(
    tmp_path: Path, synced: list[str]
) -> None:
    e = FakeEngine({"db": Script(health=True), "app": Script(health=True)})
    stack = started(tmp_path, e, Synced(FAR))
    event = perform("migrate", ("migrations/versions/0002.py",), runner_for(stack, Recorder(e)))
    assert event.result == "ok", event.detail
    # never a one-off (the image's code, without the new revision): push, then run there
    assert e.steps() == ["sync connect", f"exec app {MIGRATE}"]
    assert "in the running app" in event.detail


def test_a_failed_migration_is_a_failed_event_on_either_delivery(
    tmp_path: Path, synced: list[str]
) -> None:
    for n, delivery in enumerate((BindMount(), Synced(FAR))):
        e = FakeEngine({"db": Script(health=True), "app": Script()}, run_code=1, exec_code=1)
        stack = started(tmp_path / str(n), e, delivery)
        event = perform("migrate", ("m.py",), runner_for(stack, Recorder(e)))
        assert event.result == "failed" and "exited with code 1" in event.detail


@pytest.mark.parametrize("delivery", [BindMount(), Synced(FAR)])
def test_a_rebuild_builds_migrates_recreates_and_waits(
    tmp_path: Path, synced: list[str], delivery: BindMount | Synced
) -> None:
    e = FakeEngine({"db": Script(health=True), "app": Script(health=True, ready_after=1)})
    stack = started(tmp_path / "p", e, delivery)
    runner = runner_for(stack, Recorder(e))
    event = perform("rebuild", ("requirements.txt",), runner, migrate_too=True)
    assert event.result == "ok", event.detail
    migrate = [f"run app {MIGRATE}"] if isinstance(delivery, BindMount) else [
        "sync connect", f"exec app {MIGRATE}"]  # fmt: skip
    # the migration runs while the old container serves; then the new one
    assert e.steps() == ["build app", *migrate, "up app", "ready app"]
    assert [s.name for s in event.steps] == ["build", "migrate", "recreate", "healthy"]


@pytest.mark.parametrize(
    ("delivery", "setting", "probes_in_the_container"),
    [
        (BindMount(), "container", True),  # probe_from is honoured, as `up` does
        (BindMount(), "host", False),  # a handshake from here (refused: port 1)
        (Synced(FAR), "auto", True),  # the engine's network is elsewhere
    ],
)
def test_the_wait_after_a_rebuild_probes_as_up_does(
    tmp_path: Path,
    synced: list[str],
    delivery: BindMount | Synced,
    setting: str,
    probes_in_the_container: bool,
) -> None:
    app = Script(image="redis:7", exposed=(1,), addresses=("127.0.0.1",))
    e = FakeEngine({"app": app})
    stack = started(tmp_path, e, delivery, probe_from=setting, wait_timeout=0.3)
    runner = runner_for(stack, Recorder(e))
    runner.recreate()
    with contextlib.suppress(ServiceUnhealthy):  # the handshake from here is refused
        runner.wait_healthy()
    probed = [c[1:3] for c in e.log if c[0] == "exec_in"]
    assert probed[:1] == ([("app", "redis-cli")] if probes_in_the_container else [])


def test_ctrl_c_during_a_watch_migration_removes_the_one_off(tmp_path: Path) -> None:
    e = FakeEngine({"app": Script()})
    stack = started(tmp_path, e, BindMount())
    runner = runner_for(stack, Recorder(e))
    e.interrupt_at = "run app"
    with contextlib.suppress(KeyboardInterrupt), runner.lock():
        runner.migrate()
    runner.cleanup()
    assert not [b for b in e.boxes.values() if b.oneoff]
    assert e.log[-1] == ("containers",)
