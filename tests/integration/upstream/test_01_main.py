"""upstream tests/test_01_main: the base app under /start.sh, with and without settings."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.upstream.harness import (
    DEFAULT_WORKER,
    HELLO,
    Box,
    assert_prestart_ran,
    restarted,
)

Run = Callable[..., Box]


def test_defaults(box: Run) -> None:
    def verify(app: Box) -> None:
        assert app.get() == HELLO
        config = app.config()
        assert config["workers_per_core"] == 1
        assert config["use_max_workers"] is None
        assert config["host"] == "0.0.0.0"
        assert config["port"] == "80"
        assert config["loglevel"] == "info"
        assert config["workers"] >= 2  # type: ignore[operator]
        assert config["bind"] == "0.0.0.0:80"
        assert config["graceful_timeout"] == 120
        assert config["timeout"] == 120
        assert config["keepalive"] == 5
        assert config["errorlog"] == "-"
        assert config["accesslog"] == "-"
        logs = app.logs()
        assert_prestart_ran(logs)
        assert '"GET / HTTP/1.1" 200' in logs
        assert "[INFO] Application startup complete." in logs
        assert DEFAULT_WORKER in logs

    restarted(box("base"), verify)


def test_env_vars_1(box: Run) -> None:
    env = {
        "WORKERS_PER_CORE": "2",
        "PORT": "8000",
        "LOG_LEVEL": "warning",
        "GRACEFUL_TIMEOUT": "20",
        "TIMEOUT": "20",
        "KEEP_ALIVE": "20",
        "ACCESS_LOG": "",
        "ERROR_LOG": "",
    }

    def verify(app: Box) -> None:
        assert app.get() == HELLO
        config = app.config()
        assert config["workers_per_core"] == 2
        assert config["host"] == "0.0.0.0"
        assert config["port"] == "8000"
        assert config["loglevel"] == "warning"
        assert config["bind"] == "0.0.0.0:8000"
        assert config["graceful_timeout"] == 20
        assert config["timeout"] == 20
        assert config["keepalive"] == 20
        assert config["errorlog"] is None
        assert config["accesslog"] is None
        logs = app.logs()
        assert_prestart_ran(logs)
        assert '"GET / HTTP/1.1" 200' not in logs
        assert "[INFO] Application startup complete." not in logs

    restarted(box("base", env=env, port=8000), verify)


def test_env_vars_2(box: Run) -> None:
    env = {
        "WEB_CONCURRENCY": "1",
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "warning",
        "GUNICORN_CMD_ARGS": "--log-level debug",
        "WORKER_CLASS": "uvicorn.workers.UvicornH11Worker",
    }

    def verify(app: Box) -> None:
        config = app.config()
        assert config["workers"] == 1
        assert len(app.gunicorn_processes()) == 2  # the master and one worker
        assert config["host"] == "127.0.0.1"
        assert config["port"] == "80"
        assert config["loglevel"] == "warning"
        assert config["bind"] == "127.0.0.1:80"
        assert config["graceful_timeout"] == 120
        assert config["timeout"] == 120
        assert config["keepalive"] == 5
        assert config["errorlog"] == "-"
        assert config["accesslog"] == "-"
        logs = app.logs()
        assert_prestart_ran(logs)
        assert "loglevel: debug" in logs
        assert "Using worker: uvicorn.workers.UvicornH11Worker" in logs

    restarted(box("base", env=env), verify, published=False)


def test_env_bind(box: Run) -> None:
    env = {"BIND": "0.0.0.0:8080", "HOST": "127.0.0.1", "PORT": "9000", "MAX_WORKERS": "1"}

    def verify(app: Box) -> None:
        config = app.config()
        assert config["workers"] == 1
        assert len(app.gunicorn_processes()) == 2  # the master and one worker
        assert config["host"] == "127.0.0.1"
        assert config["port"] == "9000"
        assert config["bind"] == "0.0.0.0:8080"
        assert config["use_max_workers"] == 1
        assert_prestart_ran(app.logs())
        assert app.get() == HELLO

    restarted(box("base", env=env, port=8080), verify)
