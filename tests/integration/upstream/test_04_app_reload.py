"""upstream tests/test_04_app_reload: apps of other shapes under /start-reload.sh (and one
under /start.sh, as upstream's test_package_app there is)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.upstream.harness import (
    TEST_APP,
    Box,
    assert_prestart_ran,
    reloaded,
    restarted,
)

Run = Callable[..., Box]
RELOAD = ("/start-reload.sh",)


def serving(app: Box, text: str) -> None:
    logs = app.logs()
    assert_prestart_ran(logs)
    assert "Uvicorn running on http://0.0.0.0:80" in logs
    assert app.get() == text


@pytest.mark.parametrize(
    "env",
    [
        {"MODULE_NAME": "custom_app.custom_main", "VARIABLE_NAME": "custom_var"},
        {"APP_MODULE": "custom_app.custom_main:custom_var"},
    ],
)
def test_custom_app(box: Run, env: dict[str, str]) -> None:
    app = box("custom_app_reload", env=env, command=RELOAD)
    reloaded(app, serving, "/app/custom_app/custom_main.py", TEST_APP)


def test_package_app(box: Run) -> None:
    def verify(app: Box) -> None:
        config = app.config()
        assert config["workers_per_core"] == 1
        assert config["host"] == "0.0.0.0"
        assert config["port"] == "80"
        assert config["loglevel"] == "info"
        assert config["workers"] >= 2  # type: ignore[operator]
        assert config["bind"] == "0.0.0.0:80"
        assert_prestart_ran(app.logs())
        assert app.get() == TEST_APP

    restarted(box("package_app"), verify)


def test_simple_app(box: Run) -> None:
    reloaded(box("simple_app", command=RELOAD), serving, "/app/main.py", TEST_APP)
