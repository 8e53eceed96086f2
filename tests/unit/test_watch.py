"""The watch core without an engine or a file system: classify, coalesce, act, keep going."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.cli.output import Output
from devstack.cli.watch_cmd import Renderer, event_data
from devstack.errors import ComposeError, MigrationFailed
from devstack.watch import loop as watch
from devstack.watch.actions import Runner, Step, WatchEvent, perform
from devstack.watch.changes import Coalescer, FileChange, Rules, classify, ignored, triggers
from devstack.watch.loop import ActionStarted, Watching, find_migrations_dir, loop

CODE = Path("/src/proj")
RULES = Rules(
    code_dir=CODE,
    dependency_files=("requirements*.txt", "pyproject.toml", "uv.lock", "Dockerfile", "deps/*.in"),
    dockerfile=Path("/src/compose/Dockerfile"),
    migrations_dir=CODE / "migrations" / "versions",
)


def ch(rel: str, kind: str = "modified") -> FileChange:
    return (kind, rel if rel.startswith("/") else str(CODE / rel))


# ---- classify ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, expected",
    [
        ([ch("requirements.txt")], "rebuild"),
        ([ch("requirements-dev.txt")], "rebuild"),
        ([ch("sub/requirements.txt")], "rebuild"),
        ([ch("pyproject.toml")], "rebuild"),
        ([ch("uv.lock", "deleted")], "rebuild"),
        ([ch("Dockerfile")], "rebuild"),
        ([ch("/src/compose/Dockerfile")], "rebuild"),
        ([ch("deps/base.in")], "rebuild"),
        ([ch("migrations/versions/0002_add.py", "added")], "migrate"),
        ([ch("migrations/versions/0002_add.py")], "migrate"),
        ([ch("migrations/versions/sub/0003.py", "added")], "migrate"),
        ([ch("migrations/versions/0002_add.py", "deleted")], None),
        ([ch("migrations/versions/README")], None),
        ([ch("migrations/env.py")], None),
        ([ch("app/main.py"), ch("app/templates/x.html")], None),
        ([ch("/src/compose/start-reload.sh")], None),
        ([ch("/elsewhere/requirements.txt")], None),
        ([ch("requirements.txt.bak")], None),
        ([], None),
        # a rebuild wins over a migration
        ([ch("migrations/versions/0002.py", "added"), ch("requirements.txt")], "rebuild"),
    ],
)
def test_classify(changes: list[FileChange], expected: str | None) -> None:
    assert classify(changes, RULES) == expected


def test_triggers_are_the_relevant_files_relative_to_the_code() -> None:
    changes = [ch("app/main.py"), ch("requirements.txt"), ch("/src/compose/Dockerfile")]
    assert triggers(changes, RULES) == ("/src/compose/Dockerfile", "requirements.txt")


def test_ignored_folders() -> None:
    for part in (".git", ".venv", "__pycache__", "node_modules", ".devstack"):
        assert ignored(f"/src/proj/{part}/requirements.txt")
    assert not ignored("/src/proj/app/requirements.txt")


def test_watched_paths_include_a_dockerfile_outside_the_code() -> None:
    assert RULES.paths == (CODE, Path("/src/compose"))
    above = Rules(CODE, (), dockerfile=Path("/src/Dockerfile"))
    assert above.paths == (CODE, Path("/src/Dockerfile"))  # the file, not the whole tree
    inside = Rules(CODE, (), dockerfile=CODE / "Dockerfile")
    assert inside.paths == (CODE,)


def test_migrations_dir_from_alembic_ini(tmp_path: Path) -> None:
    assert find_migrations_dir(tmp_path, None) is None
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    assert find_migrations_dir(tmp_path, None) == (tmp_path / "migrations" / "versions").resolve()
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/db/alembic\n")
    assert find_migrations_dir(tmp_path, None) == (tmp_path / "db/alembic/versions").resolve()
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = myapp:migrations\n")
    assert find_migrations_dir(tmp_path, None) is None
    assert find_migrations_dir(tmp_path, "db/versions") == (tmp_path / "db/versions").resolve()


# ---- perform ----------------------------------------------------------------------------


class Fake:
    """A runner whose steps record their calls and can fail or block."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: set[str] = set()
        self.block = threading.Event()
        self.block.set()
        self.running = threading.Event()
        self.concurrent = 0
        self.max_concurrent = 0

    def _step(self, name: str) -> str:
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            self.calls.append(name)
            self.running.set()
            self.block.wait(5)
            if name in self.fail:
                if name == "migrate":
                    raise MigrationFailed(
                        "migration `alembic upgrade head` exited with code 1",
                        details="SyntaxError: invalid syntax",
                    )
                raise ComposeError("build failed (exit 1)", stderr="pip: no such package")
            return f"{name} output"
        finally:
            self.concurrent -= 1

    def _void(self, name: str) -> None:
        self._step(name)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.calls.append("lock")
        try:
            yield
        finally:
            self.calls.append("unlock")

    def runner(self) -> Runner:
        return Runner(
            build=lambda: self._void("build"),
            recreate=lambda: self._void("recreate"),
            wait_healthy=lambda: self._void("healthy"),
            migrate=lambda: self._step("migrate"),
            lock=self._lock,
            cleanup=lambda: self.calls.append("cleanup"),
        )


def test_rebuild_builds_first_then_recreates_then_waits() -> None:
    f = Fake()
    event = perform("rebuild", ("requirements.txt",), f.runner())
    assert f.calls == ["lock", "build", "recreate", "healthy", "unlock"]
    assert event.result == "ok" and event.action == "rebuild"
    assert [s.name for s in event.steps] == ["build", "recreate", "healthy"]
    assert event.seconds >= sum(s.seconds for s in event.steps)


def test_rebuild_with_migrations_migrates_before_the_new_app_starts() -> None:
    f = Fake()
    perform("rebuild", ("requirements.txt",), f.runner(), migrate_too=True)
    assert f.calls == ["lock", "build", "migrate", "recreate", "healthy", "unlock"]


def test_failed_build_never_touches_the_running_app() -> None:
    f = Fake()
    f.fail = {"build"}
    event = perform("rebuild", ("requirements.txt",), f.runner())
    assert f.calls == ["lock", "build", "unlock"]  # no recreate: the old container serves on
    assert event.result == "failed"
    assert "build failed" in event.detail and "pip: no such package" in event.detail


def test_migrate_shows_output_and_failure() -> None:
    f = Fake()
    ok = perform("migrate", ("migrations/versions/0002.py",), f.runner())
    assert ok.result == "ok" and ok.detail == "migrate output"
    f.fail = {"migrate"}
    bad = perform("migrate", ("migrations/versions/0002.py",), f.runner())
    assert bad.result == "failed" and "SyntaxError" in bad.detail
    assert bad.detail.startswith("migrate failed:")


def test_unexpected_errors_are_failures_too() -> None:
    def boom() -> str:
        raise OSError("disk full")

    runner = Runner(lambda: None, lambda: None, lambda: None, boom, contextlib.nullcontext)
    event = perform("migrate", (), runner)
    assert event.result == "failed" and "disk full" in event.detail


# ---- coalescing and the loop ------------------------------------------------------------


def test_coalescer_waits_for_quiet_and_merges() -> None:
    c = Coalescer(quiet=0.2)
    stop = threading.Event()
    c.add([ch("a.py")])
    time.sleep(0.1)
    c.add([ch("b.py")])
    start = time.monotonic()
    batch = c.take(stop)
    assert batch == {ch("a.py"), ch("b.py")}
    assert time.monotonic() - start >= 0.15  # waited for quiet after the second change
    c.close()
    assert c.take(stop) is None


def test_coalescer_hands_out_a_steady_stream_at_the_longest() -> None:
    c = Coalescer(quiet=0.3, longest=0.5)
    stop = threading.Event()
    done = threading.Event()

    def drip() -> None:
        for i in range(40):
            if done.is_set():
                return
            c.add([ch(f"f{i}.py")])
            time.sleep(0.05)

    t = threading.Thread(target=drip)
    t.start()
    start = time.monotonic()
    assert c.take(stop)
    assert time.monotonic() - start < 1.0
    done.set()
    t.join()


class Feed:
    """Change batches handed to the loop on demand, like watchfiles would."""

    def __init__(self) -> None:
        self.batches: list[list[FileChange]] = [[]]  # the first, empty one: "watching"
        self.cond = threading.Condition()
        self.closed = False

    def push(self, *changes: FileChange) -> None:
        with self.cond:
            self.batches.append(list(changes))
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def __iter__(self) -> Iterator[list[FileChange]]:
        while True:
            with self.cond:
                if not self.batches and not self.closed:
                    self.cond.wait(0.05)
                if not self.batches and self.closed:
                    return
                # nothing new: an empty batch, as watchfiles yields when idle (yield_on_timeout)
                batch = self.batches.pop(0) if self.batches else []
            yield batch


def run_loop(feed: Feed, fake: Fake, **kw: object) -> tuple[list[object], threading.Thread]:
    events: list[object] = []
    stop = kw.pop("stop", threading.Event())
    t = threading.Thread(
        target=lambda: events.append(
            loop(
                feed,
                rules=RULES,
                runner=fake.runner(),
                debounce=0.1,
                stop=stop,  # type: ignore[arg-type]
                on_event=events.append,
                **kw,
            )  # type: ignore[arg-type]
        )
    )
    t.start()
    return events, t


def done(events: list[object]) -> list[WatchEvent]:
    return [e for e in events if isinstance(e, WatchEvent)]


def test_burst_is_one_action_and_code_changes_none() -> None:
    feed, fake = Feed(), Fake()
    events, t = run_loop(feed, fake)
    for i in range(49):
        feed.push(ch(f"app/m{i}.py"))
    feed.push(ch("migrations/versions/0002.py", "added"))
    time.sleep(0.4)
    feed.push(ch("app/main.py"))  # only code: left to the reloader
    time.sleep(0.4)
    feed.close()
    t.join(5)
    assert isinstance(events[0], Watching)
    assert [e.action for e in done(events)] == ["migrate"]
    assert done(events)[0].trigger == ("migrations/versions/0002.py",)
    assert fake.calls.count("migrate") == 1


def test_changes_during_an_action_queue_exactly_one_follow_up() -> None:
    feed, fake = Feed(), Fake()
    fake.block.clear()
    events, t = run_loop(feed, fake)
    feed.push(ch("migrations/versions/0002.py", "added"))
    assert fake.running.wait(5)  # the first action is running (and blocked)
    for i, name in enumerate(["requirements.txt", "migrations/versions/0003.py", "pyproject.toml"]):
        feed.push(ch(name, "added"))
        time.sleep(0.15 * i)
    time.sleep(0.3)
    fake.block.set()
    time.sleep(0.6)
    feed.close()
    t.join(5)
    acts = done(events)
    assert [e.action for e in acts] == ["migrate", "rebuild"]
    # the follow-up carries every change made meanwhile; its migration runs with it
    assert acts[1].trigger == (
        "migrations/versions/0003.py",
        "pyproject.toml",
        "requirements.txt",
    )
    assert [s.name for s in acts[1].steps] == ["build", "migrate", "recreate", "healthy"]
    assert fake.max_concurrent == 1  # never two actions at once
    started = [e for e in events if isinstance(e, ActionStarted)]
    assert len(started) == 2


def test_a_failure_is_reported_and_watching_continues() -> None:
    feed, fake = Feed(), Fake()
    fake.fail = {"migrate"}
    events, t = run_loop(feed, fake)
    feed.push(ch("migrations/versions/0002.py", "added"))
    deadline = time.monotonic() + 5
    while not done(events) and time.monotonic() < deadline:
        time.sleep(0.05)
    fake.fail = set()
    feed.push(ch("migrations/versions/0002.py"))  # fixed
    time.sleep(0.5)
    feed.close()
    t.join(5)
    assert [e.result for e in done(events)] == ["failed", "ok"]
    summary = events[-1]
    assert isinstance(summary, watch.WatchSummary)
    assert summary.actions == 2 and summary.failed == 1 and not summary.interrupted


def test_stop_and_max_actions_end_the_loop() -> None:
    feed, fake = Feed(), Fake()
    stop = threading.Event()
    events, t = run_loop(feed, fake, stop=stop)
    time.sleep(0.2)
    stop.set()
    t.join(3)
    assert not t.is_alive()
    feed2 = Feed()
    events, t = run_loop(feed2, Fake(), max_actions=1)
    feed2.push(ch("requirements.txt"))
    t.join(5)
    assert not t.is_alive() and len(done(events)) == 1


def test_a_broken_source_is_raised() -> None:
    def broken() -> Iterator[list[FileChange]]:
        yield []
        raise RuntimeError("watcher died")

    with pytest.raises(RuntimeError, match="watcher died"):
        loop(
            broken(),
            rules=RULES,
            runner=Fake().runner(),
            debounce=0.05,
            stop=threading.Event(),
            on_event=lambda e: None,
        )


# ---- rendering --------------------------------------------------------------------------


def test_json_events_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    render = Renderer(Output(json_mode=True))
    render(ActionStarted(("requirements.txt",), "rebuild"))
    render(
        WatchEvent(("requirements.txt",), "rebuild", "ok", 12.34567, steps=(Step("build", 10.0),))
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first == {"event": "started", "trigger": ["requirements.txt"], "action": "rebuild"}
    assert second["event"] == "done" and second["result"] == "ok"
    assert second["seconds"] == 12.346 and second["steps"] == [{"name": "build", "seconds": 10.0}]


def test_plain_rendering_says_what_and_how_long(capsys: pytest.CaptureFixture[str]) -> None:
    render = Renderer(Output())
    render(ActionStarted(("requirements.txt",), "rebuild"))
    render(
        WatchEvent(
            ("requirements.txt",),
            "rebuild",
            "ok",
            12.3,
            steps=(Step("build", 10.0), Step("healthy", 2.0)),
        )
    )
    render(WatchEvent(("m.py",), "migrate", "failed", 1.0, "migrate failed: boom"))
    out, err = capsys.readouterr()
    assert "requirements.txt changed: rebuilding the app" in err
    assert "rebuilt the app in 12.3s (build 10.0s, healthy 2.0s)" in out
    assert "migrate failed" in err and "boom" in err and "still watching" in err


def test_event_data_names_the_kind() -> None:
    w = Watching(("/p",), ("requirements*.txt",), None, None)
    assert event_data(w)["event"] == "watching"


# ---- the command ------------------------------------------------------------------------


def test_watch_command_json_flag_and_down_on_exit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack import lifecycle
    from devstack.cli import app as cli

    calls: dict[str, object] = {}

    def fake_watch(stack: str, *, on_event: Any, events: object) -> watch.WatchSummary:
        calls["stack"] = stack
        on_event(Watching(("/p",), ("requirements*.txt",), None, None))
        on_event(WatchEvent(("requirements.txt",), "rebuild", "failed", 1.5, "build failed: x"))
        return watch.WatchSummary(actions=1, failed=1, seconds=9.0, interrupted=True)

    def fake_down(stack: str, **kwargs: object) -> None:
        calls["down"] = stack

    monkeypatch.setattr(cli.Globals, "stack", lambda self, **kw: "STACK")
    monkeypatch.setattr(watch, "watch", fake_watch)
    monkeypatch.setattr(lifecycle, "down", fake_down)
    with pytest.raises(SystemExit) as exc:
        cli.main(["watch", "--json", "--down-on-exit"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    kinds = [json.loads(line)["event"] for line in out.splitlines()]
    assert kinds == ["watching", "done", "stopped"]
    assert json.loads(out.splitlines()[1])["detail"] == "build failed: x"
    assert calls == {"stack": "STACK", "down": "STACK"}

    calls.clear()
    with pytest.raises(SystemExit) as exc:
        cli.main(["watch"])
    _, err = capsys.readouterr()
    assert "down" not in calls
    assert "rebuild failed" in err and "stack left running" in err
