"""The CLI layer: options reach the core, errors become messages and exit codes (no engine)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devstack import lifecycle
from devstack.cli import app as cli
from devstack.errors import ExitCode, ServiceUnhealthy


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("devstack ")
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for command in ("up", "down", "ps", "logs", "migrate", "exec", "shell", "init", "config"):
        assert command in out


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["up", "--no-such-flag"], capsys)
    assert code == ExitCode.USAGE
    assert "no-such-flag" in err


def test_verbose_and_quiet_contradict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(["-v", "-q", "-C", str(tmp_path), "ps"], capsys)
    assert code == ExitCode.USAGE
    assert "contradict" in err


def test_config_error_message_hint_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(["-C", str(tmp_path), "ps"], capsys)
    assert code == ExitCode.USAGE
    assert "no compose file" in err and "hint:" in err and "Traceback" not in err


def test_up_passes_options_to_core_and_renders_failure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[str, Any] = {}

    stack = SimpleNamespace(project=SimpleNamespace(services={"db": None}))

    def fake_stack(self: cli.Globals, **overrides: Any) -> SimpleNamespace:
        calls["overrides"] = overrides
        return stack

    def fake_up(stack: str, services: list[str], **kwargs: Any) -> None:
        calls["up"] = (stack, services, kwargs)
        raise ServiceUnhealthy(
            "db did not become healthy", hint="look at it", details="last health check: nope"
        )

    monkeypatch.setattr(cli.Globals, "stack", fake_stack)
    monkeypatch.setattr(lifecycle, "up", fake_up)
    code, _, err = run(["up", "db", "--no-build", "--no-migrate", "--wait-timeout", "7"], capsys)
    assert code == ExitCode.UNHEALTHY
    _stack, services, kwargs = calls["up"]
    assert services == ["db"]
    assert kwargs["build"] is False and kwargs["migrate"] is False and kwargs["wait_timeout"] == 7
    assert calls["overrides"] == {"wait_timeout": 7}
    assert (
        "db did not become healthy" in err
        and "last health check: nope" in err
        and "hint: look at it" in err
    )
    assert "Traceback" not in err

    code, _, err = run(["-v", "up"], capsys)
    assert code == ExitCode.UNHEALTHY and "Traceback" in err


def test_interrupt_is_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: cli.Globals, **overrides: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.Globals, "stack", boom)
    code, _, err = run(["ps"], capsys)
    assert code == ExitCode.INTERRUPTED and "interrupted" in err
