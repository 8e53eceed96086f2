"""`devstack init` adopting a project's own compose files: where the code is, the advice in
the file that sets each key last, every service sharing the image (no engine)."""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.init.command import init

ROOT = Path(__file__).resolve().parents[2]
SHAPE = ROOT / "tests" / "projects" / "workspace-backend"


def test_template_shape_found_from_the_compose_files_and_its_image_kept(tmp_path: Path) -> None:
    d = tmp_path / "p"
    shutil.copytree(SHAPE, d)
    result = init(d)
    assert result.app_module == "app.main:app"
    assert 'code_path = "backend"' in (d / "pyproject.toml").read_text()
    assert 'app_service = "backend"' in (d / "pyproject.toml").read_text()
    assert result.advice == ()  # its own Dockerfile is kept: nothing to change
    assert not (d / "docker").exists()  # and no recipe written
    assert "its own image (backend/Dockerfile) is kept" in result.runs
    assert "mounted at /app/backend (from the develop.watch sync rule)" in result.runs
    assert "runs app.main:app on port 8000" in result.runs


def test_code_path_in_tool_devstack_is_honoured(tmp_path: Path) -> None:
    d = tmp_path / "p"
    shutil.copytree(SHAPE, d)
    (d / "other").mkdir()
    (d / "other" / "main.py").write_text("import fastapi\napi = fastapi.FastAPI()\n")
    with (d / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.devstack]\ncode_path = "other"\n')
    result = init(d)
    assert "the code other is mounted" in result.runs, result.runs


TIANGOLO_COMPOSE = """\
services:
  prestart:
    image: backend:latest
    build:
      context: .
      dockerfile: backend/Dockerfile
    command: bash scripts/prestart.sh
  backend:
    image: backend:latest
    build:
      context: .
      dockerfile: backend/Dockerfile
"""
OVERRIDE = """\
services:
  backend:
    build:
      context: .
      dockerfile: backend/Dockerfile
    volumes:
      - ./backend:/app
"""


def test_advice_names_the_file_that_sets_the_build_last_and_the_sharing_services(
    tmp_path: Path,
) -> None:
    (tmp_path / "backend" / "app").mkdir(parents=True)
    (tmp_path / "backend" / "app" / "main.py").write_text("from fastapi import FastAPI\n"
                                                          "app = FastAPI()\n")  # fmt: skip
    (tmp_path / "backend" / "Dockerfile").write_text(
        "FROM tiangolo/uvicorn-gunicorn-fastapi:python3.11\nCOPY ./backend /app\n"
    )
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    (tmp_path / "compose.yml").write_text(TIANGOLO_COMPOSE)
    (tmp_path / "compose.override.yml").write_text(OVERRIDE)
    result = init(tmp_path)
    (build_advice,) = [a for a in result.advice if "point its build" in a]
    assert build_advice.startswith("compose.override.yml: services.backend builds "
                                   "backend/Dockerfile FROM tiangolo")  # fmt: skip
    assert "the same for prestart, which build(s) the same image" in build_advice
    assert "APP_DIR: backend" in build_advice
    assert (tmp_path / "docker" / "Dockerfile").is_file()  # the recipe, for the advice


def test_scaffold_honours_code_path(tmp_path: Path) -> None:
    (tmp_path / "service" / "app").mkdir(parents=True)
    (tmp_path / "service" / "app" / "main.py").write_text(
        "from fastapi import FastAPI\napp = FastAPI()\n"
    )
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    (tmp_path / "pyproject.toml").write_text('[tool.devstack]\ncode_path = "service"\n')
    result = init(tmp_path)
    assert result.app_module == "app.main:app"  # found in service/, imported from /app
    compose = (tmp_path / "compose.yaml").read_text()
    assert "        APP_DIR: service\n        DEPS_DIR: .\n" in compose
