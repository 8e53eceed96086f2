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

from devstack.config import Settings, file_table
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
from devstack.runtime import placement
from devstack.runtime.choice import recipe_like
from devstack.runtime.command import AppCommand, read
from devstack.runtime.placement import Build

_TIANGOLO = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(tiangolo/uvicorn-gunicorn\S*)", re.I | re.M)


Origins = dict[tuple[str, str], str]  # (service, key) -> the file that sets it last


def _services(files: list[Path], origins: Origins | None = None) -> dict[str, dict[str, Any]]:
    """The services of the files, each override merged over the base (volumes added);
    `origins` gets the file that sets each service's key last."""
    merged: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}", hint="fix the compose file") from None
        for name, spec in (data.get("services") or {}).items():
            into = merged.setdefault(name, {})
            for key, value in (spec or {}).items():
                if origins is not None:
                    origins[(name, key)] = path.name
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


def adopt(directory: Path, files: list[Path], *, force: bool = False) -> InitResult:
    origins: Origins = {}
    services = _services(files, origins)
    app = _app_service(services)
    spec = services[app]
    build = spec.get("build")
    build = {"context": build} if isinstance(build, str) else dict(build or {})
    context = (directory / str(build.get("context", "."))).resolve()
    # Where the code is: code_path in [tool.devstack], else what the compose files and the
    # Dockerfile say (a develop.watch sync rule, a code mount, a COPY, the build context).
    settings = _settings(directory, files)
    built = Build.of(spec, directory)
    own = not recipe_like(spec, built, settings) and built.dockerfile is not None
    where = placement.find(spec, settings, built)
    code = where.source.resolve()
    deps_dir = context
    try:
        deps = dependencies.detect(context)
    except ConfigError:
        deps_dir, deps = code, dependencies.detect(code)  # exit 2 when neither can be read
    if deps.manager == "none" and code != context:
        deps_dir, deps = code, dependencies.detect(code)
    env = _environment(spec)
    needed: Env = ()
    command = read(_command(spec, built), where) if own else None
    if isinstance(command, AppCommand):  # the project's own image: its own command says
        module = command.app
    elif env.get("APP_MODULE") or env.get("MODULE_NAME"):  # the user's own choice, as the seed's
        module = (
            env.get("APP_MODULE") or f"{env['MODULE_NAME']}:{env.get('VARIABLE_NAME') or 'app'}"
        )
    else:
        layout = find_app(code)
        module, needed = layout.module, layout.env

    written: list[str] = []
    skipped: list[str] = []
    put = writer(directory, written, skipped, force)
    if not own:  # the project's own image is kept: no recipe needed
        copy_recipe(put, _rel(context / RECIPE_DIR, directory))
        put(
            f"{_rel(context, directory)}/.dockerignore".removeprefix("./"),
            (recipe_source() / "dockerignore").read_text(),
        )
    names = ", ".join(f'"{f.name}"' for f in files)
    section = "\n[tool.devstack]\n# Adopted by `devstack init`: your own compose files.\n"
    section += f'compose_files = [{names}]\napp_service = "{app}"\n'
    if code != directory.resolve() and settings.code_path is None:
        section += f'code_path = "{_rel(code, directory)}"\n'
    _tool_section(directory, written, skipped, section)

    where_build = origins.get((app, "build"), files[0].name)
    where_env = origins.get((app, "environment"), where_build)
    sharing = _sharing(services, app)
    advice = _advice(app, (where_build, where_env), context, build, directory, code, deps_dir,
                     env, needed, sharing)  # fmt: skip
    return InitResult(
        str(directory),
        module,
        tuple(written),
        tuple(skipped),
        deps.describe(),
        adopted=tuple(f.name for f in files),
        advice=tuple(advice),
        runs=_runs(app, built, where, command, directory) if own else "",
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
    where: tuple[str, str],  # the files that set the app's build and environment last
    context: Path,
    build: dict[str, Any],
    directory: Path,
    code: Path,
    deps_dir: Path,
    environment: dict[str, str],
    needed: Env,
    sharing: list[str],
) -> list[str]:
    """What to change, in the file that sets each key last. Only an app built FROM
    tiangolo's deprecated image, or from a Dockerfile that does not exist, is pointed at the
    recipe: a project's own image is kept as it is (devstack runs its reloader in it)."""
    out = []
    dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
    recipe = dockerfile.resolve() == (context / RECIPE_DIR / "Dockerfile").resolve()
    why = ""
    if build and not recipe and dockerfile.is_file():
        match = _TIANGOLO.search(dockerfile.read_text(errors="replace"))
        if match:
            why = (
                f"builds {_rel(dockerfile, directory)} FROM {match.group(1)} (deprecated, "
                "and not what devstack runs)"
            )
    elif build and not recipe:
        why = f"builds {_rel(dockerfile, directory)}, which does not exist"
    if why:
        args = {
            "DEVSTACK_DIR": RECIPE_DIR,
            "APP_DIR": _rel(code, context),
            "DEPS_DIR": _rel(deps_dir, context),
            "PYTHON_IMAGE": "${PYTHON_IMAGE:-python:3.12-slim}",
            **{k: str(v) for k, v in _build_args(build).items()},
        }
        also = [s for s in sharing if s != app]
        lines = [
            f"{where[0]}: services.{app} {why}; point its build at devstack's recipe"
            + (
                f" (and the same for {', '.join(also)}, which build(s) the same image)"
                if also
                else ""
            )
            + ":",
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
        out.append(f"{where[1]}: add to services.{app}.environment: {pairs}")
    return out


def _build_args(build: dict[str, Any]) -> dict[str, Any]:
    args = build.get("args") or {}
    if isinstance(args, list):  # ["NAME=value", ...]
        return dict(str(a).partition("=")[::2] for a in args)
    return dict(args)


def _sharing(services: dict[str, dict[str, Any]], app: str) -> list[str]:
    """The services that build the same Dockerfile or run the same image as the app."""
    spec = services[app]

    def key(s: dict[str, Any]) -> tuple[str, str] | None:
        b = s.get("build")
        if b is None:
            return None
        b = {"context": b} if isinstance(b, str) else b
        return str(b.get("context", ".")), str(b.get("dockerfile", "Dockerfile"))

    mine, image = key(spec), spec.get("image")
    return [
        name
        for name, s in services.items()
        if (mine is not None and key(s) == mine) or (image and s.get("image") == image)
    ]


def _settings(directory: Path, files: list[Path]) -> Settings:
    """The project's settings as far as init needs them (code_path, mount_path)."""
    table, where = file_table(directory)
    values: dict[str, Any] = {}
    for key in ("code_path", "mount_path"):
        if isinstance(table.get(key), str):
            values[key] = table[key]
    code = values.get("code_path")
    if code is not None:
        path = Path(code) if Path(code).is_absolute() else directory / code
        if not path.is_dir():
            raise ConfigError(
                f"{where}: code_path {path} is not a directory",
                hint="set code_path to your app's folder",
            )
        values["code_path"] = path
    return Settings(project_dir=directory, compose_files=tuple(files), **values)


def _runs(app: str, built: Build, where: placement.Placement, command: Any, directory: Path) -> str:
    dockerfile = _rel(built.dockerfile, directory) if built.dockerfile else "its image"
    text = (
        f"{app}: its own image ({dockerfile}) is kept; the code {_rel(where.source, directory)} "
        f"is mounted at {where.target} (from the {where.found_by}); "
    )
    if isinstance(command, AppCommand):
        return text + f"devstack's reloader runs {command.app} on port {command.port}"
    reason = getattr(command, "reason", "")
    return text + f"its own command runs ({reason})"


def _command(spec: dict[str, Any], built: Build) -> tuple[str, ...]:
    def words(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return ("/bin/sh", "-c", value)
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    command = words(spec.get("command"))
    if not command and built.parsed is not None:
        command = built.parsed.cmd
    return command
