"""The conformance corpus (tests/conformance/): each small compose project is brought up
by `docker compose up --wait` and by `devstack up` under two project names, and the
outcomes are compared: success or failure, the services, their containers' states and
exit codes. devstack's documented differences are asserted as such: its exit codes (4 a
service, 2 the configuration; compose exits 1), published ports on 127.0.0.1, and the
one-shot services shown "completed" by `ps --json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, leftovers, remove_project

CORPUS = ROOT / "tests" / "conformance"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.toml").is_file())
TIMEOUT = "60"


def _case(name: str) -> dict[str, Any]:
    return tomllib.loads((CORPUS / name / "case.toml").read_text())


@pytest.fixture
def names(docker_engine: None) -> Iterator[tuple[str, str]]:
    pair = (f"dsconf-{uuid.uuid4().hex[:8]}", f"dsconf-{uuid.uuid4().hex[:8]}")
    yield pair
    for name in pair:
        remove_project(name)
        built = subprocess.run(
            ["docker", "image", "ls", "-q", "--filter", f"label=com.docker.compose.project={name}"],
            capture_output=True, text=True, check=False,
        ).stdout.split()  # fmt: skip
        if built:
            subprocess.run(["docker", "image", "rm", "-f", *set(built)], capture_output=True)
        assert not any(leftovers(name).values()), f"{name} leaked"


def _containers(project: str) -> list[dict[str, Any]]:
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}",
         "--filter", "label=com.docker.compose.oneoff=False"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not ids:
        return []
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True)
    found: list[dict[str, Any]] = json.loads(out.stdout)
    return found


def _states(project: str) -> dict[str, list[str]]:
    """service -> sorted container states ("running", "exited 0", ...)."""
    states: dict[str, list[str]] = {}
    for c in _containers(project):
        service = c["Config"]["Labels"]["com.docker.compose.service"]
        st = c["State"]
        shown = st["Status"] if st["Status"] != "exited" else f"exited {st['ExitCode']}"
        states.setdefault(service, []).append(shown)
    return {k: sorted(v) for k, v in sorted(states.items())}


def _host_ips(project: str) -> set[str]:
    return {
        b["HostIp"]
        for c in _containers(project)
        for bindings in (c["NetworkSettings"]["Ports"] or {}).values()
        for b in bindings or []
    }


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", CASES)
def test_devstack_up_matches_compose_up_wait(
    case: str, names: tuple[str, str], tmp_path: Path
) -> None:
    spec = _case(case)
    work = tmp_path / case
    shutil.copytree(CORPUS / case, work)
    cwd = work / spec.get("cwd", ".")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DEVSTACK_"))}
    env.update(spec.get("env", {}))
    files = spec.get("files", [])
    profiles = [a for p in spec.get("profiles", []) for a in ("--profile", p)]
    args = spec.get("services", [])
    compose_name, devstack_name = names

    f_args = [a for f in files for a in ("-f", f)]
    # devstack finds the files as compose does: several of them through COMPOSE_FILE
    ds_env = {**env, **({"COMPOSE_FILE": os.pathsep.join(files)} if files else {})}
    # side by side (two project names, ports the engine picks): the corpus runs in half the time
    with ThreadPoolExecutor(2) as pool:
        compose_run = pool.submit(
            _run,
            ["docker", "compose", *f_args, *profiles, "-p", compose_name, "up", "--wait",
             "--wait-timeout", TIMEOUT, *args],
            cwd, env,
        )  # fmt: skip
        devstack_run = pool.submit(
            _run,
            [sys.executable, "-m", "devstack", "-p", devstack_name, "up",
             "--wait-timeout", TIMEOUT, *profiles, *args],
            cwd, ds_env,
        )  # fmt: skip
        compose, devstack = compose_run.result(), devstack_run.result()
    said = f"compose:\n{compose.stderr}\ndevstack:\n{devstack.stdout}\n{devstack.stderr}"

    assert (compose.returncode == 0) is spec["ok"], said
    assert (devstack.returncode == 0) is spec["ok"], said
    if not spec["ok"]:
        assert compose.returncode == 1, said
        assert devstack.returncode == spec["exit"], said  # devstack's own codes (README)
        assert "Traceback" not in devstack.stderr, said
    if "message" in spec:
        assert spec["message"] in devstack.stderr, said
    if spec.get("failing"):  # the failing service ended the same way under both
        failing = spec["failing"]
        assert _states(compose_name)[failing] == _states(devstack_name)[failing], said
    elif spec["ok"]:  # the same services, the same states and exit codes
        assert _states(compose_name) == _states(devstack_name), said
        # compose publishes on every address; devstack on 127.0.0.1 (documented)
        ds_ips = _host_ips(devstack_name)
        assert ds_ips <= {"127.0.0.1"}, ds_ips
        assert not ds_ips or _host_ips(compose_name) <= {"0.0.0.0", "::", ""}
        ps = subprocess.run(
            [sys.executable, "-m", "devstack", "-p", devstack_name, "--json", "ps"],
            cwd=cwd, env=ds_env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        for row in json.loads(ps.stdout):
            assert "unhealthy" not in row["health"], row
            if row["exit_code"] == 0:
                assert row["state"] == "completed", row
    for name in names:
        subprocess.run(
            ["docker", "compose", "-p", name, "down", "-t", "0", "-v"],
            cwd=cwd, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
