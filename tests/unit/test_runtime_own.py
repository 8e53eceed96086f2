"""The project's own image: where the code goes, which app runs, the overlay (no engine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import config, overlay
from devstack.delivery import BindMount
from devstack.project import from_config
from devstack.runtime import FALLBACK_MARK, choose
from devstack.runtime import dockerfile as df
from devstack.runtime.command import AppCommand, Unreadable, read
from devstack.runtime.own import OwnImage
from devstack.runtime.placement import Placement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.12
FROM ghcr.io/astral-sh/uv:0.9.26 AS uv
FROM ${PYTHON_IMAGE}
COPY --from=uv /uv /uvx /bin/
WORKDIR /app/
RUN --mount=type=bind,source=uv.lock,target=uv.lock \\
    uv sync --frozen --no-install-workspace --package app
COPY ./backend/scripts /app/backend/scripts
COPY ./backend/pyproject.toml ./backend/alembic.ini /app/backend/
COPY ./backend/app /app/backend/app
WORKDIR /app/backend/
CMD ["fastapi", "run", "--workers", "4", "app/main.py"]
"""


def template(tmp: Path) -> tuple[dict[str, Any], config.Settings]:
    """A project in the template's shape and its compose model as compose resolves it."""
    for folder in ("backend/app", "backend/scripts", "backend/htmlcov"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    (tmp / "backend" / "Dockerfile").write_text(DOCKERFILE)
    (tmp / "backend" / "app" / "__init__.py").write_text("")
    (tmp / "backend" / "app" / "main.py").write_text(
        "from fastapi import FastAPI\napp = FastAPI()\n"
    )
    (tmp / "backend" / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (tmp / "compose.yml").write_text("services: {}\n")
    backend = {
        "build": {"context": str(tmp), "dockerfile": "backend/Dockerfile"},
        "command": ["fastapi", "run", "--reload", "app/main.py"],
        "ports": [{"target": 8000, "published": "8000", "protocol": "tcp"}],
        "develop": {
            "watch": [
                {"path": str(tmp / "backend"), "action": "sync", "target": "/app/backend"},
                {"path": str(tmp / "backend" / "pyproject.toml"), "action": "rebuild"},
            ]
        },
        "volumes": [
            {
                "type": "bind",
                "source": str(tmp / "backend" / "htmlcov"),
                "target": "/app/backend/htmlcov",
                "bind": {"create_host_path": True},
            },
            {"type": "volume", "source": "cache", "target": "/cache"},
        ],
    }
    model = {"name": "tpl", "services": {"backend": backend, "db": {"image": "postgres"}}}
    settings = config.load(tmp, environ={}, overrides={"app_user": "1000:1000"})
    return model, settings


def test_dockerfile_facts_and_the_tree_it_copies(tmp_path: Path) -> None:
    template(tmp_path)
    parsed = df.parse(tmp_path / "backend" / "Dockerfile")
    assert parsed is not None
    assert parsed.workdir == "/app/backend" and parsed.bases == ("ghcr.io/astral-sh/uv:0.9.26",
                                                                 "python:3.12")  # fmt: skip
    assert parsed.command == ("fastapi", "run", "--workers", "4", "app/main.py")
    assert df.copied_tree(parsed, tmp_path) == (tmp_path / "backend", "/app/backend")


def test_template_code_goes_where_develop_watch_syncs_it(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    runtime = choose(model, "backend", settings)
    assert isinstance(runtime, OwnImage)
    where = runtime.placement
    assert (where.source, where.target, where.workdir) == (
        tmp_path / "backend",
        "/app/backend",
        "/app/backend",
    )
    assert where.found_by == "develop.watch sync rule"
    assert runtime.rebuild_paths() == (tmp_path / "backend" / "pyproject.toml",)


def test_without_develop_watch_the_dockerfile_copy_says_where(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    del model["services"]["backend"]["develop"]
    where = choose(model, "backend", settings).placement
    assert (where.source, where.target) == (tmp_path / "backend", "/app/backend")
    assert where.found_by == "COPY in backend/Dockerfile"


def test_code_path_is_honoured_with_the_target_that_matches_it(tmp_path: Path) -> None:
    model, _ = template(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.devstack]\ncode_path = "backend"\n')
    settings = config.load(tmp_path, environ={})
    where = choose(model, "backend", settings).placement
    assert (where.source, where.target, where.found_by) == (
        tmp_path / "backend",
        "/app/backend",
        "code_path",
    )


def test_recipe_when_the_dockerfile_runs_start_reload(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    (tmp_path / "backend" / "Dockerfile").write_text('FROM x\nCMD ["/start-reload.sh"]\n')
    assert choose(model, "backend", settings).kind == "recipe"


@pytest.mark.parametrize(
    ("words", "app", "port", "app_dir"),
    [
        (["fastapi", "run", "--reload", "app/main.py"], "app.main:app", 8000, "/app/backend"),
        (["fastapi", "run", "app/main.py", "--port", "8001"], "app.main:app", 8001, "/app/backend"),
        (["fastapi", "run"], "app.main:app", 8000, "/app/backend"),
        (["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port=9000"], "app.main:app", 9000,
         "/app/backend"),
        (["python", "-m", "uvicorn", "app.main:app", "--workers", "2"], "app.main:app", 8000,
         "/app/backend"),
        (["sh", "-c", "exec uvicorn app.main:app --port 7000"], "app.main:app", 7000,
         "/app/backend"),
    ],
)  # fmt: skip
def test_app_commands_read(
    tmp_path: Path, words: list[str], app: str, port: int, app_dir: str
) -> None:
    template(tmp_path)
    where = Placement(tmp_path / "backend", "/app/backend", "test", "/app/backend")
    got = read(words, where)
    assert isinstance(got, AppCommand), got
    assert (got.app, got.port, got.app_dir) == (app, port, app_dir)


def test_fastapi_dev_keeps_its_loopback_default_and_says_what_it_drops(tmp_path: Path) -> None:
    template(tmp_path)
    where = Placement(tmp_path / "backend", "/app/backend", "test", "/app/backend")
    got = read(["fastapi", "dev", "app/main.py", "--host", "0.0.0.0"], where)
    assert isinstance(got, AppCommand) and got.host == "0.0.0.0"
    assert "fastapi dev's own reloader" in got.dropped


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (["gunicorn", "app.main:app"], "devstack reads fastapi and uvicorn commands"),
        (["uvicorn", "app.main:make", "--factory"], "does not take --factory"),
        (["sh", "-c", "alembic upgrade head && uvicorn app.main:app"], "a shell script"),
        (["fastapi", "run", "missing.py"], "cannot find the app file"),
        ([], "the app's image sets the command"),
    ],
)
def test_commands_devstack_cannot_read_say_why(
    tmp_path: Path, words: list[str], reason: str
) -> None:
    template(tmp_path)
    where = Placement(tmp_path / "backend", "/app/backend", "test", "/app/backend")
    got = read(words, where)
    assert isinstance(got, Unreadable) and reason in got.reason, got


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!override", lambda loader, node: loader.construct_sequence(node, True))


def test_overlay_runs_the_reloader_in_the_own_image(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    (tmp_path / "backend" / "data").mkdir()
    model["services"]["backend"]["volumes"].append(
        {"type": "bind", "source": str(tmp_path / "data"), "target": "/app/backend/data"}
    )
    runtime = choose(model, "backend", settings)
    project = from_config(model, settings)
    fragment = BindMount().app_fragment(runtime, settings.state_dir)
    data = overlay.render(project, settings, fragment, kept=runtime.kept_volumes())
    text = yaml.dump(data, Dumper=overlay._Dumper)
    app = yaml.load(text, Loader=_Loader)["services"]["backend"]
    targets = [v["target"] if isinstance(v, dict) else v for v in app["volumes"]]
    # the nested htmlcov mount shows what the code mount shows: dropped (the engine would
    # create backend/backend/htmlcov or a root-owned folder); another folder's mount stays
    assert "/app/backend/htmlcov" not in targets
    assert targets == [
        "/cache", "/app/backend/data", "/app/backend", "/devstack-runtime", "/devstack-hold"
    ]  # fmt: skip
    assert app["volumes"][3]["read_only"] is True
    assert "entrypoint" not in app  # no ENTRYPOINT to replace
    hold, command = app["command"][:4], app["command"][4:]  # behind up's hold (hold.py)
    assert hold[:2] == ["/bin/sh", "-c"] and hold[3] == "devstack-hold"
    assert command[:2] == ["/bin/sh", "-c"] and '"$$py"' in command[2]  # compose unescapes $$
    args = command[3:]
    assert args[: args.index("--")] == ["devstack", "--app", "app.main:app", "--host", "0.0.0.0",
                                        "--port", "8000", "--dir", "/app/backend"]  # fmt: skip
    assert args[args.index("--") + 1 :] == ["fastapi", "run", "--reload", "app/main.py"]


def test_unreadable_command_keeps_the_projects_own_and_says_so(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    model["services"]["backend"]["command"] = ["gunicorn", "app.main:app"]
    runtime = choose(model, "backend", settings)
    assert runtime.command() is None and runtime.mounts() == []
    (note,) = runtime.notes()
    assert "running the project's own command" in note and "gunicorn" in note
    assert "fastapi[standard]" in note  # how to enable the warm reloader


def test_fallback_in_the_container_is_reported_once(tmp_path: Path) -> None:
    """The launcher, with a Python that has no uvicorn (-S: no site-packages), runs the
    project's own command and says why; `up` reads the line from the app's log."""
    launcher = ROOT / "compose" / "runtime" / "devstack_own.py"
    done = subprocess.run(
        [sys.executable, "-S", str(launcher), "--app", "a:app", "--", "echo", "own command"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert done.stdout == "own command\n"
    assert done.stderr.startswith(FALLBACK_MARK) and "has no uvicorn" in done.stderr
    model, settings = template(tmp_path)
    note = choose(model, "backend", settings).note_from_log("x\n" + done.stderr)
    assert note and "has no uvicorn" in note and "fastapi[standard]" in note


def test_launcher_without_the_runtime_runs_the_projects_own_command() -> None:
    """A container the runtime was not delivered to (no /devstack-runtime here either)."""
    from devstack.runtime.own import LAUNCH

    assert not Path("/devstack-runtime").exists()
    script = LAUNCH.replace("$$", "$")  # as compose hands it to the shell
    done = subprocess.run(
        ["sh", "-c", script, "devstack", "--app", "a:app", "--", "echo", "own", "command"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert done.stdout == "own command\n"
    assert done.stderr == f"{FALLBACK_MARK} (devstack's runtime is not in the container at " \
        "/devstack-runtime)\n"  # fmt: skip


def test_develop_watch_rebuild_paths_are_watch_rebuild_triggers(tmp_path: Path) -> None:
    from devstack.watch.changes import Rules, classify

    lock = tmp_path / "uv.lock"  # outside the code folder: watched as a file of its own
    rules = Rules(code_dir=tmp_path / "backend", dependency_files=(), rebuild_paths=(lock,
                  tmp_path / "backend" / "pyproject.toml"))  # fmt: skip
    assert lock in rules.paths
    assert classify([("modified", str(lock))], rules) == "rebuild"
    assert classify([("modified", str(tmp_path / "backend" / "pyproject.toml"))], rules) == (
        "rebuild"
    )
    assert classify([("modified", str(tmp_path / "backend" / "app" / "main.py"))], rules) is None


def test_the_sync_rules_ignore_patterns_are_kept_for_a_code_sync(tmp_path: Path) -> None:
    model, settings = template(tmp_path)
    model["services"]["backend"]["develop"]["watch"][0]["ignore"] = [".venv", "htmlcov"]
    assert choose(model, "backend", settings).placement.ignore == (".venv", "htmlcov")
