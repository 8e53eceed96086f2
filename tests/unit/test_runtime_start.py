"""The image runtime (compose/runtime): app discovery, config search, argv of both starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.unit import runtime_module
from tests.unit.runtime_module import RUNTIME_DIR

rt = runtime_module.load()


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("files", "env", "expected"),
    [
        (["app/main.py"], {}, "app.main:app"),
        (["main.py"], {}, "main:app"),
        (["app/main.py", "main.py"], {}, "app.main:app"),
        ([], {}, "app.main:app"),
        (["main.py"], {"VARIABLE_NAME": "api"}, "main:api"),
        (["app/main.py"], {"MODULE_NAME": "svc.web"}, "svc.web:app"),
        (["main.py"], {"MODULE_NAME": "x", "APP_MODULE": "custom.mod:create"}, "custom.mod:create"),
    ],
)
def test_app_module_discovery(
    tmp_path: Path, files: list[str], env: dict[str, str], expected: str
) -> None:
    for name in files:
        touch(tmp_path / name)
    assert rt.app_module(env, tmp_path) == expected


def test_gunicorn_conf_search_order(tmp_path: Path) -> None:
    assert rt.gunicorn_conf({}, tmp_path) == str(rt.BUILTIN_GUNICORN_CONF)
    nested = touch(tmp_path / "app" / "gunicorn_conf.py")
    assert rt.gunicorn_conf({}, tmp_path) == str(nested)
    top = touch(tmp_path / "gunicorn_conf.py")
    assert rt.gunicorn_conf({}, tmp_path) == str(top)
    assert rt.gunicorn_conf({"GUNICORN_CONF": "/etc/g.py"}, tmp_path) == "/etc/g.py"


def test_builtin_gunicorn_conf_exists() -> None:
    assert rt.BUILTIN_GUNICORN_CONF == RUNTIME_DIR / "gunicorn_conf.py"
    assert rt.BUILTIN_GUNICORN_CONF.is_file()


def test_start_argv_gunicorn_with_uvicorn_worker(tmp_path: Path) -> None:
    touch(tmp_path / "main.py")
    argv = rt.start_argv({}, tmp_path)
    assert argv[:2] == [sys.executable, str(rt.HERE / "devstack_gunicorn.py")]
    assert argv[2:] == [
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-c",
        str(rt.BUILTIN_GUNICORN_CONF),
        "main:app",
    ]
    custom = rt.start_argv({"WORKER_CLASS": "my.Worker", "GUNICORN_CONF": "/g.py"}, tmp_path)
    assert custom[2:6] == ["-k", "my.Worker", "-c", "/g.py"]


def test_reload_argv_defaults(tmp_path: Path) -> None:
    touch(tmp_path / "app" / "main.py")
    argv = rt.reload_argv({}, tmp_path)
    assert argv[:2] == [sys.executable, str(rt.HERE / "devstack_warm.py")]  # warm by default
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == "80"
    assert argv[argv.index("--log-level") + 1] == "info"
    assert argv[-1] == "app.main:app"


def test_reload_argv_honours_host_port_log_level_app_module(tmp_path: Path) -> None:
    env = {"HOST": "127.0.0.1", "PORT": "8000", "LOG_LEVEL": "debug", "APP_MODULE": "m:a"}
    argv = rt.reload_argv(env, tmp_path)
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "8000"
    assert argv[argv.index("--log-level") + 1] == "debug"
    assert argv[-1] == "m:a"
    # As tiangolo's /start-reload.sh: HOST and PORT; BIND is gunicorn's and is ignored.
    bound = rt.reload_argv({"BIND": "0.0.0.0:8080", "HOST": "::", "PORT": "9000"}, tmp_path)
    assert bound[bound.index("--host") + 1 : bound.index("--port") + 2] == ["::", "--port", "9000"]
    with pytest.raises(rt.RuntimeFailure, match="PORT"):
        rt.reload_argv({"PORT": "eighty"}, tmp_path)


def test_reload_excludes_noisy_trees(tmp_path: Path) -> None:
    for name in (".venv/lib", "web/node_modules/x", ".git", "app/__pycache__", "app/ok"):
        (tmp_path / name).mkdir(parents=True)
    argv = rt.reload_argv({"APP_MODULE": "m:a"}, tmp_path)
    excludes = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--reload-exclude"}
    for name in (".venv", "web/node_modules", ".git", "app/__pycache__"):
        assert str(tmp_path / name) in excludes
    assert {".venv/*", "__pycache__/*", "node_modules/*", ".git/*", ".devstack/*"} <= excludes
    assert not any("app/ok" in e for e in excludes)
    # Nothing inside an excluded tree is listed again.
    assert str(tmp_path / ".venv" / "lib") not in excludes


def test_reload_mode_uvicorn_switches_back(tmp_path: Path) -> None:
    argv = rt.reload_argv({"RELOAD_MODE": "uvicorn", "APP_MODULE": "m:a"}, tmp_path)
    assert argv[:3] == [sys.executable, str(rt.HERE / "devstack_uvicorn.py"), "--reload"]


@pytest.mark.parametrize("mode", ["", "warm"])
def test_reload_mode_warm_keeps_the_same_options(tmp_path: Path, mode: str) -> None:
    warm = rt.reload_argv({"RELOAD_MODE": mode, "APP_MODULE": "m:a"}, tmp_path)
    plain = rt.reload_argv({"RELOAD_MODE": "uvicorn", "APP_MODULE": "m:a"}, tmp_path)
    assert warm[1] == str(rt.HERE / "devstack_warm.py")
    assert warm[2:] == plain[3:]


def test_reload_mode_unknown(tmp_path: Path) -> None:
    with pytest.raises(rt.RuntimeFailure, match="use one of"):
        rt.reload_argv({"RELOAD_MODE": "fast"}, tmp_path)


def test_reload_env_never_reads_or_writes_tree_bytecode() -> None:
    env = rt.reload_env({"WATCHFILES_FORCE_POLLING": "true", "KEEP": "1"})
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    prefix = Path(env["PYTHONPYCACHEPREFIX"])
    assert prefix.is_dir() and not any(prefix.iterdir())
    assert env["WATCHFILES_FORCE_POLLING"] == "true" and env["KEEP"] == "1"
    prefix.rmdir()


def test_prestart_sourced_and_its_exports_kept(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    script = touch(tmp_path / "prestart.sh", 'echo hello\nexport FROM_PRESTART="a b"\n')
    env = rt.prestart({"PRE_START_PATH": str(script), "KEEP": "1", "PATH": "/usr/bin:/bin"})
    assert env["FROM_PRESTART"] == "a b"
    assert env["KEEP"] == "1"
    # tiangolo's log lines, which users and tools grep for, in order.
    assert capfd.readouterr().out.splitlines() == [
        f"Checking for script in {script}",
        f"Running script {script}",
        "hello",
    ]


def test_prestart_missing_is_skipped(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    env = {"PRE_START_PATH": str(tmp_path / "none.sh"), "KEEP": "1"}
    assert rt.prestart(env) == env
    assert capfd.readouterr().out.splitlines() == [
        f"Checking for script in {tmp_path / 'none.sh'}",
        f"There is no script {tmp_path / 'none.sh'}",
    ]


def test_prestart_failure_fails_the_start(tmp_path: Path) -> None:
    script = touch(tmp_path / "prestart.sh", "false\necho not reached\n")
    with pytest.raises(rt.RuntimeFailure, match="exited 1"):
        rt.prestart({"PRE_START_PATH": str(script), "PATH": "/usr/bin:/bin"})


def test_main_usage_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert rt.main(["nope"]) == 2
    assert "start|start-reload|health|wait" in capsys.readouterr().out
    assert rt.main(["settings"]) == 0
    assert '"workers"' in capsys.readouterr().out


def test_reload_env_uses_the_build_time_library_prefix(tmp_path: Path) -> None:
    env = rt.reload_env({"DEVSTACK_PYCACHE": str(tmp_path)})
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    missing = rt.reload_env({"DEVSTACK_PYCACHE": str(tmp_path / "gone")})
    assert Path(missing["PYTHONPYCACHEPREFIX"]).is_dir()
    Path(missing["PYTHONPYCACHEPREFIX"]).rmdir()
