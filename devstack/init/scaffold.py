"""`devstack init`: scaffold devstack into an existing FastAPI project, never overwriting."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devstack.config import COMPOSE_FILE_NAMES
from devstack.errors import ConfigError
from devstack.init import dependencies
from devstack.init.recipe import recipe_source

TEMPLATES = Path(__file__).parent.parent / "templates"
RECIPE_DIR = "docker"  # where the app image recipe goes in the user's project
INIT_HEADER = "# Created by `devstack init`"

_DB_SERVICE = """  db:
    image: ${POSTGRES_IMAGE:-postgres:16}
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
      POSTGRES_DB: app
    volumes:
      - db-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U app -d app -h 127.0.0.1"]
      interval: 5s
      timeout: 3s
      retries: 10
"""

_TOOL_SECTION = """
[tool.devstack]
# See devstack's README for every key. Defaults are discovered from compose.yaml.
app_service = "app"
migrate_command = "alembic upgrade head"
wait_timeout = 120
"""


@dataclass(frozen=True)
class InitResult:
    directory: str
    app_module: str
    written: tuple[str, ...]
    skipped: tuple[str, ...]
    dependencies: str = ""  # "poetry (poetry.lock)": what the recipe will install from
    adopted: tuple[str, ...] = ()  # the user's own compose files, kept untouched
    advice: tuple[str, ...] = ()  # what the user should change, where devstack would not
    runs: str = ""  # how devstack runs a project's own image


Env = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Layout:
    """Where the FastAPI app is, as the image's runtime will import it."""

    module: str  # "app.main:app"
    env: Env = ()  # MODULE_NAME/VARIABLE_NAME/PYTHONPATH it needs


_FASTAPI = re.compile(r"^(\w+)\s*(?::[^=]+)?=\s*(?:fastapi\.)?FastAPI\(", re.MULTILINE)


def _variable(main: Path) -> str:
    found = _FASTAPI.search(main.read_text(errors="replace"))
    return found.group(1) if found else "app"


def find_app(directory: Path) -> Layout:
    """app/main.py and main.py as the seed's image finds them; else one package's main.py
    (MODULE_NAME) or a src/ layout (MODULE_NAME and PYTHONPATH=/app/src)."""
    candidates: list[tuple[Path, str, Env]] = [
        (directory / "app" / "main.py", "app.main", ()),
        (directory / "main.py", "main", ()),
    ]
    roots: tuple[tuple[Path, Env], ...] = (
        (directory, ()),
        (directory / "src", (("PYTHONPATH", "/app/src"),)),
    )
    for prefix, path_env in roots:
        for main in sorted(prefix.glob("*/main.py")):
            package = main.parent.name
            if package.isidentifier() and package not in ("app", "tests", "docker"):
                candidates.append(
                    (main, f"{package}.main", (("MODULE_NAME", f"{package}.main"), *path_env))
                )
    for main, module, env in candidates:
        if main.is_file():
            variable = _variable(main)
            extra: Env = (("VARIABLE_NAME", variable),) if variable != "app" else ()
            return Layout(f"{module}:{variable}", (*env, *extra))
    raise ConfigError(
        f"no FastAPI app found in {directory} "
        "(looked for app/main.py, main.py, PACKAGE/main.py and src/PACKAGE/main.py)",
        hint="run `devstack init` in your project's root, where app/main.py or main.py is",
    )


def compose_text(
    postgres: bool, env: tuple[tuple[str, str], ...] = (), python: str = "python:3.12-slim"
) -> str:
    """init's compose.yaml; `python`: the default PYTHON_IMAGE (requires-python decides it)."""
    text = (TEMPLATES / "compose.yaml").read_text().replace("python:3.12-slim", python)
    app_env = "".join(f"      {key}: {value}\n" for key, value in env)
    db_url = "      DATABASE_URL: postgresql+psycopg://app:${POSTGRES_PASSWORD}@db:5432/app\n"
    depends = "      db:\n        condition: service_healthy\n"
    for key, value in {
        "@@DATABASE_URL@@\n": db_url if postgres else "",
        "@@APP_ENV@@\n": app_env,
        "@@APP_DEPENDS@@\n": depends if postgres else "",
        "@@DB_SERVICE@@\n": _DB_SERVICE if postgres else "",
        "@@DB_VOLUME@@\n": "  db-data:\n" if postgres else "",
    }.items():
        text = text.replace(key, value)
    return text


def scaffold(directory: Path, *, postgres: bool = True, force: bool = False) -> InitResult:
    """The recipe, a compose.yaml, a .env of random passwords and [tool.devstack], for a
    project with no compose files of its own. A code_path in [tool.devstack] says where the
    app is (the recipe copies that folder to /app; the dependencies stay read from here)."""
    code = _code_path(directory)
    layout = find_app(code or directory)
    deps = dependencies.detect(directory)
    written: list[str] = []
    skipped: list[str] = []
    put = writer(directory, written, skipped, force)
    copy_recipe(put, RECIPE_DIR)
    put(".dockerignore", (recipe_source() / "dockerignore").read_text())  # the build context
    text = compose_text(postgres, layout.env, dependencies.python_image(directory))
    if code is not None:  # the app's folder: APP_DIR, the dependencies from the root
        rel = code.resolve().relative_to(directory.resolve()).as_posix()
        text = text.replace(
            "        DEVSTACK_DIR: docker\n",
            f"        DEVSTACK_DIR: docker\n        APP_DIR: {rel}\n        DEPS_DIR: .\n",
        )
    put("compose.yaml", text)
    env = f"REDIS_PASSWORD={secrets.token_urlsafe(18)}\n"
    if postgres:
        env += f"POSTGRES_PASSWORD={secrets.token_urlsafe(18)}\n"
    put(".env", "# Local secrets for the development stack; never commit.\n" + env, 0o600)
    _ensure_lines(directory / ".gitignore", [".env", ".devstack/"], written)
    _tool_section(directory, written, skipped)
    return InitResult(
        str(directory), layout.module, tuple(written), tuple(skipped), deps.describe()
    )


def _code_path(directory: Path) -> Path | None:
    """code_path from [tool.devstack], checked to be a folder inside the project."""
    from devstack.config import file_table

    table, where = file_table(directory)
    value = table.get("code_path")
    if not isinstance(value, str) or not value:
        return None
    path = (directory / value).resolve()
    if not path.is_dir() or directory.resolve() not in (path, *path.parents):
        raise ConfigError(
            f"{where}: code_path {path} is not a folder of {directory}",
            hint="set code_path to your app's folder inside the project",
        )
    return path


def user_compose_files(directory: Path) -> list[Path]:
    """The project's own compose files (not one `devstack init` wrote), base then override."""
    found = []
    for name in COMPOSE_FILE_NAMES:
        path = directory / name
        if path.is_file() and not path.read_text(errors="replace").startswith(INIT_HEADER):
            found.append(path)
            override = path.with_name(path.name.replace(".y", ".override.y"))
            if override.is_file():
                found.append(override)
            break
    return found


Put = Callable[..., None]


def writer(directory: Path, written: list[str], skipped: list[str], force: bool) -> Put:
    """A function writing one file of the scaffold: never over an existing one without force."""

    def put(rel: str, text: str, mode: int = 0o644) -> None:
        path = directory / rel
        if path.exists() and not force:
            skipped.append(rel)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        written.append(rel)

    return put


def copy_recipe(put: Put, where: str) -> None:
    source = recipe_source()
    for item in sorted(source.rglob("*")):
        if item.is_file() and "__pycache__" not in item.parts:
            put(
                f"{where}/{item.relative_to(source)}", item.read_text(), item.stat().st_mode & 0o777
            )


def _ensure_lines(path: Path, lines: list[str], written: list[str]) -> None:
    text = path.read_text() if path.exists() else ""
    missing = [line for line in lines if line not in text.splitlines()]
    if missing:
        with path.open("a") as fh:
            if text and not text.endswith("\n"):
                fh.write("\n")
            fh.write("\n".join(missing) + "\n")
        written.append(path.name)


def _tool_section(
    directory: Path, written: list[str], skipped: list[str], section: str = _TOOL_SECTION
) -> None:
    pyproject = directory / "pyproject.toml"
    if pyproject.exists():
        if "[tool.devstack]" in pyproject.read_text():
            skipped.append("pyproject.toml [tool.devstack]")
            return
        with pyproject.open("a") as fh:
            fh.write(section)
        written.append("pyproject.toml [tool.devstack]")
        return
    own = directory / "devstack.toml"
    if own.exists():
        skipped.append("devstack.toml")
        return
    own.write_text(section.replace("[tool.devstack]\n", "").lstrip())
    written.append("devstack.toml")
