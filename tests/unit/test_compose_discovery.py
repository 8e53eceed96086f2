"""Compose's own project discovery, as devstack resolves it before compose runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import config

SERVICE = "services:\n  s:\n    image: x\n"


def test_compose_file_and_profiles_from_dotenv_and_the_shell(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(SERVICE)
    (tmp_path / "dev.yaml").write_text(SERVICE)
    (tmp_path / ".env").write_text('COMPOSE_FILE="stack.yaml:dev.yaml"\nCOMPOSE_PROFILES=a,b\n')
    s = config.load(tmp_path, environ={})
    assert s.compose_files == (tmp_path / "stack.yaml", tmp_path / "dev.yaml")
    assert s.profiles == ("a", "b")
    s = config.load(tmp_path, environ={"COMPOSE_PROFILES": "c"}, overrides={"profiles": ["d"]})
    assert s.profiles == ("c", "d")  # the shell wins over .env, the flag adds


def test_the_override_file_is_loaded_with_the_compose_file(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(SERVICE)
    (tmp_path / "compose.override.yaml").write_text(SERVICE)
    s = config.load(tmp_path, environ={})
    assert s.compose_files == (tmp_path / "compose.yaml", tmp_path / "compose.override.yaml")


def test_a_compose_file_in_a_parent_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "compose.yaml").write_text(SERVICE)
    deeper = tmp_path / "backend" / "app"
    deeper.mkdir(parents=True)
    (tmp_path / "backend" / "pyproject.toml").write_text('[project]\nname = "app"\n')
    monkeypatch.chdir(deeper)
    s = config.load(environ={})
    assert s.project_dir == tmp_path and s.compose_files == (tmp_path / "compose.yaml",)
    with pytest.raises(config.ConfigError, match="no compose file"):
        config.load(deeper, environ={})  # -C names the directory: no search
