"""The corpus of project shapes (tests/projects/), each set up by `devstack init` on a copy
and brought up on the real engine: it serves, its data path works, edits reload.

With -s each test prints one row of: shape | manager | cold up s | warm up s | reload median s
("cold": the dependency layer rebuilt, its caches warm; "warm": a second `up` after `down`).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import LOCAL_IMAGES, ROOT, leftovers
from tests.integration.helpers import Project, free_port, get, post, wait_for

pytestmark = pytest.mark.docker

CORPUS = ROOT / "tests" / "projects"
RELOADS = 10


@dataclass(frozen=True)
class Shape:
    name: str
    manager: str  # what init must report
    main: str  # the file whose MESSAGE an edit changes
    module: str  # the app module init must report


SHAPES = [
    Shape(
        "poetry-nolock",
        "poetry (pyproject.toml [tool.poetry])",
        "service/main.py",
        "service.main:app",
    ),
    Shape("uv-src", "uv (uv.lock)", "src/shop/main.py", "shop.main:app"),
    Shape("pdm-root", "pdm (pdm.lock)", "main.py", "main:api"),
    Shape("pipenv-app", "pipenv (Pipfile.lock)", "app/main.py", "app.main:app"),
    Shape("pep621", "pip (pyproject.toml [project].dependencies)", "app/main.py", "app.main:app"),
    Shape(  # its own compose.yaml, adopted: service `api`, APP_MODULE, no health checks
        "adopt-appmodule",
        "pip (pyproject.toml [project].dependencies)",
        "backend/api.py",
        "backend.api:application",
    ),
]


def copy_shape(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(CORPUS / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    target.chmod(0o755)
    # A fresh dependency layer: the declaration changes by a comment only (locks stay valid).
    for declaration in ("pyproject.toml", "Pipfile"):
        if (target / declaration).is_file():
            with (target / declaration).open("a") as fh:
                fh.write(f"\n# test run {uuid.uuid4().hex}\n")
            break
    return target


def set_message(path: Path, text: str) -> None:
    source = path.read_text()
    path.write_text(re.sub(r'MESSAGE = "[^"]*"', f'MESSAGE = "{text}"', source))


def reload_median(url: str, main: Path) -> float:
    times = []
    for i in range(RELOADS):
        text = f"edit-{i}-{uuid.uuid4().hex[:6]}"
        set_message(main, text)
        times.append(
            wait_for(lambda t=text: json.loads(get(url))["message"] == t, timeout=30, every=0.02)
        )
    return statistics.median(times)


def timed(p: Project, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    r = p.devstack(*args, check=True)
    return time.monotonic() - start, r


def remove_image(project: str) -> None:
    subprocess.run(["docker", "rmi", "-f", f"{project}-app"], capture_output=True, timeout=60)


def row(shape: str, manager: str, cold: float, warm: float, reload: float) -> None:
    print(f"\n| {shape} | {manager} | {cold:.1f} | {warm:.1f} | {reload:.2f} |")


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_shape_comes_up_serves_and_reloads(shape: Shape, tmp_path: Path, project_name: str) -> None:
    d = copy_shape(shape.name, tmp_path)
    port = free_port()
    p = Project(
        dir=d,
        name=project_name,
        env={
            **LOCAL_IMAGES,
            "REDIS_SEARCH_MODULE": "/usr/lib/redis/modules/redisearch.so",
            "APP_PORT": str(port),
        },
    )
    own = (d / "compose.yaml").read_text() if (d / "compose.yaml").exists() else None
    r = p.devstack("init", str(d), check=True)
    assert f"dependencies: {shape.manager}" in r.stderr, r.stderr
    assert f"app module: {shape.module}" in r.stderr, r.stderr
    if own is not None:  # adopted, untouched, nothing to change
        assert "adopted compose.yaml" in r.stdout and "change:" not in r.stderr, r.stderr
        assert (d / "compose.yaml").read_text() == own
    url = f"http://127.0.0.1:{port}"
    try:
        cold, _ = timed(p, "up")
        assert json.loads(get(url))["message"] == shape.name
        first = json.loads(post(url + "/hits"))["hits"]
        assert json.loads(post(url + "/hits"))["hits"] == first + 1  # Redis or PostgreSQL
        median = reload_median(url, d / shape.main)
        p.devstack("down", check=True)
        warm, _ = timed(p, "up")
        hits = json.loads(post(url + "/hits"))["hits"]
        # init's compose keeps data in volumes; the adopted one has no volume for its Redis.
        assert hits == (first + 2 if own is None else 1)
        row(shape.name, shape.manager.split()[0], cold, warm, median)
    finally:
        p.devstack("down", "-v")
        remove_image(project_name)
    assert not any(leftovers(project_name).values())


def advised_build(stderr: str) -> str:
    """The build section init told the user to put in place of theirs."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "point its build at" in line)
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    return "\n".join(block) + "\n"


def test_seed_shape_adopted_by_init_prestart_migrates_once(
    tmp_path: Path, project_name: str
) -> None:
    """The seed's project: Poetry with a lock, app/ mounted at /app, its own prestart.sh
    waiting for the database and running Alembic, docker-compose.yml + override built FROM
    tiangolo's image (no health checks, depends_on as a list)."""
    d = copy_shape("seed-poetry", tmp_path)
    compose = (d / "docker-compose.yml").read_text()
    override = (d / "docker-compose.override.yml").read_text()
    port = free_port()
    password = f"pg-{secrets.token_hex(8)}"
    (d / ".env").write_text(f"POSTGRES_PASSWORD={password}\n")
    p = Project(
        dir=d,
        name=project_name,
        env={**LOCAL_IMAGES, "APP_PORT": str(port), "PWD": str(d)},
    )
    r = p.devstack("init", str(d), check=True)
    assert "adopted docker-compose.yml" in r.stdout and "adopted docker-compose.override.yml" in (
        r.stdout
    )
    assert "dependencies: poetry (poetry.lock)" in r.stderr
    assert "tiangolo/uvicorn-gunicorn-fastapi" in r.stderr and "docker/Dockerfile" in r.stderr
    assert (d / "docker-compose.yml").read_text() == compose  # untouched
    assert (d / "docker-compose.override.yml").read_text() == override
    assert not (d / "compose.yaml").exists() and (d / "docker" / "Dockerfile").is_file()
    assert (
        'compose_files = ["docker-compose.yml", "docker-compose.override.yml"]'
        in (d / "pyproject.toml").read_text()
    )

    # The user follows the advice: the build section init printed replaces theirs.
    start = compose.index("    build:")
    old = compose[start : compose.index("    environment:", start)]
    (d / "docker-compose.yml").write_text(compose.replace(old, advised_build(r.stderr)))
    url = f"http://127.0.0.1:{port}"
    try:
        cold, r = timed(p, "up")
        assert "migrations: run by /app/prestart.sh" in r.stderr, r.stderr
        assert "migrating:" not in r.stderr
        assert json.loads(get(url + "/items")) == ["initial"]
        logs = p.devstack("logs", "app", check=True).stdout
        assert logs.count("Running upgrade  -> 0001") == 1, logs  # once, by prestart.sh
        median = reload_median(url, d / "app" / "main.py")
        # `devstack migrate` still runs explicitly (nothing left to apply).
        p.devstack("migrate", check=True)
        p.devstack("down", check=True)
        warm, r = timed(p, "up")
        assert "migrations: run by /app/prestart.sh" in r.stderr
        assert json.loads(get(url + "/items")) == ["initial"]  # initial data not duplicated
        row("seed (adopted compose, prestart + Alembic)", "poetry", cold, warm, median)
    finally:
        p.devstack("down", "-v")
        remove_image(project_name)
    assert not any(leftovers(project_name).values())


def test_unreadable_dependencies_exit_2_at_init_and_6_at_build(
    tmp_path: Path, project_name: str
) -> None:
    d = copy_shape("pep621", tmp_path)
    pyproject = (d / "pyproject.toml").read_text()
    (d / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\ndynamic = ["dependencies"]\n'
    )
    env = {
        **LOCAL_IMAGES,
        "REDIS_SEARCH_MODULE": "/usr/lib/redis/modules/redisearch.so",
        "APP_PORT": str(free_port()),
    }
    p = Project(dir=d, name=project_name, env=env)
    r = p.devstack("init", str(d))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "dynamic" in r.stderr and "hint" in r.stderr.lower()
    assert not (d / "compose.yaml").exists()

    # Set up while readable, then broken: the build stops with exit 6 and the installer's hint.
    (d / "pyproject.toml").write_text(pyproject)
    p.devstack("init", str(d), check=True)
    (d / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    try:
        r = p.devstack("up")
        assert r.returncode == 6, r.stdout + r.stderr
        said = " ".join((r.stdout + r.stderr).split())  # the renderer wraps long lines
        assert "pyproject.toml declares no dependencies devstack can read" in said, said
        assert "hint: the app's dependencies could not be installed: the build context's" in said
    finally:
        p.devstack("down", "-v")
        remove_image(project_name)
