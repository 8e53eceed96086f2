"""Doctor checks in passing and failing states with our own seams stubbed (no engine)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from devstack import config, doctor
from devstack.cli import app as cli
from devstack.errors import ConfigError, EngineUnavailable, ExitCode


def test_buildkit_passes_on_a_modern_engine_and_fails_when_turned_off() -> None:
    assert doctor._buildkit("20.10.24+dfsg1", {}).status == "pass"
    off = doctor._buildkit("24.0.7", {"DOCKER_BUILDKIT": "0"})
    assert off.status == "fail" and "DOCKER_BUILDKIT" in off.fix
    assert doctor._buildkit("17.06.2", {}).status == "fail"


@pytest.mark.parametrize(
    ("free", "status"),
    [(50 * 2**30, "pass"), (3 * 2**30, "warn"), (2**29, "fail"), (None, "skip")],
)
def test_disk_thresholds(free: int | None, status: str) -> None:
    check = doctor._disk("/var/lib/docker", lambda path: free)
    assert check.status == status
    assert bool(check.fix) == (status in ("warn", "fail"))


def _settings(tmp_path: Path, dirs: int) -> config.Settings:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    for i in range(dirs):
        (tmp_path / f"d{i}").mkdir()
    return config.load(tmp_path, environ={})


@pytest.mark.parametrize(("limit", "status"), [(8192, "pass"), (12, "warn"), (5, "fail")])
def test_inotify_limit_against_the_code_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, status: str
) -> None:
    settings = _settings(tmp_path, dirs=10)  # 11 directories with the root
    monkeypatch.setattr(doctor, "read_inotify_limit", lambda: limit)
    check = doctor._inotify(settings)
    assert check.status == status, check
    assert "max_user_watches" in check.fix or status == "pass"


def test_inotify_skips_without_inotify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "read_inotify_limit", lambda: None)
    assert doctor._inotify(_settings(tmp_path, 0)).status == "skip"


def test_published_ports_and_ranges() -> None:
    assert doctor._published("8000") == [8000]
    assert doctor._published("8000-8002") == [8000, 8001, 8002]
    assert doctor._published(None) == [] and doctor._published("") == []


def test_a_bound_port_is_not_free() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not doctor._free("127.0.0.1", port)
    assert doctor._free("127.0.0.1", port)


def test_unreachable_engine_fails_and_skips_engine_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> Any:
        raise EngineUnavailable("the Docker engine does not answer")

    monkeypatch.setattr(doctor.engine, "engine_info", down)
    monkeypatch.setattr(doctor, "read_inotify_limit", lambda: 8192)
    settings = _settings(tmp_path, 0)

    def no_stack(settings: config.Settings) -> Any:
        raise EngineUnavailable("the Docker engine does not answer")

    monkeypatch.setattr(doctor, "open_stack", no_stack)
    checks = {c.name: c for c in doctor.run(lambda: settings)}
    assert checks["engine"].status == "fail" and "DOCKER_HOST" in checks["engine"].fix
    for name in ("compose", "buildkit", "ports", "disk", "ca-trust", "bind-mount"):
        assert checks[name].status == "skip", name
    assert checks["inotify"].status == "pass"  # needs no engine
    assert doctor.failed(tuple(checks.values()))


def test_config_error_fails_and_no_project_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor.engine, "engine_info", lambda: doctor.engine.EngineInfo("24.0", "/"))
    monkeypatch.setattr(doctor.engine, "compose_version", lambda: "2.40.3")

    def bad() -> config.Settings:
        raise ConfigError("devstack.toml: unknown key 'bogus'", hint="known keys: ...")

    checks = {c.name: c for c in doctor.run(bad)}
    assert checks["config"].status == "fail" and "bogus" in checks["config"].detail
    assert checks["config"].fix == "known keys: ..."

    def missing() -> config.Settings:
        return config.load(tmp_path, environ={})

    checks = {c.name: c for c in doctor.run(missing)}
    assert checks["config"].status == "skip" and "devstack init" in checks["config"].fix
    for name in ("ports", "inotify", "ca-trust", "bind-mount"):
        assert checks[name].status == "skip" and "devstack init" in checks[name].fix, name
    assert not doctor.failed(tuple(checks.values()))


# ---- the CLI, with the core patched at its boundary ---------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.mark.parametrize(("status", "code"), [("pass", 0), ("warn", 0), ("fail", 1)])
def test_cli_json_and_exit_codes(
    status: str, code: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = (
        doctor.Check("engine", "pass", "Docker Engine 24.0"),
        doctor.Check("ports", status, "127.0.0.1:8000 (app)", "stop it"),  # type: ignore[arg-type]
    )
    monkeypatch.setattr(doctor, "run", lambda load: checks)
    for argv in (["doctor", "--json"], ["--json", "doctor"]):
        rc, out, _ = _run(argv, capsys)
        assert rc == code
        data = json.loads(out)
        assert data["ok"] is (status != "fail")
        assert data["checks"][1] == {
            "name": "ports",
            "status": status,
            "detail": "127.0.0.1:8000 (app)",
            "fix": "stop it",
        }
    assert ExitCode.DOCTOR_FAILED == 1
    rc, out, _ = _run(["doctor"], capsys)
    assert rc == code and "ports" in out and "STATUS" in out
