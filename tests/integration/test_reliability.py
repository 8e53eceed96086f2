"""Faults, concurrency, data safety, exposure and secrets, against the real engine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import leftovers, remove_project
from tests.integration.helpers import Project, docker, free_port

pytestmark = pytest.mark.docker

SECRET = "s3cret-Redis-pass-4242"


def make(tmp_path: Path, name: str, *, app_port: int | None = None) -> Project:
    """A light stack: a python http.server as the app, Redis with a password and a volume."""
    port = app_port or free_port()
    (tmp_path / "compose.yaml").write_text(
        f"""
services:
  app:
    image: devstack-local/python:3.11
    ports: ["{port}:8000"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/')"]
      interval: 30s
    depends_on:
      redis: {{condition: service_healthy}}
  redis:
    image: devstack-local/redis:7
    command: ["redis-server", "--requirepass", "${{REDIS_PASSWORD}}",
              "--appendonly", "yes", "--dir", "/data"]
    environment:
      REDISCLI_AUTH: ${{REDIS_PASSWORD}}
    ports: ["{free_port()}:6379"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 30s
volumes:
  data:
"""
    )
    (tmp_path / ".env").write_text(f"REDIS_PASSWORD={SECRET}\n")
    (tmp_path / "devstack.toml").write_text(
        'reload_command = "python -m http.server 8000 --directory /app"\nwait_timeout = 60\n'
    )
    if os.getuid() == 0:  # a project of user 1234's: as root, the app runs as its owner
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.chown(path, 1234, 1234)
    return Project(dir=tmp_path, name=name, env={"APP_PORT": str(port)})


def redis(p: Project, *args: str) -> str:
    r = p.devstack("exec", "redis", "redis-cli", *args, check=True)
    return r.stdout.strip()


def test_port_taken_names_port_and_service(tmp_path: Path, project_name: str) -> None:
    port = free_port()
    p = make(tmp_path, project_name, app_port=port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        r = p.devstack("up")
    assert r.returncode == ExitCode.COMPOSE
    assert f"127.0.0.1:{port} is already taken" in r.stderr and "app" in r.stderr
    assert "change the service's published port" in r.stderr
    p.devstack("down", "-v", check=True)


def test_every_port_on_loopback_non_root_no_privileges(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        ids = docker(
            "ps", "-q", "--filter", f"label=com.docker.compose.project={project_name}"
        ).split()
        for info in json.loads(docker("inspect", *ids)):
            for bindings in info["NetworkSettings"]["Ports"].values():
                assert {b["HostIp"] for b in bindings or []} <= {"127.0.0.1"}
            host = info["HostConfig"]
            assert not host["Privileged"] and not host["CapAdd"]
            assert host["NetworkMode"] != "host"
            assert not any("docker.sock" in m["Source"] for m in info["Mounts"])
        # The app runs as the project's owner; files it creates in the bind mount are theirs.
        p.devstack("exec", "app", "touch", "/app/created-in-container", check=True)
        st = (tmp_path / "created-in-container").stat()
        owner = tmp_path.stat()
        assert (st.st_uid, st.st_gid) == (owner.st_uid, owner.st_gid) != (0, 0)
        uid = p.devstack("exec", "app", "id", "-u", check=True).stdout.strip()
        assert uid == str(owner.st_uid)
    finally:
        p.devstack("down", "-v")


def test_no_secret_in_any_output(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name)
    outputs = []
    try:
        for args in (
            ["-v", "up"],
            ["-v", "ps"],
            ["-v", "config"],
            ["--json", "config"],
            ["-v", "logs"],
        ):
            r = p.devstack(*args)
            assert r.returncode == 0, (args, r.stderr)
            outputs.append(r.stdout + r.stderr)
        # An error message, verbose, with the failing command's stderr.
        outputs.append(
            p.devstack("-v", "exec", "redis", "sh", "-c", "echo $REDISCLI_AUTH; exit 3").stderr
        )
        outputs.append(p.devstack("-v", "down").stderr)
    finally:
        p.devstack("down", "-v")
    everything = "\n".join(outputs)
    assert "redis-cli" in everything or "compose" in everything  # the -v logs were there
    assert SECRET not in everything


def test_concurrent_up_waits_and_projects_are_isolated(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path / "a", project_name) if (tmp_path / "a").mkdir() is None else None
    assert p is not None
    (tmp_path / "b").mkdir()
    other = make(tmp_path / "b", project_name + "-b")
    try:
        first = p.popen("up")
        time.sleep(0.5)
        second = p.popen("up")
        third = other.popen("up")
        outs = [proc.communicate(timeout=180) for proc in (first, second, third)]
        assert [proc.returncode for proc in (first, second, third)] == [0, 0, 0], outs
        assert "waiting for devstack up" in outs[1][1]  # the second waited for the lock
        assert "waiting for" not in outs[2][1]  # another project runs side by side
        assert redis(p, "ping") == "PONG" and redis(other, "ping") == "PONG"
        p.devstack("down", "-v", check=True)
        assert redis(other, "ping") == "PONG"  # untouched by the first project's down
    finally:
        p.devstack("down", "-v")
        other.devstack("down", "-v")
        remove_project(project_name + "-b")
    assert not any(leftovers(project_name + "-b").values())


def test_data_survives_kill_9_of_devstack_mid_up(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        redis(p, "set", "precious", "42")
        p.devstack("down", check=True)
        proc = p.popen("up")
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        r = p.devstack("up")
        assert r.returncode == 0, r.stderr
        assert redis(p, "get", "precious") == "42"
    finally:
        p.devstack("down", "-v")


def test_down_v_is_the_only_way_to_lose_volumes(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name)
    p.devstack("up", check=True)
    redis(p, "set", "k", "v")
    for args in (["down"], ["up"], ["down"], ["down"], ["migrate", "--help"]):
        p.devstack(*args)
    assert len(leftovers(project_name)["volumes"]) == 1
    p.devstack("up", check=True)
    assert redis(p, "get", "k") == "v"
    r = p.devstack("down", "-v", check=True)
    assert f"deleted volumes: {project_name}_data" in r.stdout
    assert not any(leftovers(project_name).values())


def test_soak_up_down_cycles_leak_nothing(tmp_path: Path, project_name: str) -> None:
    def owned() -> set[str]:
        """Every container, network and volume that is ours or no compose project's
        (other projects may come and go meanwhile)."""
        found = set()
        fmt = '{{.ID}} {{.Label "com.docker.compose.project"}}'
        for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
            for line in docker(
                *kind, "--format", fmt.replace(".ID", ".Name" if kind[0] == "volume" else ".ID")
            ).splitlines():
                ident, _, project = line.partition(" ")
                if project in ("", project_name):
                    found.add(f"{kind[0]}:{ident}")
        return found

    p = make(tmp_path, project_name)
    cycles = int(os.environ.get("DEVSTACK_SOAK_CYCLES", "20"))
    before = owned()
    for _ in range(cycles):
        p.devstack("up", check=True)
        p.devstack("down", check=True)
    p.devstack("down", "-v", check=True)
    assert owned() <= before, owned() - before
    assert not any(leftovers(project_name).values())


def test_sigint_during_migration_removes_the_one_off(tmp_path: Path, project_name: str) -> None:
    p = make(tmp_path, project_name)
    (tmp_path / "devstack.toml").write_text(
        'reload_command = "python -m http.server 8000 --directory /app"\n'
        "migrate_command = \"sh -c 'echo migrating; sleep 60'\"\n"
    )
    proc = p.popen("migrate")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not leftovers(project_name)["containers"][1:]:
        time.sleep(0.2)  # redis, then the one-off
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    names = docker(
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        f"label=com.docker.compose.project={project_name}",
    )
    assert "migrate" not in names, names
    p.devstack("down", "-v", check=True)
    subprocess.run(["true"], check=True)
