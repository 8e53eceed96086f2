"""A project in the shape of FastAPI's full-stack template (tests/projects/workspace-backend):
a uv workspace locked at the root, the backend built from the root by its own uv-based
Dockerfile, compose.yml + compose.override.yml with develop.watch, a one-shot prestart
service (Alembic, initial data) the backend waits on with service_completed_successfully,
`fastapi run` on port 8000 with its own health check, a mount nested in the code mount.

`devstack up` runs it with zero edits and keeps its image: the code mounted where the image
keeps it, devstack's reloader run by the image's own Python. With -s it prints its cold and
warm `up` times beside `docker compose up --wait` on the same project (cold: the image
absent, BuildKit's cache warm for both; warm: after `down`), and its reload median.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import LOCAL_IMAGES, ROOT, anonymous_volumes, leftovers
from tests.integration.helpers import Project, free_port, get, wait_for

pytestmark = pytest.mark.docker

SHAPE = ROOT / "tests" / "projects" / "workspace-backend"
UV_IMAGE = "devstack-local/uv:0.9.26"  # scripts/local-images, from the uv wheel
RELOADS = 10


_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".devstack", "htmlcov")


@functools.cache
def _lock() -> str:
    """The workspace's uv.lock, made once per run by uv (the version of UV_IMAGE) against the
    index this machine's tools use: its own Dockerfile's `uv sync --frozen` fetches the files
    the lock names, so a committed lock would have to name the index's host."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(SHAPE, tmp, dirs_exist_ok=True, ignore=_IGNORE)
        done = subprocess.run(
            [sys.executable, "-m", "uv", "lock", "--quiet"],
            cwd=tmp,
            env={**os.environ, "UV_NATIVE_TLS": "true"},  # the system's CAs (a TLS proxy)
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return (Path(tmp) / "uv.lock").read_text()


def copy_project(dest: Path) -> Path:
    """The template-shaped project in `dest`, its workspace locked at the root."""
    target = dest / "workspace-backend"
    shutil.copytree(SHAPE, target, ignore=_IGNORE)
    (target / "uv.lock").write_text(_lock())
    return target


def env_for(name: str) -> dict[str, str]:
    return {
        **LOCAL_IMAGES,
        "UV_IMAGE": UV_IMAGE,
        "DOCKER_IMAGE_BACKEND": name,  # the image both services share, this test's own
        "BACKEND_PORT": str(free_port()),
        "POSTGRES_HOST_PORT": str(free_port()),
    }


def compose(d: Path, name: str, env: dict[str, str], *args: str) -> float:
    start = time.monotonic()
    subprocess.run(
        ["docker", "compose", "-p", name, *args],
        cwd=d,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return time.monotonic() - start


def timed_up(p: Project) -> tuple[float, str]:
    start = time.monotonic()
    r = p.devstack("up", check=True)
    return time.monotonic() - start, r.stdout + r.stderr


def remove_images(*names: str) -> None:
    for name in names:
        subprocess.run(["docker", "rmi", "-f", f"{name}:latest"], capture_output=True, timeout=60)


def drop_volumes(names: list[str]) -> None:
    if names:
        subprocess.run(["docker", "volume", "rm", "-f", *names], capture_output=True, timeout=60)


def post_json(url: str, body: dict[str, str]) -> str:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return str(resp.read().decode())


def reload_median(url: str, main: Path) -> float:
    times = []
    for i in range(RELOADS):
        text = f"edit-{i}-{uuid.uuid4().hex[:6]}"
        main.write_text(re.sub(r'VERSION = "[^"]*"', f'VERSION = "{text}"', main.read_text()))
        times.append(
            wait_for(
                lambda t=text: json.loads(get(url + "/api/v1/utils/version"))["version"] == t,
                timeout=30,
                every=0.02,
            )
        )
    return statistics.median(times)


def test_template_shaped_project_runs_with_zero_edits(tmp_path: Path, project_name: str) -> None:
    d = copy_project(tmp_path)
    before = sorted(str(p.relative_to(d)) for p in d.rglob("*"))
    env = env_for(project_name)
    p = Project(dir=d, name=project_name, env=env)
    url = f"http://127.0.0.1:{env['BACKEND_PORT']}"
    other = f"{project_name}-compose"
    cenv = {**env, "DOCKER_IMAGE_BACKEND": other}
    # "cold" for both: the project's image absent, BuildKit's cache as a second build has it
    # (the dependency layer downloaded once here, so neither side pays the network)
    compose(d, other, cenv, "build", "backend")
    remove_images(other)
    orphaned: list[str] = []
    try:
        cold, out = timed_up(p)
        # its own image, its own port: devstack's reloader on 8000 where the health check looks
        assert re.search(r"backend\s+running\s+healthy", out), out
        items = json.loads(get(url + "/api/v1/items/"))
        assert [i["title"] for i in items] == ["first item"]  # written by the prestart service
        created = json.loads(post_json(url + "/api/v1/items/", {"title": "through devstack"}))
        assert json.loads(get(url + f"/api/v1/items/{created['id']}"))["title"] == (
            "through devstack"
        )
        logs = p.devstack("logs", "backend", check=True).stdout
        assert "using WatchFiles (warm)" in logs, logs  # devstack's reloader, the image's Python
        median = reload_median(url, d / "backend" / "app" / "main.py")

        # the project's own suite, inside the stack
        r = p.devstack("exec", "backend", "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "tests", check=True)  # fmt: skip
        passed = re.search(r"(\d+) passed", r.stdout)
        assert passed and int(passed.group(1)) == 4 and "failed" not in r.stdout, r.stdout

        orphaned = anonymous_volumes(project_name)  # the image's VOLUME, kept by `down`
        p.devstack("down", check=True)
        warm, _ = timed_up(p)
        titles = [i["title"] for i in json.loads(get(url + "/api/v1/items/"))]
        assert titles.count("first item") == 1 and "through devstack" in titles  # data kept
    finally:
        p.devstack("down", "-v")
        drop_volumes(orphaned)
    # The mount nested in the code mount created nothing in the tree (no backend/backend/,
    # no root-owned htmlcov/): only the reload edits and the suite's files changed.
    after = sorted(
        str(p.relative_to(d))
        for p in d.rglob("*")
        if "__pycache__" not in p.parts and ".devstack" not in p.parts
    )
    assert [f for f in after if f not in before] == [], after
    assert not (d / "backend" / "backend").exists()

    orphaned = []
    try:
        compose_cold = compose(d, other, cenv, "up", "--wait")
        orphaned = anonymous_volumes(other)
        compose(d, other, cenv, "down")
        compose_warm = compose(d, other, cenv, "up", "--wait")
    finally:
        compose(d, other, cenv, "down", "-v")
        drop_volumes(orphaned)
        remove_images(project_name, other)
    assert not any(leftovers(other).values())
    print(
        f"\n| workspace-backend | devstack up cold {cold:.1f} s, warm {warm:.1f} s | "
        f"docker compose up --wait cold {compose_cold:.1f} s, warm {compose_warm:.1f} s | "
        f"reload median {median:.2f} s | suite in the stack: {passed.group(1)} passed |"
    )
