"""`devstack init`: scaffold devstack into an existing FastAPI project, never overwriting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import ConfigError

TEMPLATES = Path(__file__).parent / "templates"
RECIPE_DIR = "docker"  # where the app image recipe goes in the user's project

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


def recipe_source() -> Path:
    """The app image recipe: inside the installed package, or compose/ in a checkout."""
    for candidate in (Path(__file__).parent / "_recipe", Path(__file__).parent.parent / "compose"):
        if (candidate / "Dockerfile").is_file():
            return candidate
    raise ConfigError(
        "devstack's app image recipe is missing from this installation", hint="reinstall devstack"
    )


def app_module(directory: Path) -> str:
    if (directory / "app" / "main.py").is_file():
        return "app.main:app"
    if (directory / "main.py").is_file():
        return "main:app"
    raise ConfigError(
        f"no FastAPI app found in {directory} (looked for app/main.py and main.py)",
        hint="run `devstack init` in your project's root, where app/main.py or main.py is",
    )


def compose_text(postgres: bool) -> str:
    text = (TEMPLATES / "compose.yaml").read_text()
    db_url = "      DATABASE_URL: postgresql+psycopg://app:${POSTGRES_PASSWORD}@db:5432/app\n"
    depends = "      db:\n        condition: service_healthy\n"
    for key, value in {
        "@@DATABASE_URL@@\n": db_url if postgres else "",
        "@@APP_DEPENDS@@\n": depends if postgres else "",
        "@@DB_SERVICE@@\n": _DB_SERVICE if postgres else "",
        "@@DB_VOLUME@@\n": "  db-data:\n" if postgres else "",
    }.items():
        text = text.replace(key, value)
    return text


def init(directory: Path, *, postgres: bool = True, force: bool = False) -> InitResult:
    directory = directory.resolve()
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory", hint="pass your project's folder")
    module = app_module(directory)
    written: list[str] = []
    skipped: list[str] = []

    def put(rel: str, text: str, mode: int = 0o644) -> None:
        path = directory / rel
        if path.exists() and not force:
            skipped.append(rel)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        written.append(rel)

    source = recipe_source()
    for item in sorted(source.rglob("*")):
        if item.is_file() and "__pycache__" not in item.parts:
            rel = f"{RECIPE_DIR}/{item.relative_to(source)}"
            put(rel, item.read_text(), item.stat().st_mode & 0o777)
    put(".dockerignore", (source / "dockerignore").read_text())  # the image's build context
    put("compose.yaml", compose_text(postgres))
    env = f"REDIS_PASSWORD={secrets.token_urlsafe(18)}\n"
    if postgres:
        env += f"POSTGRES_PASSWORD={secrets.token_urlsafe(18)}\n"
    put(".env", "# Local secrets for the development stack; never commit.\n" + env, 0o600)
    _ensure_lines(directory / ".gitignore", [".env", ".devstack/"], written)
    _tool_section(directory, written, skipped)
    return InitResult(str(directory), module, tuple(written), tuple(skipped))


def _ensure_lines(path: Path, lines: list[str], written: list[str]) -> None:
    text = path.read_text() if path.exists() else ""
    missing = [line for line in lines if line not in text.splitlines()]
    if missing:
        with path.open("a") as fh:
            if text and not text.endswith("\n"):
                fh.write("\n")
            fh.write("\n".join(missing) + "\n")
        written.append(path.name)


def _tool_section(directory: Path, written: list[str], skipped: list[str]) -> None:
    pyproject = directory / "pyproject.toml"
    if pyproject.exists():
        if "[tool.devstack]" in pyproject.read_text():
            skipped.append("pyproject.toml [tool.devstack]")
            return
        with pyproject.open("a") as fh:
            fh.write(_TOOL_SECTION)
        written.append("pyproject.toml [tool.devstack]")
        return
    own = directory / "devstack.toml"
    if own.exists():
        skipped.append("devstack.toml")
        return
    own.write_text(_TOOL_SECTION.replace("[tool.devstack]\n", "").lstrip())
    written.append("devstack.toml")
