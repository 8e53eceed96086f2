"""The recipe's reading of requires-python (init's image, the build's first check) and of
workspace members in an exported lock (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.init import dependencies
from devstack.init.command import init

python = dependencies._recipe_module(dependencies.PYTHON)


@pytest.mark.parametrize(
    ("constraint", "have", "allowed"),
    [
        (">=3.10,<4.0", (3, 11, 2), True),
        (">=3.12", (3, 11, 2), False),
        (">= 3.10, < 3.12", (3, 12, 0), False),
        ("^3.10", (3, 13, 1), True),  # Poetry's caret
        ("~3.10", (3, 11, 0), False),  # Poetry's tilde
        ("~=3.11", (3, 13, 0), True),
        ("==3.11.*", (3, 11, 9), True),
        ("3.11", (3, 12, 0), False),
        (">=3.9 <3.11 || >=3.12", (3, 11, 0), False),
        (">=3.9 <3.11 || >=3.12", (3, 12, 0), True),
        ("not a constraint", (3, 1, 0), True),  # never blocks a build it cannot read
    ],
)
def test_constraints(constraint: str, have: tuple[int, ...], allowed: bool) -> None:
    assert python.allows(constraint, have) is allowed


@pytest.mark.parametrize(
    ("files", "image"),
    [
        ({}, "python:3.12-slim"),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.10,<4.0"\n'}, "python:3.12-slim"),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.13"\n'}, "python:3.15-slim"),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.9,<3.12"\n'}, "python:3.11-slim"),
        (
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "~3.10"\n'},
            "python:3.10-slim",
        ),
        ({"Pipfile": '[requires]\npython_version = "3.11"\n'}, "python:3.11-slim"),
        (  # a virtual uv workspace root: the lock's requires-python
            {"pyproject.toml": "[tool.uv.workspace]\n", "uv.lock": 'requires-python = "<3.12"\n'},
            "python:3.11-slim",
        ),
    ],
)
def test_init_suggests_the_image_requires_python_allows(
    tmp_path: Path, files: dict[str, str], image: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert dependencies.python_image(tmp_path) == image


def test_init_writes_that_image(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nrequires-python = ">=3.10,<3.12"\ndependencies = ["fastapi"]\n'
    )
    init(tmp_path, postgres=False)
    assert (
        "PYTHON_IMAGE: ${PYTHON_IMAGE:-python:3.11-slim}" in (tmp_path / "compose.yaml").read_text()
    )


def test_the_build_names_both_versions(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.12"\n')
    message, hint = python.check(tmp_path, (3, 11, 2))
    assert "3.11.2" in message and ">=3.12" in message and "requires-python" in message
    assert "PYTHON_IMAGE" in hint and "python:3.12-slim" in hint
    assert python.check(tmp_path, (3, 12, 1)) is None


def test_workspace_members_leave_the_export_for_the_members_file(tmp_path: Path) -> None:
    export = dependencies.exporter()
    (tmp_path / "requirements.txt").write_text(
        "-e ./backend\n"
        "fastapi==1.0 \\\n    --hash=sha256:00\n"
        'common @ file:///tmp/app-deps/libs/common ; python_version >= "3.10"\n'
        "-e file:///${PROJECT_ROOT}/libs/other\n"
        "tool @ git+https://example.invalid/tool@abc\n"
    )
    args = export.exported(tmp_path, Path("/tmp/app-deps"))
    assert args[:2] == ["--require-hashes", "--no-deps"]
    kept = (tmp_path / "requirements.txt").read_text()
    assert "backend" not in kept and "file:" not in kept
    assert "fastapi==1.0" in kept and "git+https" in kept
    members = (tmp_path / export.MEMBERS).read_text().split()
    assert members == ["backend", "libs/common", "libs/other"]


def test_pdm_exports_without_hashes_get_them_from_the_lock(tmp_path: Path) -> None:
    """PDM exports no hashes beside a path dependency: they come from pdm.lock's files."""
    export = dependencies.exporter()
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("app @ file:///tmp/app-deps/backend\nidna==3.20\nPyYAML[x]==6.0 ; x\n")
    packages = [
        {"name": "app", "version": "0.1.0", "path": "./backend"},
        {"name": "idna", "version": "3.20", "files": [{"file": "a", "hash": "sha256:aa"}]},
        {"name": "pyyaml", "version": "6.0", "files": [{"file": "b", "hash": "sha256:bb"}]},
    ]
    export.with_hashes(reqs, packages)
    assert export.exported(tmp_path, Path("/tmp/app-deps"))[0] == "--require-hashes"
    assert reqs.read_text() == (
        "idna==3.20 \\\n    --hash=sha256:aa\nPyYAML[x]==6.0 ; x \\\n    --hash=sha256:bb\n"
    )
