"""Shared fixtures: a real Docker engine, unique compose projects, leak checks."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# The local stand-ins for the upstream images (see scripts/local-images).
LOCAL_IMAGES = {
    "PYTHON_IMAGE": "devstack-local/python:3.11",
    "REDIS_IMAGE": "devstack-local/redis:7",
    "POSTGRES_IMAGE": "devstack-local/postgres:15",
}


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A real engine answers; fails (never skips) in CI when it does not."""
    try:
        ok = _docker("info").returncode == 0 and _docker("compose", "version").returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        msg = "no Docker engine with compose v2 answers (run scripts/ensure-docker)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def local_images(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the examples' image variables at the local stand-ins."""
    for key, value in LOCAL_IMAGES.items():
        monkeypatch.setenv(key, value)
    return LOCAL_IMAGES


def anonymous_volumes(project: str) -> list[str]:
    """The anonymous volumes the project's containers hold now (an image's VOLUME that no
    named volume covers: postgres's /var/lib/postgresql/data under a mount at .../pgdata).
    A `down` without -v keeps them, as compose does, and nothing labels them: a test that
    takes a stack down and up again removes them itself."""
    label = f"label=com.docker.compose.project={project}"
    ids = _docker("ps", "-a", "-q", "--filter", label).stdout.split()
    if not ids:
        return []
    fmt = '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}'
    names = _docker("inspect", "--format", fmt, *ids).stdout.split()
    return [n for n in names if len(n) == 64 and all(c in "0123456789abcdef" for c in n)]


def leftovers(project: str) -> dict[str, list[str]]:
    """What the engine still holds of a compose project."""
    label = f"label=com.docker.compose.project={project}"
    found = {}
    for kind, cmd in {
        "containers": ["ps", "-a", "-q", "--filter", label],
        "networks": ["network", "ls", "-q", "--filter", label],
        "volumes": ["volume", "ls", "-q", "--filter", label],
    }.items():
        found[kind] = _docker(*cmd).stdout.split()
    return found


def remove_project(project: str) -> None:
    found = leftovers(project)
    if found["containers"]:
        _docker("rm", "-f", "-v", *found["containers"])
    if found["networks"]:
        _docker("network", "rm", *found["networks"])
    if found["volumes"]:
        _docker("volume", "rm", "-f", *found["volumes"])


@pytest.fixture
def project_name(docker_engine: None) -> Iterator[str]:
    """A unique compose project name; everything of it is removed afterwards,
    and the test fails if removal left anything behind."""
    name = f"dstest-{uuid.uuid4().hex[:10]}"
    yield name
    remove_project(name)
    left = leftovers(name)
    # The images its builds made go too (compose labels them with the project; `down`
    # keeps them, as it should for a user): a suite run would otherwise leave ~130.
    built = _docker("image", "ls", "-q", "--filter", f"label=com.docker.compose.project={name}")
    if built.stdout.split():
        _docker("image", "rm", "-f", *sorted(set(built.stdout.split())))
    assert not any(left.values()), f"project {name} leaked: {left}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.docker)
