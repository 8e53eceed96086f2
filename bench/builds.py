"""Dependency builds, now that the recipe installs with uv.

1. A project in the shape of FastAPI's full-stack template (tests/projects/uv-workspace: a uv
   workspace, the lock at the root, ~70 packages): the recipe against a plain uv Dockerfile
   like the template's own (`uv sync --frozen --no-install-workspace`, uv's cache mounted).
2. examples/fastapi-postgres after a dependency change: `devstack up --build` to serving.
3. Each manager's corpus project: the recipe before uv (pip, commit BEFORE) against now.

Every build is timed with its package caches warm and the project-independent layers (the
base image; the recipe's venv and runtime packages; the baseline's uv binary) cached: a
comment appended to the declaring file before each build rebuilds the project's own layers,
from the dependency step on, as a first build of that project on a machine that built any
before.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

from bench import stacks
from bench.report import Table, Target, say, timing_table
from bench.stacks import ROOT, Project
from bench.timing import Stats, ok, poll, ratio, stats

BEFORE = "9d64dc2"  # main just before the recipe installed with uv (pip --require-hashes)
UV_VERSION = "0.13.9"  # the recipe's pinned uv, for the baseline and the host's re-lock
TODAY_DEPENDENCY_CHANGE = 24.5  # s: `up --build` after a dependency change, pip (results.md)
CORPUS = ROOT / "tests" / "projects"
MANAGERS = {  # corpus project -> (manager, APP_DIR, the file a comment is appended to)
    "uv-src": ("uv", ".", "pyproject.toml"),
    "seed-poetry": ("Poetry", "app", "pyproject.toml"),
    "pdm-root": ("PDM", ".", "pyproject.toml"),
    "pipenv-app": ("Pipenv", ".", "Pipfile"),
}
UV_DOCKERFILE = f"""\
# A plain uv Dockerfile in the shape of the full-stack template's backend/Dockerfile (its
# uv image is replaced by uv from PyPI in a layer of its own: no registry here).
FROM devstack-local/python:3.11
ENV PYTHONUNBUFFERED=1
RUN --mount=type=cache,target=/root/.cache/pip pip install -q uv=={UV_VERSION}
ENV PATH="/app/.venv/bin:$PATH" UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app/
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --frozen --no-install-workspace --package app
COPY ./backend/pyproject.toml /app/backend/
COPY ./backend/app /app/backend/app
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --frozen --package app
ENV PYTHONPATH=/app/backend
"""
SERVICE = """\
  {name}:
    image: {image}
    build:
      context: .
      dockerfile: {dockerfile}
      args:
        PYTHON_IMAGE: ${{PYTHON_IMAGE}}
        DEVSTACK_DIR: {recipe}
        APP_DIR: {app_dir}
        DEPS_DIR: .
"""


def _touch(path: Path) -> None:
    with path.open("a") as fh:
        fh.write(f"\n# bench {uuid.uuid4().hex[:8]}\n")


def _build_time(project: Project, service: str) -> float:
    start = time.monotonic()
    project.compose("--progress", "plain", "build", service, timeout=1800)
    return time.monotonic() - start


def _project(suffix: str, shape: str, services: dict[str, tuple[str, str, str]]) -> Project:
    """A copy of a corpus project with compose services {name: (dockerfile, recipe dir,
    APP_DIR)} built from its root, the recipes beside it."""
    dest = stacks._workdir() / suffix
    shutil.copytree(CORPUS / shape, dest, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    shutil.copytree(ROOT / "compose", dest / "recipe", ignore=shutil.ignore_patterns("__pycache__"))
    for own in [*dest.glob("docker-compose*.y*ml"), *dest.glob("compose*.y*ml")]:
        own.unlink()  # the project's own compose files: only the bench's services are built
    name = f"{stacks.RUN_ID}-{suffix}"
    text = "services:\n" + "".join(
        SERVICE.format(name=s, image=f"{name}-{s}", dockerfile=d, recipe=r, app_dir=a)
        for s, (d, r, a) in services.items()
    )
    (dest / "compose.yaml").write_text(text)
    project = stacks._register(Project(dir=dest, name=name, env=dict(stacks.LOCAL_IMAGES)))
    stacks._IMAGES.extend(f"{name}-{s}" for s in services)
    return project


def _before_recipe(dest: Path) -> None:
    """The recipe at BEFORE, from git, in dest/recipe-before."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE, "compose"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    (dest / "compose").rename(dest / "recipe-before")


def _host_uv() -> Path:
    """uv on the host (a venv of the run's own), to re-lock the workspace for the baseline."""
    venv = stacks._workdir() / "uv-venv"
    if not (venv / "bin" / "uv").is_file():
        stacks.run([sys.executable, "-m", "venv", str(venv)])
        stacks.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"]
        )
    return venv / "bin" / "uv"


def _series(project: Project, touch: Path, services: list[str], reps: int) -> dict[str, Stats]:
    """Each rep: the declaration changes, then every service builds (order alternating)."""
    for service in services:  # warm: the caches and the project-independent layers
        _touch(touch)
        say(f"  warm-up build of {project.name} {service}: {_build_time(project, service):.1f} s")
    values: dict[str, list[float]] = {s: [] for s in services}
    for rep in range(reps):
        _touch(touch)
        for service in services if rep % 2 == 0 else list(reversed(services)):
            values[service].append(_build_time(project, service))
            say(f"  {project.name} {rep + 1}/{reps} {service}: {values[service][-1]:.1f} s")
    return {s: stats(v) for s, v in values.items()}


NO_PYC_CACHE = """\
#!/bin/sh
# bench: the recipe's bytecode step without its cache (every module compiled, every build)
/opt/venv/bin/python /devstack/deps/devstack_bytecode.py /tmp/no-pyc-cache; rc=$?
rm -rf /tmp/no-pyc-cache
exit $rc
"""


def template_shape(reps: int) -> tuple[Table, Target]:
    services = {
        "recipe": ("recipe/Dockerfile", "recipe", "backend"),
        "nopyc": ("recipe-nopyc/Dockerfile", "recipe-nopyc", "backend"),
        "uv": ("Dockerfile.uv", "recipe", "backend"),  # (its build args are unused)
    }
    project = _project("template-shape", "uv-workspace", services)
    (project.dir / "Dockerfile.uv").write_text(UV_DOCKERFILE)
    shutil.copytree(project.dir / "recipe", project.dir / "recipe-nopyc")
    (project.dir / "recipe-nopyc" / "deps" / "compile-bytecode").write_text(NO_PYC_CACHE)
    # The corpus lock names a loopback wheelhouse, which a plain `uv sync` cannot reach:
    # locked again on the host against uv's default index, for both builds alike.
    committed = _versions(project.dir / "uv.lock")
    (project.dir / "uv.lock").unlink()
    stacks.run([str(_host_uv()), "lock", "--directory", str(project.dir)], timeout=600)
    shutil.rmtree(project.dir / ".venv", ignore_errors=True)
    same = _versions(project.dir / "uv.lock") == committed
    results = _series(project, project.dir / "pyproject.toml", ["recipe", "nopyc", "uv"], reps)
    recipe, nopyc, baseline = results["recipe"], results["nopyc"], results["uv"]
    results = {
        "recipe": recipe,
        "recipe, bytecode compiled anew": nopyc,
        "uv Dockerfile": baseline,
    }
    table = timing_table(
        "Dependency build: a project in the full-stack template's shape",
        results,
        baseline="uv Dockerfile",
        notes=[
            "tests/projects/uv-workspace: a uv workspace, uv.lock at the root, the app the "
            f"`backend` member; {len(committed)} locked packages (~70 installed on Python 3.11)"
            + ("" if same else "; the host's re-lock differs from the committed lock"),
            "Each build after a comment appended to the root pyproject.toml: the project's "
            "layers rebuilt, uv's cache warm, the project-independent layers cached (the "
            "recipe's venv and runtime packages; the baseline's uv).",
            "All compile bytecode: the baseline every build (UV_COMPILE_BYTECODE=1, as the "
            "template); the recipe only what its bytecode cache mount lacks (the modules of "
            "earlier builds are copied); `bytecode compiled anew` is the recipe with that "
            "cache off, every module compiled as the baseline does.",
        ],
    )
    target = Target(
        "template-shaped dependency build vs its own uv Dockerfile",
        "<= 1.0x",
        f"{ratio(recipe, baseline):.2f}x ({recipe.median:.1f} s vs {baseline.median:.1f} s; "
        f"bytecode compiled anew: {ratio(nopyc, baseline):.2f}x)",
        ratio(recipe, baseline) <= 1.0,
    )
    return table, target


def _versions(lock: Path) -> set[tuple[str, str]]:
    data = tomllib.loads(lock.read_text())
    return {(p["name"], p.get("version", "")) for p in data["package"]}


def managers(reps: int) -> Table:
    table = Table(
        "Dependency build per manager: the recipe before uv (pip) and now (uv)",
        ["project", "manager", "before: pip (s)", "now: uv (s)", "now / before", "runs"],
        notes=[
            f"The recipe at {BEFORE} (pip install --require-hashes of the exported lock) "
            "against this commit's (uv pip install of the same export), interleaved; medians.",
            "Each build after a comment appended to the declaring file: the dependency layer "
            "and what follows rebuilt, package caches warm.",
        ],
    )
    for shape, (manager, app_dir, declaration) in MANAGERS.items():
        project = _project(
            f"manager-{shape}",
            shape,
            {
                "before": ("recipe-before/Dockerfile", "recipe-before", app_dir),
                "now": ("recipe/Dockerfile", "recipe", app_dir),
            },
        )
        _before_recipe(project.dir)
        got = _series(project, project.dir / declaration, ["before", "now"], reps)
        before, now = got["before"], got["now"]
        table.rows.append(
            [
                shape,
                manager,
                f"{before.median:.1f}",
                f"{now.median:.1f}",
                f"{ratio(now, before):.2f}x",
                str(now.n),
            ]
        )
    return table


def dependency_change(reps: int) -> tuple[Table, Target]:
    """examples/fastapi-postgres: a new dependency in requirements.txt, `devstack up --build`
    until /items answers, then the new package imported in the app's container."""
    project = stacks.example("fastapi-postgres", "depchange")
    requirements = project.dir / "requirements.txt"
    original = requirements.read_text()
    try:
        project.devstack("up")  # the images built, the database initialised
        values = []
        for rep in range(reps):
            project.compose("down", "-t", "2")
            requirements.write_text(f"{original}six  # new dependency {uuid.uuid4().hex[:8]}\n")
            start = time.monotonic()
            project.devstack("up", "--build")
            values.append(poll(project.url("/items"), ok, timeout=300, every=0.05, start=start))
            project.compose("exec", "-T", "app", "python", "-c", "import six")
            say(f"  dependency change {rep + 1}/{reps}: {values[-1]:.2f} s")
    finally:
        project.down()
    result = stats(values)
    table = timing_table(
        "Time to ready: examples/fastapi-postgres after a dependency change",
        {"devstack up --build": result},
        notes=[
            "Before each run: `docker compose down`, then a new line `six` in requirements.txt "
            "(the dependency layer rebuilt, uv's cache warm); from the command to HTTP 200 on "
            "/items, then `import six` checked in the app's container.",
            f"Before uv (pip), this took {TODAY_DEPENDENCY_CHANGE} s (results of 2026-11-28).",
        ],
    )
    goal = TODAY_DEPENDENCY_CHANGE / 3
    target = Target(
        "dependency change to serving (fastapi-postgres, up --build)",
        f"<= {goal:.1f} s (1/3 of {TODAY_DEPENDENCY_CHANGE} s)",
        f"{result.median:.1f} s",
        result.median <= goal,
    )
    return table, target


def measure(reps: int) -> tuple[list[Table], list[Target]]:
    tables: list[Table] = []
    targets: list[Target] = []
    say("builds: examples/fastapi-postgres after a dependency change")
    table, target = dependency_change(reps)
    tables.append(table)
    targets.append(target)
    say("builds: the template-shaped project, the recipe vs a plain uv Dockerfile")
    table, target = template_shape(reps)
    tables.append(table)
    targets.append(target)
    say("builds: each manager, the recipe before uv vs now")
    tables.append(managers(reps))
    return tables, targets
