"""devstack's own containers are removed with their anonymous volumes however the call
ends (the runner patched only to record the argv and to end the call each way; the real
engine's side is tests/integration/test_leftovers.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from devstack.engine import runner, throwaway
from devstack.errors import EngineTimeout


def recording(monkeypatch: pytest.MonkeyPatch, fail: BaseException | None) -> list[list[str]]:
    """Every argv run; the first one ends with `fail` (or exit 1 when None)."""
    calls: list[list[str]] = []

    def run(cmd: Sequence[str], **_: Any) -> runner.Done:
        calls.append(list(cmd))
        if len(calls) == 1 and fail is not None:
            raise fail
        return runner.Done(list(cmd), 0 if len(calls) > 1 else 1, b"", b"")

    monkeypatch.setattr(throwaway.runner, "run", run)
    return calls


def name_in(argv: list[str]) -> str:
    return argv[argv.index("--name") + 1]


@pytest.mark.parametrize(
    "fail",
    [None, KeyboardInterrupt(), EngineTimeout("`docker create` timed out", command=["docker"])],
    ids=["failure", "ctrl-c", "timeout"],
)
def test_an_image_read_removes_its_container_and_volumes(
    monkeypatch: pytest.MonkeyPatch, fail: BaseException | None
) -> None:
    calls = recording(monkeypatch, fail)
    if fail is None:
        assert throwaway.read_image_file("postgres:15", ["/etc/ssl/cert.pem"]) is None
    else:
        with pytest.raises(type(fail)):
            throwaway.read_image_file("postgres:15", ["/etc/ssl/cert.pem"])
    create, rm = calls
    assert create[:2] == ["docker", "create"] and "devstack.throwaway=true" in create
    assert rm == ["docker", "rm", "-f", "-v", name_in(create)]


@pytest.mark.parametrize("fail", [None, KeyboardInterrupt()], ids=["exit", "ctrl-c"])
def test_a_probe_run_removes_its_container_and_volumes(
    monkeypatch: pytest.MonkeyPatch, fail: BaseException | None
) -> None:
    calls = recording(monkeypatch, fail)
    if fail is None:
        assert throwaway.run_throwaway("python:3.11", ["python3", "-c", "pass"])[0] == 1
    else:
        with pytest.raises(KeyboardInterrupt):
            throwaway.run_throwaway("python:3.11", ["python3", "-c", "pass"])
    run, rm = calls
    assert run[:3] == ["docker", "run", "--rm"]
    assert rm == ["docker", "rm", "-f", "-v", name_in(run)]


def test_a_probe_run_that_times_out_is_124_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = recording(monkeypatch, EngineTimeout("`docker run` timed out", command=["docker"]))
    code, out = throwaway.run_throwaway("python:3.11", ["sleep", "60"], timeout=1)
    assert (code, out) == (124, "`docker run` timed out")
    assert calls[1] == ["docker", "rm", "-f", "-v", name_in(calls[0])]
