"""The recipe's dependency installer: which manager it detects (no engine), as init reports it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack.errors import ConfigError, ExitCode
from devstack.init import dependencies
from devstack.init.scaffold import find_app
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "projects"


def no_tool(*args: object, **kwargs: object) -> str:
    raise AssertionError("pip-only strategies run no manager")


@pytest.mark.parametrize(
    ("shape", "described"),
    [
        ("seed-poetry", "poetry (poetry.lock)"),
        ("poetry-nolock", "poetry (pyproject.toml [tool.poetry])"),
        ("uv-src", "uv (uv.lock)"),
        ("uv-workspace", "uv (uv.lock)"),
        ("pdm-root", "pdm (pdm.lock)"),
        ("pipenv-app", "pipenv (Pipfile.lock)"),
        ("pep621", "pip (pyproject.toml [project].dependencies)"),
    ],
)
def test_corpus_managers(shape: str, described: str) -> None:
    assert dependencies.detect(CORPUS / shape).describe() == described


def test_requirements_and_examples() -> None:
    assert dependencies.detect(ROOT / "examples" / "fastapi-redis").describe() == (
        "pip (requirements.txt)"
    )


def test_a_lock_wins_over_requirements(tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "uv-src", tmp_path, dirs_exist_ok=True)
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    assert dependencies.detect(tmp_path).manager == "uv"


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"pyproject.toml": "[tool.ruff]\n"}, "declares no dependencies devstack can read"),
        (
            {"pyproject.toml": '[project]\nname = "x"\ndynamic = ["dependencies"]\n'},
            "dynamic",
        ),
        ({"pyproject.toml": "[project]\n", "uv.lock": "not = [toml"}, "cannot read uv.lock"),
        ({"poetry.lock": "version = 1\n"}, "pyproject.toml is not"),
        ({"Pipfile.lock": "{broken", "Pipfile": ""}, "cannot read Pipfile.lock"),
        ({"pyproject.toml": "[project\n"}, "cannot read pyproject.toml"),
    ],
)
def test_unreadable_is_a_usage_error_with_a_hint(
    tmp_path: Path, files: dict[str, str], says: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as caught:
        dependencies.detect(tmp_path)
    assert says in caught.value.message
    assert caught.value.hint and caught.value.exit_code == ExitCode.USAGE


def test_build_hint_comes_from_the_installer_line() -> None:
    output = "#10 0.3 devstack: no dependency declaration found\n#10 0.3 devstack: hint: add one\n"
    assert dependencies.build_hint(output) == (
        "the app's dependencies could not be installed: no dependency declaration found; add one"
    )
    assert dependencies.build_hint("ERROR: something else") is None


def test_pep621_groups(tmp_path: Path) -> None:
    installer = dependencies.installer()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["fastapi"]\n'
        '[project.optional-dependencies]\ndev = ["pytest"]\n'
        '[dependency-groups]\nlint = ["ruff"]\nall = [{include-group = "lint"}, "mypy"]\n'
    )
    found, strategy = installer.detect(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    def reqs(**opts: object) -> list[str]:
        strategy.install_args(
            installer.Project(tmp_path), found, installer.Options(**opts), work, no_tool
        )
        return (work / "requirements.txt").read_text().split()

    assert reqs() == ["fastapi"]
    assert reqs(groups=("all",)) == ["fastapi", "ruff", "mypy"]
    assert reqs(dev=True) == ["fastapi", "pytest", "ruff", "mypy"]
    with pytest.raises(installer.Unreadable):
        reqs(groups=("nope",))


def test_unreachable_index_lines_are_dropped(tmp_path: Path) -> None:
    export = dependencies.exporter()
    (tmp_path / "requirements.txt").write_text(
        "--trusted-host 127.0.0.1:18765\n--index-url http://127.0.0.1:18765/simple\n"
        "--extra-index-url https://index.example.com/simple\n"
        "fastapi==1.0 --hash=sha256:00\n"
    )
    args = export.exported(tmp_path)
    assert args[0] == "--require-hashes" and "--no-deps" in args
    kept = (tmp_path / "requirements.txt").read_text()
    assert "127.0.0.1" not in kept and "index.example.com" in kept


@pytest.mark.parametrize(
    ("files", "module", "env"),
    [
        ({"app/main.py": "app = FastAPI()\n"}, "app.main:app", ()),
        ({"main.py": "api = FastAPI()\n"}, "main:api", (("VARIABLE_NAME", "api"),)),
        (
            {"service/main.py": "app = FastAPI()\n"},
            "service.main:app",
            (("MODULE_NAME", "service.main"),),
        ),
        (
            {"src/shop/main.py": "app: FastAPI = FastAPI(title='x')\n"},
            "shop.main:app",
            (("MODULE_NAME", "shop.main"), ("PYTHONPATH", "/app/src")),
        ),
    ],
)
def test_layouts(
    tmp_path: Path, files: dict[str, str], module: str, env: tuple[tuple[str, str], ...]
) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("from fastapi import FastAPI\n\n" + text)
    layout = find_app(tmp_path)
    assert (layout.module, layout.env) == (module, env)


def test_requirements_dev_and_named_groups(tmp_path: Path) -> None:
    installer = dependencies.installer()
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-docs.txt"):
        (tmp_path / name).write_text("fastapi\n")
    found, strategy = installer.detect(tmp_path)
    project = installer.Project(tmp_path)

    def files(**opts: object) -> list[str]:
        args = strategy.install_args(project, found, installer.Options(**opts), tmp_path, no_tool)
        return [Path(a).name for a in args if a != "-r"]

    assert files() == ["requirements.txt"]
    assert files(dev=True) == ["requirements.txt", "requirements-dev.txt"]
    assert files(groups=("docs",)) == ["requirements.txt", "requirements-docs.txt"]
    with pytest.raises(installer.Unreadable):
        files(groups=("test",))


def test_options_from_the_build_arguments() -> None:
    options = dependencies.installer().Options.from_env
    assert options({"INSTALL_DEV": "true", "DEPENDENCY_GROUPS": "test, docs"}) == (
        dependencies.installer().Options(dev=True, groups=("test", "docs"))
    )
    assert options({"INSTALL_DEV": "false"}).dev is False


def test_no_dependency_file_gets_fastapi_as_tiangolo_image_did(
    tmp_path: Path,
) -> None:
    (tmp_path / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    found = dependencies.detect(tmp_path)
    assert found.manager == "none" and "FastAPI alone" in found.source
