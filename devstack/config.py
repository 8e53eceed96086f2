"""Settings, resolved once: flag > DEVSTACK_* environment > config file > defaults."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from devstack.errors import ConfigError

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILE_NAMES = tuple(n.replace(".y", ".override.y") for n in COMPOSE_FILE_NAMES)
DEFAULT_MIGRATE = ("alembic", "upgrade", "head")


@dataclass(frozen=True)
class WatchSettings:
    dependency_files: tuple[str, ...] = (
        "requirements*.txt",
        "pyproject.toml",
        "uv.lock",
        "poetry.lock",
        "pdm.lock",
        "Pipfile",
        "Pipfile.lock",
        "Dockerfile",
    )
    migrations_dir: str | None = None  # default: discovered from alembic.ini
    debounce_ms: int = 400


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    compose_files: tuple[Path, ...] = ()
    project_name: str | None = None
    app_service: str | None = None  # default: discovered from the compose file
    code_path: Path | None = None  # default: the project directory
    mount_path: str = "/app"
    reload_command: tuple[str, ...] = ("/start-reload.sh",)
    migrate_command: tuple[str, ...] = DEFAULT_MIGRATE
    migrate_service: str | None = None  # default: the app service
    wait_timeout: float = 120.0
    stop_timeout: int = 5
    app_user: str | None = None  # "uid:gid"; default: the host user unless it is root
    probe_from: str = "auto"  # readiness probes: "host" handshakes, "container" clients
    ca_bundle: Path | None = None
    sync_ignore: tuple[str, ...] = ()  # .dockerignore-style patterns kept off a remote engine
    profiles: tuple[str, ...] = ()  # compose profiles: these, COMPOSE_PROFILES (shell or .env)
    test_command: tuple[str, ...] = ()  # `devstack test`; default: the project's script, pytest
    watch: WatchSettings = field(default_factory=WatchSettings)
    sources: tuple[str, ...] = ()  # where settings came from, for `devstack config --sources`
    state_path: Path | None = None  # not a key: a test copy's own folder (devstack.testrun)

    @property
    def state_dir(self) -> Path:
        return self.state_path or self.project_dir / ".devstack"

    @property
    def code_dir(self) -> Path:
        return self.code_path or self.project_dir


# ---- parsing of single values -------------------------------------------------------


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("a non-empty string")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value in ("", None) else _str(value)


def _command(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as exc:  # an unclosed quote
            raise TypeError(f"a command string with balanced quotes ({exc})") from None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError("a command string or a list of strings")


def _paths(value: Any) -> tuple[Path, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(os.pathsep, ",").split(",") if v]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(Path(v) for v in value)
    raise TypeError("a list of file paths")


def _path(value: Any) -> Path:
    return Path(_str(value))


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("a number of seconds")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise TypeError("a number of seconds") from None
    if not 0 < seconds <= 86400:
        raise TypeError("a number of seconds between 0 and 86400")
    return seconds


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a whole number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TypeError("a whole number") from None
    if number < 0 or (isinstance(value, float) and number != value):
        raise TypeError("a whole number >= 0")
    return number


def _user(value: Any) -> str:
    text = _str(str(value) if isinstance(value, int) and not isinstance(value, bool) else value)
    parts = text.split(":")
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise TypeError('"uid" or "uid:gid" (numbers)')
    return text


def _probe_from(value: Any) -> str:
    if value not in ("auto", "host", "container"):
        raise TypeError('one of "auto", "host", "container"')
    return str(value)


def _patterns(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise TypeError("a list of file name patterns")


KEYS: dict[str, Callable[[Any], Any]] = {
    "compose_files": _paths,
    "project_name": _str,
    "app_service": _str,
    "code_path": _path,
    "mount_path": _str,
    "reload_command": _command,
    "migrate_command": _command,
    "migrate_service": _str,
    "wait_timeout": _seconds,
    "stop_timeout": _int,
    "app_user": _user,
    "probe_from": _probe_from,
    "ca_bundle": _path,
    "sync_ignore": _patterns,
    "profiles": _patterns,
    "test_command": _command,
}
WATCH_KEYS: dict[str, Callable[[Any], Any]] = {
    "dependency_files": _patterns,
    "migrations_dir": _opt_str,
    "debounce_ms": _int,
}


def _parse(
    table: Mapping[str, Any], keys: Mapping[str, Callable[[Any], Any]], where: str
) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in keys:
            known = ", ".join(sorted(keys))
            raise ConfigError(f"{where}: unknown key {key!r}", hint=f"known keys: {known}")
        try:
            parsed[key] = keys[key](raw)
        except TypeError as exc:
            raise ConfigError(
                f"{where}: {key} must be {exc}, got {raw!r}",
                hint="fix the value or remove the key to use the default",
            ) from None
    return parsed


# ---- sources -----------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: a project without a settings file never needs it

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: invalid TOML: {exc}", hint="fix the syntax at that line"
        ) from None


def file_table(project_dir: Path) -> tuple[dict[str, Any], str | None]:
    """The devstack table from devstack.toml (whole file) or pyproject.toml [tool.devstack]."""
    own = project_dir / "devstack.toml"
    if own.exists():
        data = _read_toml(own)
        table = data.get("tool", {}).get("devstack", data) if "tool" in data else data
        return _as_table(table, str(own)), str(own)
    pyproject = project_dir / "pyproject.toml"
    if pyproject.exists():
        tool = _read_toml(pyproject).get("tool", {})
        if isinstance(tool, dict) and "devstack" in tool:
            where = f"{pyproject} [tool.devstack]"
            return _as_table(tool["devstack"], where), where
    return {}, None


def _as_table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
    return value


def env_table(environ: Mapping[str, str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key in KEYS:
        name = f"DEVSTACK_{key.upper()}"
        if environ.get(name):
            table[key] = environ[name]
    return table


def load(
    project_dir: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve the settings of the project in `project_dir` (default: the current directory)."""
    environ = os.environ if environ is None else environ
    root = Path(project_dir or environ.get("DEVSTACK_PROJECT_DIR") or Path.cwd())
    if not root.is_dir():
        raise ConfigError(f"project directory {root} does not exist", hint="check -C/--project-dir")
    root = root.resolve()
    if not (project_dir or environ.get("DEVSTACK_PROJECT_DIR") or overrides_files(overrides)):
        root = _search_up(root, environ)

    table, where = file_table(root)
    watch_table = table.pop("watch", {}) if isinstance(table.get("watch"), dict) else {}
    values = _parse(table, KEYS, where or "config")
    watch_values = _parse(watch_table, WATCH_KEYS, f"{where} [watch]")
    values.update(_parse(env_table(environ), KEYS, "environment (DEVSTACK_*)"))
    values.update({k: v for k, v in _parse(overrides or {}, KEYS, "command line").items()})

    sources = tuple(s for s in (where, "environment" if env_table(environ) else None) if s)
    settings = Settings(
        project_dir=root, watch=replace(WatchSettings(), **watch_values), sources=sources, **values
    )
    return _finish(settings, environ)


def overrides_files(overrides: Mapping[str, Any] | None) -> bool:
    return bool(overrides and overrides.get("compose_files"))


def _search_up(start: Path, environ: Mapping[str, str]) -> Path:
    """The project directory as compose finds it: here, or the nearest parent holding a
    compose file (or devstack's settings), unless COMPOSE_FILE names the files."""
    if environ.get("COMPOSE_FILE"):
        return start
    for here in (start, *start.parents):
        markers = (*COMPOSE_FILE_NAMES, "devstack.toml")
        if any((here / m).exists() for m in markers) or _has_devstack_table(here):
            return here
    return start


def _has_devstack_table(here: Path) -> bool:
    """A pyproject.toml with [tool.devstack] (a member's own pyproject.toml does not stop
    the search: `backend/` in a project whose compose file is one level up)."""
    try:
        return "[tool.devstack" in (here / "pyproject.toml").read_text(errors="replace")
    except OSError:
        return False


def dotenv(root: Path) -> dict[str, str]:
    """The project's `.env` (KEY=VALUE lines, optional quotes), as compose reads it for its
    own COMPOSE_* variables; {} when there is none."""
    try:
        text = (root / ".env").read_text(errors="replace")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, eq, value = line.strip().removeprefix("export ").partition("=")
        if eq and key and not key.startswith("#"):
            value = value.strip()
            if value[:1] in "'\"" and value.endswith(value[:1]) and len(value) > 1:
                value = value[1:-1]
            out[key.strip()] = value
    return out


def _finish(settings: Settings, environ: Mapping[str, str]) -> Settings:
    root = settings.project_dir
    files = tuple(f if f.is_absolute() else root / f for f in settings.compose_files)
    env = {**dotenv(root), **environ}  # the shell wins over .env, as in compose
    if not files and env.get("COMPOSE_FILE"):
        files = tuple(
            root / f
            for f in env["COMPOSE_FILE"].split(env.get("COMPOSE_PATH_SEPARATOR", os.pathsep))
            if f
        )
    profiles = [p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()]
    profiles += [p for p in settings.profiles if p not in profiles]
    if not files:
        found = [root / name for name in COMPOSE_FILE_NAMES if (root / name).exists()]
        if not found:
            raise ConfigError(
                f"no compose file in {root}",
                hint="run `devstack init` to create one, or pass -f FILE / -C DIR",
            )
        overrides = [root / n for n in OVERRIDE_FILE_NAMES if (root / n).exists()]
        files = (found[0], *overrides[:1])  # compose loads the override file with it
    for f in files:
        if not f.is_file():
            raise ConfigError(
                f"compose file {f} does not exist", hint="check -f/--file and compose_files"
            )
    code = _existing(root, settings.code_path, Path.is_dir, "code_path", "is not a directory",
                     "set code_path to your app's folder")  # fmt: skip
    ca = _existing(root, settings.ca_bundle, Path.is_file, "ca_bundle", "does not exist",
                   "point ca_bundle at a PEM file of CA certificates")  # fmt: skip
    if not settings.mount_path.startswith("/"):
        raise ConfigError(
            f"mount_path must be an absolute container path, got {settings.mount_path!r}"
        )
    return replace(
        settings, compose_files=files, code_path=code, ca_bundle=ca, profiles=tuple(profiles)
    )


def _existing(
    root: Path, path: Path | None, check: Callable[[Path], bool], key: str, problem: str, hint: str
) -> Path | None:
    """`path` made absolute against the project root, and checked to exist."""
    if path is None:
        return None
    path = path if path.is_absolute() else root / path
    if not check(path):
        raise ConfigError(f"{key} {path} {problem}", hint=hint)
    return path


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as plain data (for `devstack config --settings`)."""
    out: dict[str, Any] = {}
    for f in fields(settings):
        if f.name == "state_path":  # internal: a test copy's folder
            continue
        value = getattr(settings, f.name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) for v in value]
        elif isinstance(value, WatchSettings):
            value = {k.name: getattr(value, k.name) for k in fields(value)}
        out[f.name] = value
    return out
