"""upstream tiangolo/uvicorn-gunicorn-fastapi-docker tests/test_01_main/test_defaults.py."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.upstream.harness import (
    DEFAULT_WORKER,
    PYTHON_VERSION,
    Box,
    assert_prestart_ran,
    restarted,
)

Run = Callable[..., Box]
MESSAGE = (
    f"Hello world! From FastAPI running on Uvicorn with Gunicorn. Using Python {PYTHON_VERSION}"
)


def test_defaults(box: Run) -> None:
    def verify(app: Box) -> None:
        assert json.loads(app.get())["message"] == MESSAGE
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

    restarted(box("fastapi"), verify)
