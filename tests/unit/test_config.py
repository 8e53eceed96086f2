"""Config precedence, validation and discovery (no engine)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack import config
from devstack.errors import ConfigError, ExitCode


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text("services: {app: {image: x}}\n")
    return tmp_path


def test_defaults_discover_compose_file(project: Path) -> None:
    s = config.load(project, environ={})
    assert s.compose_files == (project / "compose.yaml",)
    assert s.migrate_command == ("alembic", "upgrade", "head")
    assert s.wait_timeout == 120
    assert s.code_dir == project
    assert s.mount_path == "/app"


def test_precedence_flag_over_env_over_file(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.devstack]\nwait_timeout = 30\napp_service = "web"\n'
    )
    env = {"DEVSTACK_WAIT_TIMEOUT": "40"}
    assert config.load(project, environ={}).wait_timeout == 30
    assert config.load(project, environ=env).wait_timeout == 40
    assert config.load(project, environ=env, overrides={"wait_timeout": 50}).wait_timeout == 50
    assert config.load(project, environ=env).app_service == "web"


def test_devstack_toml_wins_over_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.devstack]\nwait_timeout = 30\n")
    (project / "devstack.toml").write_text("wait_timeout = 10\n")
    assert config.load(project, environ={}).wait_timeout == 10


def test_migrate_command_string_or_list(project: Path) -> None:
    (project / "devstack.toml").write_text('migrate_command = "python manage.py migrate"\n')
    assert config.load(project, environ={}).migrate_command == ("python", "manage.py", "migrate")
    (project / "devstack.toml").write_text('migrate_command = ["alembic", "upgrade", "heads"]\n')
    assert config.load(project, environ={}).migrate_command == ("alembic", "upgrade", "heads")


def test_unknown_key_names_file_and_key(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.devstack]\nwait_timout = 3\n")
    with pytest.raises(ConfigError) as err:
        config.load(project, environ={})
    assert "pyproject.toml" in err.value.message and "wait_timout" in err.value.message
    assert err.value.exit_code == ExitCode.USAGE
    assert "wait_timeout" in (err.value.hint or "")


def test_wrong_type_names_key_and_expected_type(project: Path) -> None:
    (project / "devstack.toml").write_text('wait_timeout = "soon"\n')
    with pytest.raises(ConfigError) as err:
        config.load(project, environ={})
    assert "wait_timeout must be a number of seconds" in err.value.message
    assert "devstack.toml" in err.value.message


def test_bad_env_value_is_a_config_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="environment"):
        config.load(project, environ={"DEVSTACK_STOP_TIMEOUT": "x"})


def test_invalid_toml_names_the_file(project: Path) -> None:
    (project / "devstack.toml").write_text("wait_timeout = = 3\n")
    with pytest.raises(ConfigError, match=r"devstack\.toml: invalid TOML"):
        config.load(project, environ={})


def test_missing_compose_file_and_project_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no compose file"):
        config.load(tmp_path, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope", environ={})
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    with pytest.raises(ConfigError, match=r"other\.yaml does not exist"):
        config.load(tmp_path, environ={}, overrides={"compose_files": ["other.yaml"]})


def test_code_path_must_exist(project: Path) -> None:
    (project / "devstack.toml").write_text('code_path = "src"\n')
    with pytest.raises(ConfigError, match="code_path"):
        config.load(project, environ={})
    (project / "src").mkdir()
    assert config.load(project, environ={}).code_dir == project / "src"


def test_watch_table(project: Path) -> None:
    (project / "devstack.toml").write_text(
        '[watch]\ndependency_files = ["reqs.txt"]\ndebounce_ms = 100\n'
    )
    s = config.load(project, environ={})
    assert s.watch.dependency_files == ("reqs.txt",)
    assert s.watch.debounce_ms == 100
    (project / "devstack.toml").write_text("[watch]\nbogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        config.load(project, environ={})


def test_compose_file_env_var(project: Path) -> None:
    (project / "other.yaml").write_text("services: {}\n")
    s = config.load(project, environ={"COMPOSE_FILE": "other.yaml"})
    assert s.compose_files == (project / "other.yaml",)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=st.dictionaries(st.sampled_from([*config.KEYS, "watch", "other"]), _values, max_size=5)
)
def test_fuzz_any_table_gives_settings_or_config_error(
    project: Path, table: dict[str, object]
) -> None:
    with contextlib.suppress(ConfigError):
        config._parse({k: v for k, v in table.items() if k != "watch"}, config.KEYS, "fuzz")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_fuzz_any_file_text_gives_settings_or_config_error(project: Path, text: str) -> None:
    (project / "devstack.toml").write_text(text)
    with contextlib.suppress(ConfigError):
        config.load(project, environ={})


def test_unclosed_quote_in_command_is_a_config_error(project: Path) -> None:
    (project / "devstack.toml").write_text('migrate_command = "alembic upgrade \'head"\n')
    with pytest.raises(ConfigError, match="balanced quotes"):
        config.load(project, environ={})
