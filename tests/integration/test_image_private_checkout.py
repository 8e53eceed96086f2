"""The recipe built from a checkout only its owner can read (cloned under umask 077: files
0600, folders 0700), with no dependency file: the unprivileged server reads its code and
runtime, and gets FastAPI as tiangolo's image shipped it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.helpers import build_recipe_image
from tests.integration.upstream.harness import Box, docker

pytestmark = pytest.mark.docker

APP = """from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index() -> dict[str, str]:
    return {"message": "private checkout"}
"""


def make_private(root: Path) -> None:
    """The modes `git clone` gives under umask 077."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o700)
        else:
            path.chmod(0o700 if os.access(path, os.X_OK) else 0o600)


@pytest.fixture
def private_image(docker_engine: None, tmp_path: Path) -> Iterator[str]:
    context = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "compose", context / "compose", ignore=shutil.ignore_patterns("__pycache__")
    )
    (context / "app").mkdir()
    (context / "app" / "main.py").write_text(APP)
    make_private(context)
    tag = f"devstack-image-test-private:{uuid.uuid4().hex[:10]}"
    build_recipe_image(context, tag)
    yield tag
    docker("rmi", "-f", tag)


def test_unprivileged_server_reads_a_private_checkout(
    private_image: str, project_name: str
) -> None:
    box = Box.run(private_image, project_name)  # /start.sh as the image's uid 10001
    try:
        box.wait_serving()
        assert "private checkout" in box.get()
        assert docker("exec", box.id, "id", "-u").stdout.strip() == "10001"
        box.wait_healthy()
    finally:
        box.remove()
