"""doctor's checks of the project against its own files (no engine)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from devstack import app_checks
from devstack.config import Settings
from devstack.runtime import choose
from tests.unit.test_runtime_own import template


def _stack(runtime: Any, app: str = "backend", reload: tuple[str, ...] = ()) -> Any:
    settings = SimpleNamespace(reload_command=reload or Settings.reload_command)
    return SimpleNamespace(runtime=runtime, project=SimpleNamespace(app=app), settings=settings)


def test_recipe_default_port_beside_a_template_that_publishes_8000() -> None:
    recipe = SimpleNamespace(kind="recipe")
    spec = {
        "ports": [{"target": 8000, "published": "8000"}],
        "healthcheck": {"test": ["CMD", "curl", "-f", "http://localhost:8000/api/health"]},
    }
    check = app_checks.app_port(_stack(recipe), spec)
    assert check.status == "fail"
    assert check.detail == (
        "backend listens on 80 (the recipe's default, PORT 80), but publishes 8000 and its "
        "health check asks port 8000"
    )


def test_own_image_listens_where_its_command_says(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    spec = model["services"]["backend"]
    spec["healthcheck"] = {"test": ["CMD", "curl", "-f", "http://localhost:8000/"]}
    check = app_checks.app_port(_stack(choose(model, "backend", settings)), spec)
    assert check.status == "pass", check
    assert "listens on 8000 (`fastapi run --reload app/main.py`)" in check.detail


def test_nested_mount_that_would_create_a_folder_in_the_tree_is_a_warning(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    spec = model["services"]["backend"]
    spec["volumes"].append({"type": "bind", "source": str(tmp_path / "data"),
                            "target": "/app/backend/data"})  # fmt: skip
    stack = _stack(choose(model, "backend", settings))
    stack.settings = settings
    check = app_checks.nested(stack, spec)
    assert check.status == "warn"
    assert "/app/backend/htmlcov dropped" in check.detail
    assert "creates backend/data in your tree" in check.detail


def test_one_shot_services_and_how_they_are_waited_on() -> None:
    services = {
        "prestart": {"restart": "always"},
        "backend": {
            "depends_on": {
                "prestart": {"condition": "service_completed_successfully"},
                "db": {"condition": "service_healthy"},
            }
        },
        "db": {},
    }
    check = app_checks.one_shot(services)
    assert check.status == "warn" and "prestart runs once to the end; backend start(s)" in (
        check.detail
    )
    assert "restart: always" in check.detail
    services["prestart"] = {}
    assert app_checks.one_shot(services).status == "pass"
    assert app_checks.one_shot({"a": {}}).detail == "no service waits on another to finish"


def test_a_reload_command_of_the_users_own_is_read_or_left_unjudged(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    recipe = SimpleNamespace(kind="recipe", placement=choose(model, "backend", settings).placement)
    spec = {"ports": [{"target": 8000}]}
    mine = ("python3", "-m", "http.server", "8000")
    check = app_checks.app_port(_stack(recipe, reload=mine), spec)
    assert check.status == "skip" and "is not one devstack reads" in check.detail
    uvicorn = ("uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--reload")
    assert app_checks.app_port(_stack(recipe, reload=uvicorn), spec).status == "pass"
