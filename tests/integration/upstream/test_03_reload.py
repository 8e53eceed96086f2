"""upstream tests/test_03_reload: the base app under /start-reload.sh, edited in place."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.upstream.harness import HELLO, Box, assert_prestart_ran, reloaded

Run = Callable[..., Box]


def serving_on(address: str) -> Callable[[Box, str], None]:
    def verify(app: Box, text: str) -> None:
        logs = app.logs()
        assert_prestart_ran(logs)
        assert f"Uvicorn running on http://{address}" in logs
        assert app.get() == text

    return verify


def test_defaults(box: Run) -> None:
    app = box("base", command=("/start-reload.sh",))
    reloaded(app, serving_on("0.0.0.0:80"), "/app/main.py", HELLO)


def test_env_vars_1(box: Run) -> None:
    app = box(
        "base", env={"PORT": "8000", "LOG_LEVEL": "debug"}, port=8000, command=("/start-reload.sh",)
    )
    reloaded(app, serving_on("0.0.0.0:80"), "/app/main.py", HELLO)


def test_env_vars_2(box: Run) -> None:
    app = box("base", env={"HOST": "127.0.0.1"}, command=("/start-reload.sh",))
    app.wait_healthy()
    logs = app.logs()
    assert_prestart_ran(logs)
    assert "Uvicorn running on http://127.0.0.1:80" in logs
