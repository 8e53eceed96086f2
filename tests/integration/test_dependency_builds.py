"""The recipe's dependency step on each manager of the corpus, built on the bare python
stand-in (which trusts no proxy CA) with the `ca_bundle` secret: locks installed exactly,
dev groups only on request, the tools outside /opt/venv, no CA in any layer, and the layer
kept when only code changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.docker

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CORPUS = ROOT / "tests" / "projects"
COMPOSE = """services:
  app:
    image: {tag}
    build:
      context: .
      dockerfile: recipe/Dockerfile
      args:
        PYTHON_IMAGE: devstack-local/python:3.11-bare
        DEVSTACK_DIR: recipe
        APP_DIR: {app_dir}
        DEPS_DIR: .
        INSTALL_DEV: "{dev}"
        DEPENDENCY_GROUPS: "{groups}"
      secrets: [ca_bundle]
secrets:
  ca_bundle:
    file: {ca}
"""
APP_DIRS = {"seed-poetry": "app", "uv-workspace": "backend", "poetry-monorepo": "backend"}
APP_DIRS["pdm-monorepo"] = "backend"  # else the root (DEPS_DIR: .)
# What the lock files pin, where the runtime's own install had resolved something else.
LOCKED = {"fastapi": "0.142.2", "anyio": "4.15.1", "starlette": "1.7.0"}
VERSIONS = (
    "import importlib.metadata as m, json, sys\n"
    "names = sys.argv[1:]\n"
    "out = {}\n"
    "for n in names:\n"
    "    try: out[n] = m.version(n)\n"
    "    except m.PackageNotFoundError: out[n] = None\n"
    "print(json.dumps(out))\n"
)


class Built:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tags: list[str] = []

    def build(
        self,
        shape: str,
        *,
        dev: bool = False,
        groups: str = "",
        files: dict[str, str | None] | None = None,  # replaced (None: removed) in the copy
        name: str = "",
        ok: bool = True,  # False: the build is expected to fail
    ) -> tuple[str, subprocess.CompletedProcess[str]]:
        d = self.root / (name or shape)
        if not d.exists():
            shutil.copytree(CORPUS / shape, d)
            shutil.copytree(
                ROOT / "compose", d / "recipe", ignore=shutil.ignore_patterns("__pycache__")
            )
            for rel, text in (files or {}).items():
                if text is None:
                    (d / rel).unlink()
                else:
                    (d / rel).write_text(text)
            # A fresh dependency layer (a comment changes; the locks stay valid): the install
            # really runs through ca_bundle, whatever an earlier run left in the build cache.
            declaration = d / ("Pipfile" if (d / "Pipfile").exists() else "pyproject.toml")
            with declaration.open("a") as fh:
                fh.write(f"\n# build {uuid.uuid4().hex}\n")
        tag = f"devstack-deps-test:{uuid.uuid4().hex[:10]}"
        self.tags.append(tag)
        app_dir = APP_DIRS.get(shape, ".")
        (d / "compose.yaml").write_text(
            COMPOSE.format(
                tag=tag, app_dir=app_dir, dev=str(dev).lower(), groups=groups, ca=HOST_CA
            )
        )
        project = f"dsdeps-{uuid.uuid4().hex[:8]}"
        done = subprocess.run(
            ["docker", "compose", "-p", project, "build", "--progress=plain", "app"],
            cwd=d,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert (done.returncode == 0) is ok, done.stdout + done.stderr
        return tag, done

    def versions(self, tag: str, *names: str) -> dict[str, str | None]:
        done = subprocess.run(
            ["docker", "run", "--rm", tag, "python", "-c", VERSIONS, *names],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))


@pytest.fixture
def built(docker_engine: None, tmp_path: Path) -> Iterator[Built]:
    b = Built(tmp_path)
    yield b
    if b.tags:
        subprocess.run(["docker", "rmi", "-f", *b.tags], capture_output=True, timeout=120)


@pytest.mark.parametrize("shape", ["uv-src", "seed-poetry", "pdm-root", "pipenv-app"])
def test_lock_installed_exactly_through_ca_bundle(built: Built, shape: str) -> None:
    tag, done = built.build(shape)
    output = done.stdout + done.stderr
    assert "devstack: dependencies from" in output and "groups: main" in output
    got = built.versions(tag, *LOCKED, "pytest", "poetry", "uv", "pdm", "pipenv")
    assert {k: got[k] for k in LOCKED} == LOCKED  # the lock's versions, not the newest
    assert got["pytest"] is None  # a dev group, not asked for
    assert not any(got[t] for t in ("poetry", "uv", "pdm", "pipenv"))  # tools stay outside
    history = subprocess.run(
        ["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "install-deps" in history and "BEGIN CERTIFICATE" not in history
    assert leftovers(tag) == ""  # nothing of the tools' temporary files or caches in the image


def leftovers(tag: str) -> str:
    """What the build left in /tmp and in root's home, besides the base image's dotfiles and
    the empty cache mount points."""
    script = (
        "find /tmp /root -mindepth 1 -not -path /root/.cache -not -path '/root/.cache/*' "
        "-not -name .bashrc -not -name .profile"
    )
    done = subprocess.run(
        ["docker", "run", "--rm", "--user", "0", tag, "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_dev_groups_on_request_and_declarations_without_a_lock(built: Built) -> None:
    tag, _ = built.build("seed-poetry", dev=True)  # the seed template's INSTALL_DEV=true
    assert built.versions(tag, "pytest")["pytest"]
    tag, _ = built.build("uv-src", groups="dev")
    assert built.versions(tag, "pytest")["pytest"]
    tag, _ = built.build("poetry-nolock")  # constraints read by poetry-core, pip resolves
    got = built.versions(tag, "redis", "fastapi", "poetry-core")
    assert got["redis"] and got["fastapi"] and got["poetry-core"] is None
    # A Pipfile without its lock: `pipenv lock` at build time (default index: pip's own).
    text = (CORPUS / "pipenv-app" / "Pipfile").read_text()
    pipfile = {"Pipfile": text[text.index("[packages]") :], "Pipfile.lock": None}
    tag, done = built.build("pipenv-app", files=pipfile, name="pipfile-only")
    assert "`pipenv lock` resolves versions now" in done.stdout + done.stderr
    assert built.versions(tag, "psycopg")["psycopg"]
    assert leftovers(tag) == ""


def test_code_edits_keep_the_dependency_layer(built: Built) -> None:
    built.build("pdm-root")
    main = built.root / "pdm-root" / "main.py"
    main.write_text(main.read_text().replace('MESSAGE = "pdm-root"', 'MESSAGE = "edited"'))
    _, done = built.build("pdm-root")
    output = done.stdout + done.stderr
    step = next(line for line in output.splitlines() if "install-deps /tmp/app-deps" in line)
    step_id = step.split()[0]  # "#11"
    assert f"{step_id} CACHED" in output, output
    assert "devstack: dependencies from" not in output  # the installer did not run again


def test_a_python_the_project_does_not_allow_stops_the_build_first(built: Built) -> None:
    text = (CORPUS / "uv-src" / "pyproject.toml").read_text()
    pyproject = text.replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"')
    _, done = built.build("uv-src", files={"pyproject.toml": pyproject}, ok=False)
    output = done.stdout + done.stderr
    assert "devstack: the image's Python is 3.11." in output
    assert "but the project needs Python >=3.12 (pyproject.toml [project].requires-python)" in (
        output
    )
    assert "devstack: hint: build on an image with Python 3.12" in output
    assert "devstack: dependencies from" not in output  # checked before anything is installed


def locked_versions(lock: Path) -> dict[str, set[str]]:
    """Every package of a lock (uv.lock, poetry.lock, pdm.lock: [[package]] name, version)
    with the versions it pins (two where it forks by Python)."""
    import tomllib

    out: dict[str, set[str]] = {}
    for package in tomllib.loads(lock.read_text())["package"]:
        if "version" in package:
            out.setdefault(package["name"], set()).add(package["version"])
    return out


def test_uv_workspace_member_installed_from_the_root_lock(built: Built) -> None:
    """The full-stack template's shape: the lock at the root, the app the `backend` member.
    Its locked dependencies (~70 for this Python) come from the root lock, the same versions,
    nothing resolved anew; the member (`-e ./backend` in the export) is its code in /app."""
    tag, done = built.build("uv-workspace")
    output = done.stdout + done.stderr
    assert "devstack: backend: its locked dependencies installed, its code is /app" in output
    locked = locked_versions(CORPUS / "uv-workspace" / "uv.lock")
    script = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version"
        " for d in m.distributions()}))\n"
    )
    ran = subprocess.run(
        ["docker", "run", "--rm", tag, "python", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    installed = json.loads(ran.stdout)
    from_lock = {n: v for n, v in installed.items() if n in locked}
    assert len(from_lock) >= 60, sorted(installed)
    assert {n: v for n, v in from_lock.items() if v not in locked[n]} == {}
    for name in ("fastapi", "sqlmodel", "alembic", "psycopg", "pydantic-settings", "bcrypt"):
        assert name in from_lock
    assert "pytest" not in installed  # the dev group, not asked for
    assert "app" not in installed  # the member is its code, not an installed copy
    # The template's prestart, from another working directory: `app` imports.
    ran = subprocess.run(
        ["docker", "run", "--rm", "-w", "/tmp", tag, "python", "/app/app/backend_pre_start.py"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.stdout.strip() == "prestart: uv-workspace", ran.stderr


@pytest.mark.parametrize(
    ("shape", "lock"), [("poetry-monorepo", "poetry.lock"), ("pdm-monorepo", "pdm.lock")]
)
def test_monorepo_member_installed_from_the_root_lock(built: Built, shape: str, lock: str) -> None:
    """Poetry and PDM monorepos: the lock at the root, the app the `backend` path dependency
    (`-e file:///...backend` / `app @ file:///...` in the export). Its locked dependencies
    are installed with their hashes (PDM's from pdm.lock), the member is its code in /app."""
    tag, done = built.build(shape)
    output = done.stdout + done.stderr
    assert "devstack: backend: its locked dependencies installed, its code is /app" in output
    locked = locked_versions(CORPUS / shape / lock)
    names = ("fastapi", "starlette", "pydantic", "app")
    got = built.versions(tag, *names)
    assert {n: got[n] for n in names[:3]} == {n: min(locked[n]) for n in names[:3]}
    assert got["app"] is None  # the member is its code, not an installed copy
    ran = subprocess.run(
        ["docker", "run", "--rm", "-w", "/tmp", tag, "python", "-c", "import app.main"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
