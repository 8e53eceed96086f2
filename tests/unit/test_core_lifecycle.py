"""lifecycle.up / down / migrate on the fake engine, for each delivery: the order of the
steps, the clean-up on Ctrl-C and on a failure at each stage (the integration suite proves
the same on the real engine: test_examples.py, test_interrupts.py, test_remote.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import lifecycle
from devstack.delivery import BindMount
from devstack.delivery.synced import Synced
from devstack.errors import (
    ComposeError,
    EngineUnavailable,
    Interrupted,
    MigrationFailed,
    ServiceUnhealthy,
)
from tests.unit.fake_engine import FAR, MIGRATE, FakeEngine, Recorder, Script, fake_stack


def engine() -> FakeEngine:
    return FakeEngine({"db": Script(health=True), "app": Script(health=True)})


# ---- up: the order of the steps ---------------------------------------------------------


def test_up_on_a_bind_mount_migrates_in_a_one_off_then_starts_the_app(tmp_path: Path) -> None:
    e = engine()
    result = lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert e.steps() == [
        "up db",
        f"hold app {MIGRATE}",  # the one-off made ready while db is waited on
        "ready db",
        "up app",  # its container starts held (its command waits on the hold file) ...
        f"run app {MIGRATE}",  # ... while the one-off, released once db is ready, migrates
        "ready app",
    ]
    assert result.migration is not None and result.migration.command == tuple(MIGRATE.split())
    assert {r.service: r.engine for r in result.services} == {"app": "", "db": ""}
    assert not e.boxes or all(not b.oneoff for b in e.boxes.values())
    assert not (tmp_path / ".devstack" / "hold" / "held").exists()  # the app was let go


def test_a_running_app_is_left_as_it_is_until_the_migration_is_done(tmp_path: Path) -> None:
    e = engine()
    stack = fake_stack(tmp_path, e)
    lifecycle.up(stack, events=Recorder(e))
    e.log.clear()
    lifecycle.up(stack, events=Recorder(e))
    assert e.steps() == [
        "up db", f"hold app {MIGRATE}", "ready db", f"run app {MIGRATE}", "up app", "ready app"
    ]  # fmt: skip


def test_a_hold_file_a_killed_devstack_left_is_removed_by_up_and_down(tmp_path: Path) -> None:
    e = engine()
    stack = fake_stack(tmp_path, e)
    lifecycle.up(stack, events=Recorder(e))
    held = tmp_path / ".devstack" / "hold" / "held"
    held.touch()  # a devstack killed while it held the app
    lifecycle.up(stack, events=Recorder(e))  # the app runs: started after the migration
    assert not held.exists()
    held.touch()
    lifecycle.down(stack)
    assert not held.exists()


def test_the_migration_is_held_only_during_the_wave_before_the_app(tmp_path: Path) -> None:
    e = FakeEngine({"db": Script(health=True), "cache": Script(), "app": Script(health=True)})
    stack = fake_stack(tmp_path, e, depends={"cache": ["db"], "app": ["cache"]})
    lifecycle.up(stack, events=Recorder(e))
    assert e.steps() == [
        "up db", "ready db",
        "up cache", f"hold app {MIGRATE}", "ready cache",  # no later wave's up beside it
        "up app", f"run app {MIGRATE}", "ready app",
    ]  # fmt: skip


def test_a_hold_that_cannot_be_set_runs_the_migration_the_ordinary_way(tmp_path: Path) -> None:
    e = engine()
    e.hold_fails = True  # an image without /bin/sh: the held one-off ends before release
    result = lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert e.steps() == [
        "up db", f"hold app {MIGRATE}", "ready db", "up app", f"run app {MIGRATE}", "ready app"
    ]  # fmt: skip
    assert result.migration is not None
    assert [c for c in e.log if c[0] == "run"] == [("run", "app", *MIGRATE.split())]


def test_nothing_is_held_without_a_migration_to_run(tmp_path: Path) -> None:
    e = engine()
    lifecycle.up(fake_stack(tmp_path, e), migrate=False, events=Recorder(e))
    assert e.steps() == ["up db", "ready db", "up app", "ready app"]
    e = FakeEngine({"app": Script(health=True)})
    lifecycle.up(fake_stack(tmp_path / "alone", e, depends={}), events=Recorder(e))
    assert e.steps() == ["up app", f"run app {MIGRATE}", "ready app"]  # no wave to overlap


def test_up_on_a_synced_tree_starts_the_app_syncs_migrates_there_then_releases(
    tmp_path: Path, synced: list[str]
) -> None:
    e = engine()
    result = lifecycle.up(fake_stack(tmp_path, e, delivery=Synced(FAR)), events=Recorder(e))
    assert e.steps() == [
        "up db", "ready db",
        "up app",  # its command waits for the code
        "sync connect",
        "sync connect",  # the migration pushes what the sync has not yet (none here)
        f"exec app {MIGRATE}",  # in the app container, which holds the synced code
        "release app",
        "sync daemon",
        "ready app",
    ]  # fmt: skip
    assert result.migration is not None
    app = next(r for r in result.services if r.service == "app")
    assert (app.engine, app.sync) == ("ssh://me@far", "watching: 3 sent")


def test_up_on_a_synced_tree_without_follow_syncs_once(tmp_path: Path, synced: list[str]) -> None:
    e = engine()
    stack = fake_stack(tmp_path, e, delivery=Synced(FAR))
    lifecycle.up(stack, events=Recorder(e), follow=False)
    assert "sync daemon" not in e.steps() and "start" not in synced  # nothing left running
    assert e.steps()[-2:] == ["release app", "ready app"]


def test_up_without_migrations_or_with_no_migrate(tmp_path: Path) -> None:
    e = engine()
    lifecycle.up(fake_stack(tmp_path, e, alembic=False), events=Recorder(e))
    assert "run app" not in " ".join(e.steps())
    e = engine()
    lifecycle.up(fake_stack(tmp_path / "..", e), migrate=False, events=Recorder(e))
    assert e.steps() == ["up db", "ready db", "up app", "ready app"]


def test_up_of_dependencies_only_never_touches_the_app(tmp_path: Path) -> None:
    e = engine()
    lifecycle.up(fake_stack(tmp_path, e), ["db"], events=Recorder(e))
    assert e.steps() == ["up db", "ready db"]


# ---- up: Ctrl-C and failures at each stage ----------------------------------------------


@pytest.mark.parametrize(
    ("at", "stage"),
    [
        ("up db", "starting dependencies"),
        ("wait db", "waiting on dependencies"),
        ("run app", "migrating"),
        ("up app", "migrating"),  # the app's container starts, held, while it migrates
        ("wait app", "waiting on the app"),
    ],
)
def test_ctrl_c_at_each_stage_of_a_bind_mount_up(tmp_path: Path, at: str, stage: str) -> None:
    e = engine()
    e.interrupt_at = at
    with pytest.raises(Interrupted) as caught:
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert caught.value.message == f"interrupted while {stage}"
    assert "`devstack down` stops them" in (caught.value.hint or "")
    # the clean-up looked for one-off containers and left none behind
    assert ("containers",) in e.log[e.log.index(next(c for c in e.log if " ".join(c[:2]) == at)) :]
    assert not [b for b in e.boxes.values() if b.oneoff]


@pytest.mark.parametrize(
    ("at", "stage"),
    [
        ("up app", "starting the app"),
        ("exec app", "migrating"),
    ],
)
def test_ctrl_c_at_each_stage_of_a_synced_up(
    tmp_path: Path, synced: list[str], at: str, stage: str
) -> None:
    e = engine()
    e.interrupt_at = at
    with pytest.raises(Interrupted) as caught:
        lifecycle.up(fake_stack(tmp_path, e, delivery=Synced(FAR)), events=Recorder(e))
    assert caught.value.message == f"interrupted while {stage}"
    assert "start" not in synced  # no background sync left for an app never released


def test_ctrl_c_while_db_is_waited_on_never_runs_the_held_migration(tmp_path: Path) -> None:
    e = engine()
    e.interrupt_at = "wait db"
    with pytest.raises(Interrupted):
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert e.steps() == ["up db", f"hold app {MIGRATE}"]
    assert ("cancel", "app") in e.log
    assert not [b for b in e.boxes.values() if b.oneoff]


def test_running_containers_are_named_after_a_ctrl_c(tmp_path: Path) -> None:
    e = engine()
    e.interrupt_at = "run app"
    with pytest.raises(Interrupted) as caught:
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert "containers left running: db;" in (caught.value.hint or "")


def test_a_failed_migration_stops_up_before_the_app_starts(tmp_path: Path) -> None:
    e = FakeEngine({"db": Script(health=True), "app": Script()}, run_code=3)
    with pytest.raises(MigrationFailed) as caught:
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert "exited with code 3" in caught.value.message
    # the app's container, held while it migrated, is removed before it is let go
    assert e.steps()[-2:] == [f"run app {MIGRATE}", "remove app"]
    assert not [b for b in e.boxes.values() if b.service == "app"]
    assert not (tmp_path / ".devstack" / "hold" / "held").exists()
    assert "ran alembic upgrade head" in (caught.value.details or "")


def test_a_held_app_that_could_not_be_removed_stays_held(tmp_path: Path) -> None:
    e = FakeEngine({"db": Script(health=True), "app": Script()}, run_code=3)
    e.fail_at = "remove app"
    with pytest.raises(ComposeError):
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert (tmp_path / ".devstack" / "hold" / "held").exists()  # never let go unmigrated


def test_ctrl_c_while_migrating_removes_the_held_app(tmp_path: Path) -> None:
    e = engine()
    e.interrupt_at = "run app"
    with pytest.raises(Interrupted) as caught:
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert "containers left running: db;" in (caught.value.hint or "")
    assert "remove app" in e.steps()
    assert not [b for b in e.boxes.values() if b.service == "app"]
    assert not (tmp_path / ".devstack" / "hold" / "held").exists()


def test_a_dependency_that_crashes_stops_up_with_its_log(tmp_path: Path) -> None:
    e = FakeEngine({"db": Script(crash=True, logs="FATAL: bad config"), "app": Script()})
    with pytest.raises(ServiceUnhealthy) as caught:
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert caught.value.message == "db exited with code 1 while starting"
    assert "FATAL: bad config" in (caught.value.details or "")
    assert e.steps() == ["up db", f"hold app {MIGRATE}"]  # never released
    assert ("cancel", "app") in e.log
    assert not e.boxes or all(not b.oneoff for b in e.boxes.values())


@pytest.mark.parametrize("at", ["up db", "up app"])
def test_an_engine_failure_is_explained_and_one_offs_are_removed(tmp_path: Path, at: str) -> None:
    e = engine()
    e.fail_at = at
    with pytest.raises(ComposeError) as caught:
        lifecycle.up(fake_stack(tmp_path, e), events=Recorder(e))
    assert caught.value.message == f"{at} failed"
    assert e.log[-1] == ("containers",)  # remove_oneoffs looked, after the failure


# ---- down ---------------------------------------------------------------------------------


def test_down_keeps_volumes_unless_told(tmp_path: Path) -> None:
    e = engine()
    stack = fake_stack(tmp_path, e)
    lifecycle.up(stack, events=Recorder(e))
    result = lifecycle.down(stack)
    assert (result.containers, result.volumes_kept, result.volumes_deleted) == (2, ("p_data",), ())
    lifecycle.up(stack, events=Recorder(e))
    result = lifecycle.down(stack, volumes=True)
    assert (result.volumes_kept, result.volumes_deleted) == ((), ("p_data",))
    assert [s for s in e.steps() if s.startswith("down")] == ["down -", "down volumes"]


def test_down_of_a_synced_stack_stops_the_background_sync_first(
    tmp_path: Path, synced: list[str]
) -> None:
    e = engine()
    stack = fake_stack(tmp_path, e, delivery=Synced(FAR))
    events = Recorder(e)
    lifecycle.down(stack, events=events)
    assert synced == ["stop"]
    assert events.lines[0] == "stopped the background sync and its port forwards"


def test_down_stops_the_background_sync_even_when_the_engine_is_gone(
    tmp_path: Path, synced: list[str]
) -> None:
    e = engine()
    e.unreachable = True
    with pytest.raises(EngineUnavailable):
        lifecycle.down(fake_stack(tmp_path, e, delivery=Synced(FAR)), events=Recorder(e))
    assert synced == ["stop"]  # no sync daemon left behind here


# ---- migrate ------------------------------------------------------------------------------


def test_migrate_starts_and_waits_on_dependencies_then_runs_a_one_off(tmp_path: Path) -> None:
    e = engine()
    result = lifecycle.migrate(fake_stack(tmp_path, e), ["downgrade", "-1"], events=Recorder(e))
    assert e.steps() == ["up db", "ready db", "run app alembic downgrade -1"]
    assert e.log[[c[0] for c in e.log].index("run")][2:] == ("alembic", "downgrade", "-1")
    assert result.command == ("alembic", "downgrade", "-1")


def test_migrate_on_a_synced_tree_runs_in_the_running_app(
    tmp_path: Path, synced: list[str]
) -> None:
    e = engine()
    stack = fake_stack(tmp_path, e, delivery=Synced(FAR))
    lifecycle.up(stack, events=Recorder(e))
    e.log.clear()
    lifecycle.migrate(stack, events=Recorder(e))
    assert e.steps() == ["up db", "ready db", "sync connect", f"exec app {MIGRATE}"]


def test_migrate_on_a_synced_tree_without_a_running_app_refuses_to_run_stale_code(
    tmp_path: Path, synced: list[str]
) -> None:
    e = engine()
    with pytest.raises(MigrationFailed) as caught:
        lifecycle.migrate(fake_stack(tmp_path, e, delivery=Synced(FAR)), events=Recorder(e))
    assert caught.value.message.startswith("app is not running: on ssh://me@far")
    assert "`devstack up` starts app" in (caught.value.hint or "")
    assert "run app" not in " ".join(e.steps())  # never a one-off with the image's code


def test_ctrl_c_during_migrate_removes_the_one_off(tmp_path: Path) -> None:
    e = engine()
    e.interrupt_at = "run app"
    with pytest.raises(Interrupted) as caught:
        lifecycle.migrate(fake_stack(tmp_path, e), events=Recorder(e))
    assert caught.value.message == "interrupted while migrating"
    assert not e.boxes or all(not b.oneoff for b in e.boxes.values())


def test_the_bind_mount_is_the_default_delivery(tmp_path: Path) -> None:
    assert isinstance(fake_stack(tmp_path, engine()).delivery, BindMount)
