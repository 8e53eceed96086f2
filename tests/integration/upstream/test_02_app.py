"""upstream tests/test_02_app: apps of other shapes and configs under /start.sh."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.upstream.harness import TEST_APP, Box, assert_prestart_ran, restarted

Run = Callable[..., Box]


def default_config(app: Box) -> None:
    config = app.config()
    assert config["workers_per_core"] == 1
    assert config["host"] == "0.0.0.0"
    assert config["port"] == "80"
    assert config["loglevel"] == "info"
    assert config["workers"] >= 2  # type: ignore[operator]
    assert config["bind"] == "0.0.0.0:80"


def own_config(app: Box, path: str) -> None:
    assert app.gunicorn_conf_path() == path
    config = app.config()
    assert config["loglevel"] == "warning"
    assert config["workers"] == 3
    assert config["bind"] == "0.0.0.0:8000"


CUSTOM = {"MODULE_NAME": "custom_app.custom_main", "VARIABLE_NAME": "custom_var"}
CUSTOM_MODULE = {"APP_MODULE": "custom_app.custom_main:custom_var"}
CUSTOM_PRESTART = {"PRE_START_PATH": "/app/custom_app/custom-prestart.sh"}
INSIDE = "Running inside /app/prestart.sh, you could add migrations to this file"


@pytest.mark.parametrize(
    ("env", "prestart"),
    [
        (CUSTOM, INSIDE),
        (CUSTOM_MODULE, INSIDE),
        ({**CUSTOM, **CUSTOM_PRESTART}, "Custom prestart script"),
        ({**CUSTOM_MODULE, **CUSTOM_PRESTART}, "Custom prestart script"),
    ],
)
def test_custom_app(box: Run, env: dict[str, str], prestart: str) -> None:
    def verify(app: Box) -> None:
        default_config(app)
        assert prestart in app.logs()
        assert app.get() == TEST_APP

    restarted(box("custom_app", env=env), verify)


def test_package_app(box: Run) -> None:
    def verify(app: Box) -> None:
        default_config(app)
        assert_prestart_ran(app.logs())
        assert app.get() == TEST_APP

    restarted(box("package_app"), verify)


def own_config_app(box: Run, kind: str, path: str, env: dict[str, str] | None = None) -> None:
    def verify(app: Box) -> None:
        own_config(app, path)
        assert_prestart_ran(app.logs())
        assert app.get() == TEST_APP

    restarted(box(kind, env=env, port=8000), verify)


def test_package_app_config(box: Run) -> None:
    own_config_app(box, "package_app_config", "/app/gunicorn_conf.py")


def test_package_app_custom_config(box: Run) -> None:
    path = "/app/custom_gunicorn_conf.py"
    own_config_app(box, "package_app_custom_config", path, {"GUNICORN_CONF": path})


def test_package_app_sub_config(box: Run) -> None:
    own_config_app(box, "package_app_sub_config", "/app/app/gunicorn_conf.py")


def test_simple_app(box: Run) -> None:
    def verify(app: Box) -> None:
        default_config(app)
        assert_prestart_ran(app.logs())
        assert app.get() == TEST_APP

    restarted(box("simple_app"), verify)
