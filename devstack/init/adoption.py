"""`devstack init` in a project that already has compose files: adopt them, never edit them.

devstack finds the app service and its dependencies in the user's files, writes only what
is missing (the recipe, .dockerignore, [tool.devstack] naming the files), and says what the
user should change where a change is needed (an app built FROM tiangolo's image).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from devstack.errors import ConfigError
from devstack.init import dependencies
from devstack.init.recipe import recipe_source
from devstack.init.scaffold import (
    RECIPE_DIR,
    Env,
    InitResult,
    _tool_section,
    copy_recipe,
    find_app,
    writer,
)
from devstack.project import app_service

_TIANGOLO = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(tiangolo/uvicorn-gunicorn\S*)", re.I | re.M)
_PWD = re.compile(r"^\$\{?PWD\}?/?")


def _services(files: list[Path]) -> dict[str, dict[str, Any]]:
    """The services of the files, each override merged over the base (volumes added)."""
    merged: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}", hint="fix the compose file") from None
        for name, spec in (data.get("services") or {}).items():
            into = merged.setdefault(name, {})
            for key, value in (spec or {}).items():
                if key == "volumes" and isinstance(value, list):
                    into[key] = [*into.get(key, []), *value]
                else:
                    into[key] = value
    if not merged:
        raise ConfigError(f"{files[0].name} defines no services", hint="add your services first")
    return merged


def _app_service(services: dict[str, dict[str, Any]]) -> str:
    """The app service by the same rule as `devstack up` (project.app_service)."""
    app, _ = app_service(services)
    if app:
        return app
    raise ConfigError(
        "cannot tell which service of your compose files is the FastAPI app",
        hint='add [tool.devstack] app_service = "NAME" to pyproject.toml, then run init again',
    )


def _bind_source(volume: Any, target: str) -> str | None:
    """The host path of a bind mount onto `target` ("./app:/app", "$PWD/app:/app", long form)."""
    if isinstance(volume, dict):
        source, where = str(volume.get("source", "")), str(volume.get("target", ""))
    else:
        source, _, rest = str(volume).partition(":")
        where = rest.split(":")[0]
    if where.rstrip("/") != target or not source.startswith((".", "/", "$")):
        return None
    return _PWD.sub("./", source)


def adopt(directory: Path, files: list[Path], *, force: bool = False) -> InitResult:
    services = _services(files)
    app = _app_service(services)
    spec = services[app]
    build = spec.get("build")
    build = {"context": build} if isinstance(build, str) else dict(build or {})
    context = (directory / str(build.get("context", "."))).resolve()
    code = context
    for volume in spec.get("volumes") or []:
        source = _bind_source(volume, "/app")
        if source:
            code = (directory / source).resolve() if not source.startswith("/") else Path(source)
    deps_dir = context
    try:
        deps = dependencies.detect(context)
    except ConfigError:
        deps_dir, deps = code, dependencies.detect(code)  # exit 2 when neither can be read
    if deps.manager == "none" and code != context:
        deps_dir, deps = code, dependencies.detect(code)
    env = _environment(spec)
    if env.get("APP_MODULE") or env.get("MODULE_NAME"):  # the user's own choice, as the seed's
        module = (
            env.get("APP_MODULE") or f"{env['MODULE_NAME']}:{env.get('VARIABLE_NAME') or 'app'}"
        )
        needed: Env = ()
    else:
        layout = find_app(code)
        module, needed = layout.module, layout.env

    written: list[str] = []
    skipped: list[str] = []
    put = writer(directory, written, skipped, force)
    recipe = _rel(context / RECIPE_DIR, directory)
    copy_recipe(put, recipe)
    put(
        f"{_rel(context, directory)}/.dockerignore".removeprefix("./"),
        (recipe_source() / "dockerignore").read_text(),
    )
    names = ", ".join(f'"{f.name}"' for f in files)
    section = "\n[tool.devstack]\n# Adopted by `devstack init`: your own compose files.\n"
    section += f'compose_files = [{names}]\napp_service = "{app}"\n'
    if code != directory.resolve():
        section += f'code_path = "{_rel(code, directory)}"\n'
    _tool_section(directory, written, skipped, section)

    advice = _advice(app, files[0].name, context, build, directory, code, deps_dir, env, needed)
    return InitResult(
        str(directory),
        module,
        tuple(written),
        tuple(skipped),
        deps.describe(),
        adopted=tuple(f.name for f in files),
        advice=tuple(advice),
    )


def _rel(path: Path, base: Path) -> str:
    return str(path.resolve().relative_to(base.resolve())) if path != base else "."


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    raw = spec.get("environment") or {}
    if isinstance(raw, dict):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    pairs = (str(item).partition("=") for item in raw)
    return {key: value for key, _, value in pairs}


def _advice(
    app: str,
    compose: str,
    context: Path,
    build: dict[str, Any],
    directory: Path,
    code: Path,
    deps_dir: Path,
    environment: dict[str, str],
    needed: Env,
) -> list[str]:
    out = []
    dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
    recipe = dockerfile.resolve() == (context / RECIPE_DIR / "Dockerfile").resolve()
    why = ""
    if not build:
        why = "has no build section"
    elif not recipe and dockerfile.is_file():
        text = dockerfile.read_text(errors="replace")
        match = _TIANGOLO.search(text)
        if match:
            why = (
                f"builds {_rel(dockerfile, directory)} FROM {match.group(1)} (deprecated, "
                "and not what devstack runs)"
            )
        elif "/start-reload.sh" not in text:
            why = f"builds {_rel(dockerfile, directory)}, which has no /start-reload.sh"
    elif not recipe:
        why = f"builds {_rel(dockerfile, directory)}, which does not exist"
    if why:
        args = {
            "DEVSTACK_DIR": RECIPE_DIR,
            "APP_DIR": _rel(code, context),
            "DEPS_DIR": _rel(deps_dir, context),
            "PYTHON_IMAGE": f"${{PYTHON_IMAGE:-{dependencies.python_image(deps_dir)}}}",
            **{k: str(v) for k, v in (build.get("args") or {}).items()},
        }
        lines = [
            f"{compose}: services.{app} {why}; point its build at devstack's recipe:",
            "    build:",
            f"      context: {_rel(context, directory)}",
            f"      dockerfile: {RECIPE_DIR}/Dockerfile",
            "      args:",
            *(f"        {k}: {v}" for k, v in args.items()),
        ]
        out.append("\n".join(lines))
    missing = [(k, v) for k, v in needed if k not in environment]
    if missing:
        pairs = ", ".join(f"{k}: {v}" for k, v in missing)
        out.append(f"{compose}: add to services.{app}.environment: {pairs}")
    return out
