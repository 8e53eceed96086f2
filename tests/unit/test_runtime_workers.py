"""The image runtime: CPUs from cgroup v1/v2 limits and cpusets, the worker formula, and the
gunicorn settings every environment variable feeds (fake cgroup trees, no engine)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit import runtime_module
from tests.unit.runtime_module import RUNTIME_DIR

rt = runtime_module.load()
cpus = runtime_module.load("devstack_cpus")
V1_PROC = "".join(
    f"{i}:{c}:/docker/abc\n" for i, c in enumerate(["cpu,cpuacct", "cpuset", "memory"], 1)
)


def fake(root: Path, files: dict[str, str], proc: str = "0::/\n") -> Path:
    """A fake /sys/fs/cgroup under root; returns the fake /proc/self/cgroup."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n")
    proc_file = root.parent / "proc-self-cgroup"
    proc_file.write_text(proc)
    return proc_file


def cores(root: Path, proc: Path, usable: int = 8) -> int:
    return int(cpus.cores(root, proc, usable=lambda: usable))


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000", 8),
        ("100000 100000", 1),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("400000 100000", 4),
        ("1600000 100000", 8),
    ],
)
def test_cgroup_v2_cpu_max(tmp_path: Path, cpu_max: str, expected: int) -> None:
    proc = fake(tmp_path / "cg", {"cpu.max": cpu_max})
    assert cores(tmp_path / "cg", proc) == expected


def test_cgroup_v2_nested_path_from_proc(tmp_path: Path) -> None:
    proc = fake(
        tmp_path / "cg",
        {"system.slice/x.scope/cpu.max": "200000 100000"},
        "0::/system.slice/x.scope\n",
    )
    assert cores(tmp_path / "cg", proc) == 2


@pytest.mark.parametrize(
    ("quota", "period", "expected"),
    [("-1", "100000", 8), ("100000", "100000", 1), ("250000", "100000", 3), ("30000", "100000", 1)],
)
@pytest.mark.parametrize("subdir", ["cpu", "cpu,cpuacct"])
def test_cgroup_v1_cfs_quota(
    tmp_path: Path, quota: str, period: str, expected: int, subdir: str
) -> None:
    files = {f"{subdir}/cpu.cfs_quota_us": quota, f"{subdir}/cpu.cfs_period_us": period}
    proc = fake(tmp_path / "cg", files, V1_PROC)
    assert cores(tmp_path / "cg", proc) == expected


def test_cgroup_v1_host_namespace_path(tmp_path: Path) -> None:
    """Docker 20.10 on cgroup v1: the container's directory may sit at its /proc path."""
    files = {
        "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000",
        "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
    }
    proc = fake(tmp_path / "cg", files, V1_PROC)
    assert cores(tmp_path / "cg", proc) == 2


def test_no_cgroup_files_means_usable_cpus(tmp_path: Path) -> None:
    proc = fake(tmp_path / "cg", {})
    assert cores(tmp_path / "cg", proc, usable=3) == 3
    assert cpus.cpu_limit(tmp_path / "nowhere", tmp_path / "nothing") is None


def test_limit_never_exceeds_usable_cpus(tmp_path: Path) -> None:
    proc = fake(tmp_path / "cg", {"cpu.max": "800000 100000"})
    assert cores(tmp_path / "cg", proc, usable=2) == 2


@pytest.mark.parametrize(
    ("text", "count"), [("0", 1), ("0-3", 4), ("0-3,6", 5), ("0,2,4-5", 4), ("1-1\n", 1)]
)
def test_parse_cpuset(text: str, count: int) -> None:
    assert cpus.parse_cpuset(text) == count


@pytest.mark.parametrize(
    ("files", "count"),
    [({"cpuset.cpus.effective": "0-2"}, 3), ({"cpuset/cpuset.cpus": "0,3"}, 2), ({}, None)],
)
def test_usable_cpus_from_cpuset_files(
    tmp_path: Path, files: dict[str, str], count: int | None
) -> None:
    fake(tmp_path / "cg", files)
    expected = count if count is not None else os.cpu_count()
    assert cpus.usable_cpus(tmp_path / "cg", affinity=False) == expected


def test_usable_cpus_follows_affinity() -> None:
    assert cpus.usable_cpus() == len(os.sched_getaffinity(0))


def test_cpuset_and_limit_feed_workers(tmp_path: Path) -> None:
    """--cpuset-cpus 0 with defaults: 1 core, 2 workers; --cpus 1 and 3 per core: 3."""
    fake(tmp_path / "a", {"cpuset/cpuset.cpus": "0"})
    one = cpus.cores(
        tmp_path / "a",
        tmp_path / "none",
        usable=lambda: cpus.usable_cpus(tmp_path / "a", affinity=False),
    )
    assert one == 1 and rt.workers({}, one) == 2
    proc = fake(tmp_path / "b", {"cpu.max": "100000 100000"})
    assert rt.workers({"WORKERS_PER_CORE": "3"}, cores(tmp_path / "b", proc)) == 3


@pytest.mark.parametrize(
    ("env", "n_cores", "expected"),
    [
        ({}, 1, 2),
        ({}, 4, 4),
        ({"WORKERS_PER_CORE": "3"}, 1, 3),
        ({"WORKERS_PER_CORE": "0.5"}, 3, 2),
        ({"WORKERS_PER_CORE": "0.5"}, 8, 4),
        ({"MAX_WORKERS": "3"}, 8, 3),
        ({"MAX_WORKERS": "1"}, 8, 1),
        ({"MAX_WORKERS": "10"}, 4, 4),
        ({"WEB_CONCURRENCY": "5", "MAX_WORKERS": "2", "WORKERS_PER_CORE": "9"}, 8, 5),
        ({"WEB_CONCURRENCY": "", "WORKERS_PER_CORE": ""}, 3, 3),
        # On a cluster one server process per container, unless a worker setting is explicit.
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, 8, 1),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "WEB_CONCURRENCY": "3"}, 8, 3),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "MAX_WORKERS": "4"}, 8, 4),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "WORKERS_PER_CORE": "0.5"}, 8, 4),
        ({"KUBERNETES_SERVICE_HOST": ""}, 8, 8),
    ],
)
def test_worker_formula(env: dict[str, str], n_cores: int, expected: int) -> None:
    assert rt.workers(env, n_cores) == expected


def test_start_line_says_why() -> None:
    cluster = rt.start_line({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, 8)
    assert cluster.startswith("devstack: 1 worker (KUBERNETES_SERVICE_HOST is set")
    assert "WEB_CONCURRENCY or MAX_WORKERS" in cluster
    assert rt.start_line({}, 1) == (
        "devstack: 2 workers (WORKERS_PER_CORE 1 x 1 CPU, at least 2); "
        "worker class uvicorn_worker.UvicornWorker; 1 usable CPU"
    )
    capped = rt.start_line({"MAX_WORKERS": "3", "WORKER_CLASS": "my.W"}, 8)
    assert capped.startswith("devstack: 3 workers (WORKERS_PER_CORE 1 x 8 CPUs, at least 2, at")
    assert "worker class my.W; 8 usable CPUs" in capped


def test_web_concurrency_must_be_positive() -> None:
    with pytest.raises(rt.RuntimeFailure, match="WEB_CONCURRENCY"):
        rt.workers({"WEB_CONCURRENCY": "0"}, 2)


def test_settings_are_tiangolos_keys_in_order() -> None:
    settings = rt.gunicorn_settings({}, 1)
    assert list(settings.items()) == [
        ("loglevel", "info"),
        ("workers", 2),
        ("bind", "0.0.0.0:80"),
        ("graceful_timeout", 120),
        ("timeout", 120),
        ("keepalive", 5),
        ("errorlog", "-"),
        ("accesslog", "-"),
        ("workers_per_core", 1.0),
        ("use_max_workers", None),
        ("host", "0.0.0.0"),
        ("port", "80"),
    ]
    assert rt.facts({}, 1) == {
        "cores": 1,
        "worker_class": "uvicorn_worker.UvicornWorker",
        "workers_reason": "WORKERS_PER_CORE 1 x 1 CPU, at least 2",
    }


def test_settings_every_variable() -> None:
    env = {
        "LOG_LEVEL": "warning",
        "WEB_CONCURRENCY": "7",
        "HOST": "127.0.0.1",
        "PORT": "8000",
        "WORKER_CLASS": "my.Worker",
        "GRACEFUL_TIMEOUT": "5",
        "TIMEOUT": "30",
        "KEEP_ALIVE": "2",
        "ERROR_LOG": "/tmp/e.log",
        "ACCESS_LOG": "",
        "MAX_WORKERS": "9",
        "WORKERS_PER_CORE": "2",
    }
    settings = rt.gunicorn_settings(env, 4)
    assert settings["loglevel"] == "warning"
    assert settings["workers"] == 7
    assert settings["bind"] == "127.0.0.1:8000"
    assert (settings["host"], settings["port"]) == ("127.0.0.1", "8000")
    assert (settings["graceful_timeout"], settings["timeout"], settings["keepalive"]) == (5, 30, 2)
    assert settings["errorlog"] == "/tmp/e.log"
    assert settings["accesslog"] is None
    assert settings["use_max_workers"] == 9
    assert settings["workers_per_core"] == 2.0
    assert rt.gunicorn_settings({"ERROR_LOG": ""}, 1)["errorlog"] is None
    assert rt.worker_class(env) == "my.Worker"


def test_bind_wins_but_host_and_port_are_reported_as_given() -> None:
    """tiangolo's BIND semantics: gunicorn binds BIND; "host"/"port" stay HOST's and PORT's."""
    env = {"BIND": "0.0.0.0:8080", "HOST": "127.0.0.1", "PORT": "9000", "MAX_WORKERS": "1"}
    settings = rt.gunicorn_settings(env, 4)
    assert (settings["bind"], settings["host"], settings["port"]) == (
        "0.0.0.0:8080",
        "127.0.0.1",
        "9000",
    )
    assert (settings["workers"], settings["use_max_workers"]) == (1, 1)
    assert rt.reload_address(env) == ("127.0.0.1", 9000)


def test_builtin_gunicorn_conf_sets_and_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {
        "WEB_CONCURRENCY": "3",
        "BIND": "127.0.0.1:9001",
        "ACCESS_LOG": "",
        "LOG_LEVEL": "debug",
        "KEEP_ALIVE": "9",
    }.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("__config__", RUNTIME_DIR / "gunicorn_conf.py")
    assert spec and spec.loader
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert (conf.workers, conf.bind, conf.accesslog, conf.loglevel) == (
        3,
        "127.0.0.1:9001",
        None,
        "debug",
    )
    assert conf.keepalive == 9 and conf.errorlog == "-" and conf.worker_tmp_dir == "/dev/shm"
    assert conf.worker_class == "uvicorn_worker.UvicornWorker"
    settings, start = capsys.readouterr().out.splitlines()
    assert json.loads(settings)["workers"] == 3
    assert start.startswith("devstack: 3 workers (WEB_CONCURRENCY)")


def test_builtin_gunicorn_conf_as_a_script_prints_one_json_line() -> None:
    """What tiangolo's tests run (`python gunicorn_conf.py`): JSON and nothing else."""
    done = subprocess.run(
        [sys.executable, str(RUNTIME_DIR / "gunicorn_conf.py")],
        env={"PORT": "8000", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["port"] == "8000"
