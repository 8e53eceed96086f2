"""`devstack doctor --json` against the real engine: each check passing and failing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.errors import ExitCode
from tests.integration.helpers import Project, free_port


def make(tmp_path: Path, name: str, *, image: str, port: int, toml: str = "") -> Project:
    (tmp_path / "compose.yaml").write_text(
        f"""services:
  app:
    image: {image}
    command: ["python3", "-m", "http.server", "8000"]
    ports: ["{port}:8000"]
"""
    )
    (tmp_path / "devstack.toml").write_text(
        'reload_command = "python3 -m http.server 8000"\n' + toml
    )
    return Project(dir=tmp_path, name=name)


def doctor(p: Project, **env: str) -> tuple[int, dict[str, dict[str, Any]], float]:
    start = time.monotonic()
    r = p.devstack("doctor", "--json", env=env or None)
    took = time.monotonic() - start
    assert "Traceback" not in r.stderr, r.stderr
    data = json.loads(r.stdout)
    assert data["ok"] is (r.returncode == 0)
    return r.returncode, {c["name"]: c for c in data["checks"]}, took


def test_healthy_project_passes(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name, image="devstack-local/python:3.11", port=free_port())
    code, checks, took = doctor(p)
    assert code == ExitCode.OK, checks
    for name in ("engine", "compose", "buildkit", "config", "ports", "inotify", "bind-mount"):
        assert checks[name]["status"] == "pass", checks[name]
    assert checks["ca-trust"]["status"] in ("pass", "warn"), checks["ca-trust"]  # warn offline
    assert checks["disk"]["status"] in ("pass", "warn")
    assert took < 20, took
    assert not list(tmp_path.glob(".devstack-doctor-*"))  # the probe file is removed


def test_taken_port_fails_unless_our_own_container_holds_it(
    tmp_path: Path, project_name: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = make(tmp_path, project_name, image="devstack-local/python:3.11", port=port)
        code, checks, _ = doctor(p)
        assert code == ExitCode.DOCTOR_FAILED
        assert checks["ports"]["status"] == "fail"
        assert f"127.0.0.1:{port} (app)" in checks["ports"]["detail"]
        assert f"sport = :{port}" in checks["ports"]["fix"]
    r = p.devstack("up", "--no-migrate", "--wait-timeout", "60")
    assert r.returncode == 0, r.stderr
    code, checks, _ = doctor(p)
    assert checks["ports"]["status"] == "pass", checks["ports"]
    p.devstack("down", "-v", check=True)


def test_unreachable_engine_fails_fast(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name, image="devstack-local/python:3.11", port=free_port())
    code, checks, took = doctor(p, DOCKER_HOST=f"tcp://127.0.0.1:{free_port()}")
    assert code == ExitCode.DOCTOR_FAILED
    assert checks["engine"]["status"] == "fail" and checks["engine"]["fix"]
    assert checks["compose"]["status"] == "skip" and checks["ca-trust"]["status"] == "skip"
    assert took < 10, took


def test_config_error_fails_and_no_project_skips(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name, image="devstack-local/python:3.11", port=free_port())
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: x\n    bogus_key: 1\n")
    code, checks, _ = doctor(p)
    assert code == ExitCode.DOCTOR_FAILED
    assert checks["config"]["status"] == "fail" and "bogus_key" in checks["config"]["detail"]

    empty = tmp_path / "empty"
    empty.mkdir()
    code, checks, _ = doctor(Project(dir=empty, name=project_name))
    assert code == ExitCode.OK
    assert checks["config"]["status"] == "skip" and checks["engine"]["status"] == "pass"
    for name in ("ports", "inotify", "ca-trust", "bind-mount"):
        assert checks[name]["status"] == "skip" and "devstack init" in checks[name]["fix"]


def test_inotify_limit_below_the_code_tree_warns(tmp_path: Path, project_name: str) -> None:
    make(tmp_path, project_name, image="devstack-local/python:3.11", port=free_port())
    limit = tmp_path / "limit"
    limit.write_text("20\n")
    for i in range(18):
        (tmp_path / f"pkg{i}").mkdir()
    # our seam: the limit is read from doctor.INOTIFY_LIMIT, pointed at a stub file
    code = (
        "import sys, pathlib; from devstack import doctor; "
        f"doctor.INOTIFY_LIMIT = pathlib.Path({str(limit)!r}); "
        "from devstack.cli.app import main; "
        f"main(['-C', {str(tmp_path)!r}, '-p', {project_name!r}, 'doctor', '--json'])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["inotify"]["status"] == "warn", checks["inotify"]
    assert "max_user_watches" in checks["inotify"]["fix"]


def test_ca_trust_fails_on_a_base_without_the_proxy_ca_and_passes_with_ca_bundle(
    tmp_path: Path, project_name: str
) -> None:
    p = make(tmp_path, project_name, image="devstack-local/python:3.11-bare", port=free_port())
    code, checks, _ = doctor(p)
    ca = checks["ca-trust"]
    if ca["status"] == "warn":
        pytest.skip(f"no network: {ca['detail']}")
    assert code == ExitCode.DOCTOR_FAILED and ca["status"] == "fail", ca
    assert 'set ca_bundle = "' in ca["fix"]
    (tmp_path / "devstack.toml").write_text(
        'reload_command = "python3 -m http.server 8000"\n'
        'ca_bundle = "/etc/ssl/certs/ca-certificates.crt"\n'
    )
    code, checks, _ = doctor(p)
    assert checks["ca-trust"]["status"] == "pass", checks["ca-trust"]
    assert code == ExitCode.OK


def test_bind_mount_owned_by_another_user_fails(tmp_path: Path, project_name: str) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir(mode=0o777)
    code_dir.chmod(0o777)
    p = make(
        tmp_path,
        project_name,
        image="devstack-local/python:3.11",
        port=free_port(),
        toml='code_path = "code"\napp_user = "12345:12345"\n',
    )
    code, checks, _ = doctor(p)
    assert code == ExitCode.DOCTOR_FAILED
    bind = checks["bind-mount"]
    assert bind["status"] == "fail" and "uid 12345" in bind["detail"], bind
    assert "app_user" in bind["fix"]
    assert not list(code_dir.iterdir())  # the probe file is removed
