"""The generated overlay and the project model (no engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import config, overlay
from devstack.delivery.bind import BindMount
from devstack.errors import ConfigError
from devstack.project import from_config
from devstack.runtime.recipe import Recipe

CONFIG = {
    "name": "demo",
    "services": {
        "app": {
            "build": {"context": "."},
            "ports": [{"target": 80, "published": "8000", "protocol": "tcp", "mode": "ingress"}],
            "depends_on": {"db": {"condition": "service_healthy"}},
        },
        "db": {
            "image": "postgres",
            "ports": [{"target": 5432, "published": "5432", "host_ip": "0.0.0.0"}],
        },
        "cache": {"image": "redis", "depends_on": {"db": {}}},
    },
}


@pytest.fixture
def settings(tmp_path: Path) -> config.Settings:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    return config.load(tmp_path, environ={}, overrides={"app_user": "1000:1000"})


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor(
    "!override", lambda loader, node: loader.construct_sequence(node, deep=True)
)


def test_overlay_binds_ports_to_loopback_unless_host_set(settings: config.Settings) -> None:
    project = from_config(CONFIG, settings)
    data = overlay.render(project, settings, mounted(settings))
    app = data["services"]["app"]
    assert app["ports"][0]["host_ip"] == "127.0.0.1"
    assert "db" not in data["services"]  # explicit 0.0.0.0 kept: the user chose it
    hold = settings.state_dir / "hold"
    assert app["volumes"] == [
        {"type": "bind", "source": str(settings.project_dir), "target": "/app"},
        {"type": "bind", "source": str(hold), "target": "/devstack-hold", "read_only": True},
    ]
    # the reloader runs behind the wait `up` holds it with while it migrates (hold.py)
    assert app["command"][:2] == ["/bin/sh", "-c"] and "/devstack-hold/held" in app["command"][2]
    assert app["command"][3:] == ["devstack-hold", "/start-reload.sh"]
    assert app["user"] == "1000:1000"
    assert "privileged" not in app and "network_mode" not in app and "cap_add" not in app


def test_overlay_file_uses_override_tag_and_gitignore(settings: config.Settings) -> None:
    project = from_config(CONFIG, settings)
    path = overlay.write(project, settings, mounted(settings))
    text = path.read_text()
    assert "ports: !override" in text
    assert yaml.load(text, Loader=_Loader)["services"]["app"]["ports"][0]["host_ip"] == "127.0.0.1"
    assert (settings.state_dir / ".gitignore").read_text().strip().endswith("*")


def test_app_user_is_the_host_user_or_as_root_the_code_owner(
    settings: config.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = config.Settings(project_dir=settings.project_dir)
    st = settings.project_dir.stat()
    monkeypatch.setattr(overlay.os, "getuid", lambda: 0)
    owner = f"{st.st_uid}:{st.st_gid}"
    assert overlay.app_user(plain) == owner
    app = overlay.render(from_config(CONFIG, plain), plain, mounted(plain))["services"]["app"]
    assert app["user"] == owner
    if overlay.is_root(owner):  # uid 0 for ownership only: no capabilities
        assert app["cap_drop"] == ["ALL"] and app["security_opt"] == ["no-new-privileges:true"]
    monkeypatch.setattr(overlay.os, "getuid", lambda: 1001)
    monkeypatch.setattr(overlay.os, "getgid", lambda: 1002)
    assert overlay.app_user(plain) == "1001:1002"
    app = overlay.render(from_config(CONFIG, plain), plain, mounted(plain))["services"]["app"]
    assert app["user"] == "1001:1002" and "cap_drop" not in app


def test_start_order_and_unknown_services(settings: config.Settings) -> None:
    project = from_config(CONFIG, settings)
    assert project.app == "app"
    assert project.start_order(["app"]) == ["db", "app"]
    assert project.start_order(["cache", "app"]) == ["db", "cache", "app"]
    with pytest.raises(ConfigError, match="unknown service nope"):
        project.start_order(["nope"])


def test_app_discovery(settings: config.Settings) -> None:
    two_builds = {"services": {"a": {"build": {}}, "b": {"build": {}}}}
    project = from_config(two_builds, settings)  # no app: it still comes up, as compose would
    assert project.app == "" and project.app_reason == "none"
    assert "app service: none found" in project.app_note()
    with pytest.raises(ConfigError, match="needs the app service"):
        project.require_app("devstack watch")
    assert "user" not in str(overlay.render(project, settings, mounted(settings)))  # no app: none
    assert from_config({"services": {"web": {"build": {}}, "db": {}}}, settings).app == "web"
    bad = config.Settings(project_dir=settings.project_dir, app_service="nope")
    with pytest.raises(ConfigError, match="app_service 'nope'"):
        from_config(CONFIG, bad)


def mounted(settings: config.Settings) -> dict[str, Any]:
    """The bind mount's app fragment for `settings`."""
    return BindMount().app_fragment(Recipe(settings), settings.state_dir)
