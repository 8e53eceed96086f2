"""Building the app image behind a TLS-intercepting proxy: the optional `ca_bundle` BuildKit
secret makes pip trust extra CAs for the install steps only; pyproject.toml dependencies."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
COMPOSE = """services:
  app:
    image: {tag}
    build:
      context: .
      dockerfile: recipe/Dockerfile
      args:
        PYTHON_IMAGE: devstack-local/python:3.11-bare
        DEVSTACK_DIR: recipe
      secrets: [ca_bundle]
secrets:
  ca_bundle:
    file: {ca}
"""
PYPROJECT = """[project]
name = "demo"
version = "0"
dependencies = ["fastapi>=0.100"]
"""


@pytest.fixture
def bare_image(docker_engine: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    tag = f"devstack-image-test-ca:{uuid.uuid4().hex[:10]}"
    shutil.copytree(
        ROOT / "compose", tmp_path / "recipe", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "compose.yaml").write_text(COMPOSE.format(tag=tag, ca=HOST_CA))
    yield tag, tmp_path
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60)


def test_ca_bundle_secret_lets_pip_through_and_stays_out_of_the_image(
    bare_image: tuple[str, Path],
) -> None:
    tag, project = bare_image
    built = subprocess.run(
        ["docker", "compose", "-p", f"dsimg-{uuid.uuid4().hex[:8]}", "build", "app"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    check = (
        "import fastapi, gunicorn, uvicorn_worker, os, pathlib, devstack_runtime as rt\n"
        "assert not os.listdir('/tmp'), os.listdir('/tmp')\n"
        "assert not pathlib.Path('/run/secrets/ca_bundle').exists()\n"
        "assert rt.app_module(os.environ) == 'main:app'\n"
        "print('ok', os.getuid())\n"
    )
    done = subprocess.run(
        ["docker", "run", "--rm", "-e", "PYTHONPATH=/devstack", tag, "python", "-c", check],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "ok 10001", done.stdout + done.stderr
    # The extra CA was trusted for the install steps only: no layer holds it.
    history = subprocess.run(
        ["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "install-deps" in history and "BEGIN CERTIFICATE" not in history
