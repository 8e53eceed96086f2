"""devstack_watch: the project tree watched directory by directory (real files, no engine).
Unreadable directories need another uid than the test's (often root): the integration test
(test_reload_permissions) covers them in a container."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.unit import runtime_module

watch = runtime_module.load("devstack_watch")
bell_module = runtime_module.load("devstack_bell")
SKIP = {".git", ".devstack", "node_modules"}


def tree(root: Path) -> Path:
    for rel in (
        "a/x.py",
        "a/deep/y.py",
        ".git/objects/o",
        ".devstack/state",
        "web/node_modules/m.js",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    return root


def make(root: Path) -> object:
    return watch.TreeWatch([root], lambda p: p.name in SKIP)


def test_directories_prune_excluded_names(tmp_path: Path) -> None:
    w = make(tree(tmp_path))
    found = {os.path.relpath(d, tmp_path) for d in w.directories()}  # type: ignore[attr-defined]
    assert found == {".", "a", "a/deep", "web"}
    assert str(tmp_path / ".git") in w.ignored  # type: ignore[attr-defined]


def test_unreadable_directory_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = make(tmp_path)
    error = PermissionError(13, "Permission denied", str(tmp_path))
    for _ in range(3):
        w._unreadable(error)  # type: ignore[attr-defined]
    (record,) = caplog.records
    assert record.getMessage().startswith(f"devstack: not watching {tmp_path} (permission denied")
    assert "owned by uid" in record.getMessage()


def test_reshaped_on_new_or_gone_directories(tmp_path: Path) -> None:
    w = make(tree(tmp_path))
    watched = w.directories()  # type: ignore[attr-defined]
    assert not w._reshaped([(1, str(tmp_path / "a" / "x.py"))], watched)  # type: ignore[attr-defined]
    (tmp_path / "new").mkdir()
    assert w._reshaped([(1, str(tmp_path / "new"))], watched)  # type: ignore[attr-defined]
    (tmp_path / ".git" / "more").mkdir()
    assert not w._reshaped([(1, str(tmp_path / ".git"))], watched)  # type: ignore[attr-defined]
    (tmp_path / "a" / "deep" / "y.py").unlink()
    (tmp_path / "a" / "deep").rmdir()
    assert w._reshaped([(3, str(tmp_path / "a" / "deep"))], watched)  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["inotify", "polling", "bell"])
def test_watch_sees_edits_in_new_directories_from_their_first_file(
    tmp_path: Path, how: str
) -> None:
    """Also with WATCHFILES_FORCE_POLLING's poller (bind mounts of Docker Desktop), which
    compares modification times in whole seconds: its edits are a second apart; and with the
    bell (the warm reloader's way: asleep until the kernel says something changed)."""
    w = make(tree(tmp_path))
    stop = threading.Event()
    seen: list[set[str]] = []
    polling = how == "polling"
    if how == "bell":
        kwargs: dict[str, object] = {"bell": True, "step": 2}
    else:
        kwargs = {"stop_event": stop, "step": 20, "force_polling": polling, "poll_delay_ms": 50}
    batches = w.watch(  # type: ignore[attr-defined]
        watch_filter=lambda _c, p: p.endswith(".py"),
        yield_on_timeout=True,
        rust_timeout=200,
        debounce=50,
        **kwargs,
    )

    stamps = iter(range(int(time.time()) + 2, int(time.time()) + 100, 2))

    def write(path: Path, text: str) -> None:
        path.write_text(text)
        if polling:  # a whole second apart for the poller, without waiting that second
            stamp = next(stamps)
            os.utime(path, (stamp, stamp))

    def until(pred: object) -> None:
        for changes in batches:
            seen.append({os.path.relpath(p, tmp_path) for _, p in changes})
            if pred(seen[-1]):  # type: ignore[operator]
                return
            assert len(seen) < 100, seen

    next(batches)  # started: a timeout tick
    write(tmp_path / "a" / "deep" / "y.py", "Y = 1\n")
    until(lambda s: "a/deep/y.py" in s)
    (tmp_path / "late" / "pkg").mkdir(parents=True)
    write(tmp_path / "late" / "pkg" / "z.py", "Z = 1\n")
    until(lambda s: "late/pkg/z.py" in s)
    write(tmp_path / "late" / "pkg" / "z.py", "Z = 2\n")
    until(lambda s: "late/pkg/z.py" in s)
    (tmp_path / ".git" / "hook.py").write_text("")
    write(tmp_path / "a" / "x.py", "X = 1\n")
    until(lambda s: "a/x.py" in s)
    assert not any(".git/hook.py" in s for s in seen)
    if how == "bell":
        batches.close()  # the bell and watchfiles' watcher closed with it
        return
    stop.set()
    assert list(batches) in ([], [set()])


def test_bell_rings_on_a_change_and_stays_quiet_otherwise(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    bell = watch.Bell.open([str(tmp_path), str(tmp_path / "sub"), str(tmp_path / "gone")])
    assert bell is not None  # a directory gone meanwhile is left to watchfiles
    try:
        assert bell.wait(0.05) is False
        (tmp_path / "sub" / "m.py").write_text("X = 1\n")
        assert bell.wait(5) is True
        assert bell.wait(0.05) is False  # what rang was read: quiet again
        os.replace(tmp_path / "sub" / "m.py", tmp_path / "n.py")
        assert bell.wait(5) is True
    finally:
        bell.close()


@pytest.mark.parametrize(
    ("value", "forced"),
    [("", False), ("1", True), ("true", True), ("false", False), ("Disabled", False)],
)
def test_no_bell_where_polling_is_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, forced: bool
) -> None:
    """watchfiles' own rule for WATCHFILES_FORCE_POLLING: a poller needs no bell."""
    monkeypatch.setenv("WATCHFILES_FORCE_POLLING", value)
    bell = watch.Bell.open([str(tmp_path)])
    assert (bell is None) is forced
    if bell is not None:
        bell.close()


def test_bell_waits_for_a_py_file_written_in_place_to_be_closed(tmp_path: Path) -> None:
    """Truncated and written, not yet closed: the reload would read it half-written, so the
    bell rings once it is closed, or after SETTLE seconds at the latest."""
    bell = watch.Bell.open([str(tmp_path)])
    assert bell is not None
    try:
        for hold, least in ((0.05, 0.04), (5.0, bell_module.SETTLE * 0.9)):
            fh = (tmp_path / "m.py").open("w")
            fh.write("X = 1\n")
            fh.flush()
            closer = threading.Timer(hold, fh.close)
            closer.start()
            began = time.monotonic()
            assert bell.wait(5) is True
            waited = time.monotonic() - began
            closer.cancel()
            fh.close()
            assert least <= waited < 2, (hold, waited)
            bell.wait(0.2)  # the close, when it came after the ring
    finally:
        bell.close()
