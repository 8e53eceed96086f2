"""The warm reloader's pure pieces (compose/runtime/devstack_warm.py): which changes reload
and which restart, which modules the parent preloads, the known-bad list, the outside
fingerprint, and the runtime's RELOAD_MODE=warm argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.unit.runtime_module import RUNTIME_DIR, load

warm = load("devstack_warm")
rt = load("devstack_runtime")
APP = Path("/app")
PROJECT = warm.Project.from_excludes(
    APP, [".venv/*", "__pycache__/*", "node_modules/*", ".git/*", "/app/web/build"]
)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/app/main.py", "project"),
        ("/app/app/routes/users.py", "project"),
        ("/app/app/main.py", "project"),
        ("/app/app/.main.py.swp~", None),  # an editor's temporary file
        ("/app/app/main.py~", None),
        ("/app/app/.hidden.py", None),
        ("/app/README.md", None),  # *.py only, as uvicorn's default
        ("/app/.venv/lib/python3.11/site-packages/x.py", None),
        ("/app/app/__pycache__/main.cpython-311.pyc", None),
        ("/app/web/node_modules/pkg/x.py", None),
        ("/app/.git/hooks/x.py", None),
        ("/app/web/build/gen.py", None),  # an absolute --reload-exclude
        ("/opt/venv/lib/python3.11/site-packages/fastapi/__init__.py", "outside"),
        ("/usr/lib/python3.11/json/__init__.py", "outside"),
        ("/application/x.py", "outside"),  # a sibling with the same prefix
    ],
)
def test_change_kind(path: str, kind: str | None) -> None:
    assert PROJECT.change_kind(path) == kind


def test_excludes_read_from_the_runtime_argv(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("")
    (tmp_path / "node_modules").mkdir()
    argv = rt.reload_argv({"RELOAD_MODE": "warm"}, tmp_path)
    assert argv[:2] == [sys.executable, str(RUNTIME_DIR / "devstack_warm.py")]
    args = warm.parse(argv[2:])
    assert (args.host, args.port, args.log_level, args.app) == (
        "0.0.0.0",
        80,
        "info",
        "app.main:app",
    )
    project = warm.Project.from_excludes(tmp_path, args.reload_exclude)
    assert set(project.exclude_names) == set(rt.RELOAD_EXCLUDES)
    assert project.exclude_dirs == (tmp_path / "node_modules",)


@pytest.mark.parametrize(
    ("path", "owned"),
    [
        ("/app/app/main.py", True),
        ("/app/main.py", True),
        ("/app/app", True),  # a namespace package's directory
        ("/app/.venv/lib/python3.11/site-packages/fastapi/__init__.py", False),
        ("/app/vendor/lib/site-packages/x.py", False),
        ("/opt/venv/lib/python3.11/site-packages/fastapi/__init__.py", False),
        ("/usr/lib/python3.11/os.py", False),
        ("/devstack/devstack_runtime.py", False),
        (None, False),  # built-in modules
        ("", False),
    ],
)
def test_project_owns_only_its_own_code(path: str | None, owned: bool) -> None:
    assert PROJECT.owns(path) is owned


def test_known_bad_covers_subpackages_and_skips() -> None:
    assert warm.known_bad("grpc") and warm.known_bad("grpc._cython.cygrpc")
    assert warm.known_bad("sentry_sdk.integrations.fastapi")
    assert warm.known_bad("grpcio_helpers") is None  # a prefix of the name is not enough
    assert warm.known_bad("fastapi") is None
    assert warm.known_bad("mylib.sub", ["mylib"]) == "started a thread when preloaded"
    assert warm.known_bad("mylibx", ["mylib"]) is None


def test_select_preload_keeps_order_and_drops_project_bad_and_skipped() -> None:
    site = "/opt/venv/lib/python3.11/site-packages"
    modules = [
        ("__main__", "/devstack/devstack_warm.py"),
        ("sys", None),
        ("json", "/usr/lib/python3.11/json/__init__.py"),
        ("fastapi", f"{site}/fastapi/__init__.py"),
        ("app", "/app/app/__init__.py"),
        ("app.main", "/app/app/main.py"),
        ("utils", "/app/utils.py"),  # a top-level project module
        ("grpc", f"{site}/grpc/__init__.py"),
        ("grpc._channel", f"{site}/grpc/_channel.py"),
        ("threadlib", "/lib/threadlib.py"),
        ("threadlib.sub", "/lib/threadlib/sub.py"),
        ("sqlalchemy", f"{site}/sqlalchemy/__init__.py"),
        ("devstack_runtime", "/devstack/devstack_runtime.py"),
        ("vendored", "/app/.venv/lib/python3.11/site-packages/vendored.py"),
    ]
    chosen = warm.select_preload(modules, PROJECT, skip=["threadlib"])
    assert chosen == ["sys", "json", "fastapi", "sqlalchemy", "vendored"]


def test_outside_signature_sees_edits_installs_and_removals(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "pkg").mkdir(parents=True)
    module = site / "pkg" / "mod.py"
    module.write_text("X = 1\n")
    (site / "pkg-1.0.dist-info").mkdir()
    before = warm.outside_signature([str(site)], [str(module)])
    assert warm.outside_signature([str(site)], [str(module)]) == before

    with module.open("a") as fh:  # an in-place append keeps the directory's mtime
        fh.write("# comment\n")
    after = warm.outside_signature([str(site)], [str(module)])
    assert warm.changed_keys(before, after) == [str(module)]

    (site / "tiny-0.1.dist-info").mkdir()  # pip install
    installed = warm.outside_signature([str(site)], [str(module)])
    assert str(site / "tiny-0.1.dist-info") in warm.changed_keys(after, installed)

    module.unlink()
    gone = warm.outside_signature([str(site)], [str(module)])
    assert gone[str(module)] == ()
    assert warm.outside_signature([str(tmp_path / "missing")], []) == {}


def test_display_paths_like_uvicorn() -> None:
    assert warm.display("/app/app/main.py", APP) == "'app/main.py'"
    assert warm.display("/opt/x.py", APP) == "'/opt/x.py'"


def test_preload_reports_modules_that_start_threads(tmp_path: Path) -> None:
    """Run in a fresh interpreter: the preload imports, and the thread must not leak here."""
    (tmp_path / "quiet.py").write_text("X = 1\n")
    (tmp_path / "noisy.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    (tmp_path / "broken.py").write_text("raise RuntimeError('no')\n")
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path[:0] = [{str(tmp_path)!r}, {str(RUNTIME_DIR)!r}]
        import devstack_warm
        r = devstack_warm.preload(["json", "quiet", "noisy", "broken", "quiet"])
        print(json.dumps([r.loaded, r.threaded, r.failed]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded, threaded, failed = json.loads(done.stdout)
    assert loaded == ["quiet", "noisy"]  # json was already imported: nothing to do
    assert threaded == ["noisy"] and failed == ["broken"]


def test_child_report_lists_what_the_app_imported(tmp_path: Path) -> None:
    """What a cold child writes for the parent: its modules, the project's among them."""
    (tmp_path / "helper.py").write_text("import colorsys\n")
    (tmp_path / "main.py").write_text("import helper, wave\n")
    out = tmp_path / "out.json"
    script = (
        f"import sys; sys.path[:0] = [{str(RUNTIME_DIR)!r}, {str(tmp_path)!r}]\n"
        f"import devstack_warm, main; devstack_warm.write_modules({str(out)!r})\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-c", script], env=env, timeout=60, check=True)
    data = json.loads(out.read_text())
    names = dict(map(tuple, data["modules"]))
    assert names["helper"] == str(tmp_path / "helper.py")
    assert "wave" in names and "colorsys" in names
    project = warm.Project(tmp_path)
    chosen = warm.select_preload(data["modules"], project)
    assert "wave" in chosen and "helper" not in chosen and "main" not in chosen
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


def test_child_report_since_lists_only_what_came_later(tmp_path: Path) -> None:
    """What a serving child writes for the parent: the modules imported since the app loaded
    (a library used lazily), not the ones the parent already has."""
    out = tmp_path / "out.json"
    script = (
        f"import sys; sys.path[:0] = [{str(RUNTIME_DIR)!r}]\n"
        "import devstack_warm_policy as p; known = set(sys.modules); import tabnanny\n"
        f"p.write_modules({str(out)!r}, since=known)\n"
    )
    subprocess.run([sys.executable, "-c", script], timeout=60, check=True)
    names = [name for name, _ in json.loads(out.read_text())["modules"]]
    assert "tabnanny" in names and "json" not in names and "sys" not in names


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="tokenize has no Python regex cache")
def test_warm_caches_leave_the_first_source_lookup_cheap() -> None:
    """The parent fills the caches FastAPI's first request fills (inspect.getsourcelines):
    children forked after it inherit them."""
    script = textwrap.dedent(
        f"""
        import sys; sys.path[:0] = [{str(RUNTIME_DIR)!r}]
        import tokenize, devstack_warm_policy as p
        before = tokenize._compile.cache_info().currsize
        p.warm_caches()
        print(before, tokenize._compile.cache_info().currsize)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    before, after = map(int, done.stdout.split())
    assert before == 0 and after > 0


@pytest.mark.parametrize(
    ("env", "warm_mode"),
    [({}, True), ({"RELOAD_MODE": "warm"}, True), ({"RELOAD_MODE": "uvicorn"}, False)],
)
def test_warm_is_the_default_and_uvicorn_the_switch_back(
    tmp_path: Path, env: dict[str, str], warm_mode: bool
) -> None:
    argv = rt.reload_argv({**env, "APP_MODULE": "m:a", "PORT": "8000"}, tmp_path)
    plain = rt.reload_argv(
        {"RELOAD_MODE": "uvicorn", "APP_MODULE": "m:a", "PORT": "8000"}, tmp_path
    )
    assert plain[1:3] == [str(RUNTIME_DIR / "devstack_uvicorn.py"), "--reload"]
    if warm_mode:  # the same options, handed to the warm reloader instead of uvicorn
        assert argv == [sys.executable, str(RUNTIME_DIR / "devstack_warm.py"), *plain[3:]]
    else:
        assert argv == plain


def test_outside_changes_are_polled_and_named(tmp_path: Path) -> None:
    outside_mod = load("devstack_warm_outside")
    lib = tmp_path / "lib.py"
    lib.write_text("X = 1\n")
    watcher = outside_mod.Outside(owns=lambda f: True)  # every module "owned": no files
    watcher.site_dirs, watcher.files = [str(tmp_path)], [str(lib)]
    watcher.seen = outside_mod.outside_signature(watcher.site_dirs, watcher.files)
    assert watcher.changed() is None  # not yet time to look
    watcher.checked -= outside_mod.OUTSIDE_POLL
    assert watcher.changed() is None  # nothing changed
    (tmp_path / "new-1.0.dist-info").mkdir()
    watcher.checked -= outside_mod.OUTSIDE_POLL
    why = watcher.changed()
    assert why is not None and "new-1.0.dist-info" in why
