"""Compose's start order as devstack reads it: conditions, one-shots, scale, the app rule."""

from __future__ import annotations

from pathlib import Path

from devstack import config, overlay
from devstack.delivery import BindMount
from devstack.engine.state import parse_state
from devstack.project import app_service, from_config
from devstack.runtime.recipe import Recipe


def _settings(tmp_path: Path) -> config.Settings:
    return config.Settings(project_dir=tmp_path)


TEMPLATE = {
    "services": {
        "db": {"image": "postgres", "healthcheck": {"test": ["CMD", "pg_isready"]}},
        "prestart": {
            "build": {"context": "."},
            "command": ["bash", "scripts/prestart.sh"],
            "depends_on": {"db": {"condition": "service_healthy", "required": True}},
        },
        "backend": {
            "build": {"context": "."},
            "depends_on": {
                "db": {"condition": "service_healthy", "restart": True},
                "prestart": {"condition": "service_completed_successfully"},
            },
        },
        "frontend": {"build": {"context": "frontend"}, "depends_on": ["backend"]},
        "adminer": {"image": "adminer", "depends_on": ["db"], "deploy": {"replicas": 0}},
    }
}


def test_waves_follow_conditions_and_put_the_app_alone(tmp_path: Path) -> None:
    project = from_config(TEMPLATE, _settings(tmp_path))
    assert project.app == "backend" and project.app_reason == "named backend"
    assert project.oneshots == {"prestart"}
    assert project.services["backend"].conditions == {
        "db": "service_healthy",
        "prestart": "service_completed_successfully",
    }
    assert project.waves(project.services) == [["db"], ["prestart"], ["backend"], ["frontend"]]
    # scale 0: never started, never waited on, even when named
    assert "adminer" not in project.start_order(["adminer", "frontend"])


def test_the_app_waits_in_a_wave_of_its_own(tmp_path: Path) -> None:
    cfg = {"services": {"app": {"build": {}}, "redis": {"image": "redis"}, "w": {"image": "x"}}}
    project = from_config(cfg, _settings(tmp_path))
    assert project.waves(["app", "redis", "w"]) == [["redis", "w"], ["app"]]


def test_one_rule_for_the_app_service() -> None:
    assert app_service({"app": {}, "api": {"build": {}}}) == ("app", "named app")
    assert app_service({"web": {"image": "nginx"}, "svc": {"build": {}}})[0] == "svc"
    assert app_service({"web": {"image": "nginx"}, "db": {}}) == ("", "none")
    assert app_service({"a": {"build": {}}, "api": {"build": {}}})[0] == "api"
    assert app_service({"a": {"build": {}}, "b": {"build": {}}}) == ("", "none")
    assert app_service({"a": {}}, "a") == ("a", "configured")


def test_a_oneshot_gets_no_health_check_in_the_overlay(tmp_path: Path) -> None:
    project = from_config(TEMPLATE, _settings(tmp_path))
    settings = _settings(tmp_path)
    fragment = BindMount().app_fragment(Recipe(settings), settings.state_dir)
    services = overlay.render(project, settings, fragment)["services"]
    assert services["prestart"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in services.get("db", {})


def test_finished_containers_are_shown_completed_or_exited() -> None:
    def state(status: str, code: int, health: str | None, one_shot: bool = True) -> str:
        raw = {"Id": "x", "State": {"Status": status, "ExitCode": code}}
        if health:
            raw["State"]["Health"] = {"Status": health}  # type: ignore[index]
        return parse_state(raw).shown_state(one_shot=one_shot)

    assert state("exited", 0, "unhealthy") == "completed"
    assert state("exited", 3, None) == "exited (3)"
    assert state("running", 0, "healthy") == "running"
    # a service meant to keep running that stopped (the engine restarted) is not "completed"
    assert state("exited", 0, None, one_shot=False) == "exited (0)"


def test_a_oneshot_service_that_runs_the_migrations_is_recognised(tmp_path: Path) -> None:
    from devstack import migrations
    from devstack.stack import Stack

    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "prestart.sh"
    script.write_text("set -e\npython app/backend_pre_start.py\nalembic upgrade head\n")
    settings = _settings(tmp_path)
    project = from_config(TEMPLATE, settings)
    s = Stack(settings=settings, project=project, engine=None)  # type: ignore[arg-type]
    assert migrations.run_by_prestart(s) == "the prestart service (scripts/prestart.sh)"
    script.write_text("python app/backend_pre_start.py\n# alembic upgrade head: not here\n")
    assert migrations.run_by_prestart(s) is None
    direct = {**TEMPLATE["services"]}
    direct["prestart"] = {**direct["prestart"], "command": ["alembic", "upgrade", "head"]}
    s = Stack(settings=settings, project=from_config({"services": direct}, settings), engine=None)  # type: ignore[arg-type]
    assert migrations.run_by_prestart(s) == "the prestart service (`alembic upgrade head`)"


def test_config_says_how_one_shots_and_scaled_down_services_are_waited_on(
    tmp_path: Path,
) -> None:
    from devstack.readiness.probes import described
    from tests.unit.fake_engine import FakeEngine

    project = from_config(TEMPLATE, _settings(tmp_path))
    how = described(project, FakeEngine({}))  # no image here has a HEALTHCHECK
    assert how["prestart"].startswith("until it exits 0")
    assert how["adminer"] == "never started (scale 0)"
