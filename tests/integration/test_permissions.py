"""Permissions a new user really has: umask 077, a private root-owned project run as root,
a read-only file, a project owned by someone else. Real chmod/umask on temp projects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import Project, example, get, wait_for

pytestmark = pytest.mark.docker


def with_umask(p: Project, umask: int, *args: str) -> subprocess.CompletedProcess[str]:
    """`devstack ARGS` from a shell whose umask is `umask`."""
    cmd = [sys.executable, "-m", "devstack", "-C", str(p.dir), "-p", p.name, *args]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **p.env},
        preexec_fn=lambda: os.umask(umask),
    )


def as_cloned_with_umask_077(root: Path) -> None:
    """What `git clone` under umask 077 leaves: directories and executables 0700, other
    files 0600."""
    for path in [root, *root.rglob("*")]:
        executable = path.is_dir() or path.stat().st_mode & 0o100
        path.chmod(0o700 if executable else 0o600)


def message(p: Project) -> str:
    return str(json.loads(get(f"http://127.0.0.1:{p.env['APP_PORT']}/"))["message"])


def edit(p: Project, text: str) -> None:
    main = p.dir / "app" / "main.py"
    main.write_text(main.read_text().replace('MESSAGE = "', f'MESSAGE = "{text} ', 1))


needs_root = pytest.mark.skipif(os.getuid() != 0, reason="the project is root's, run as root")


@needs_root
def test_umask_077_private_root_owned_project_and_a_read_only_file(
    tmp_path: Path, project_name: str
) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    (p.dir / "app" / "notes.txt").write_text("read-only\n")
    as_cloned_with_umask_077(tmp_path)
    (p.dir / "app" / "notes.txt").chmod(0o400)  # a read-only file in the tree
    assert p.dir.stat().st_uid == 0 and p.dir.stat().st_mode & 0o777 == 0o700
    try:
        r = with_umask(p, 0o077, "up")
        assert r.returncode == 0, r.stderr
        assert message(p) == "hello from devstack"
        assert (p.dir / ".devstack").stat().st_mode & 0o777 == 0o700  # it caches secrets

        edit(p, "edited")  # reload works
        wait_for(lambda: message(p).startswith("edited"), timeout=30)

        # The app runs as the code's owner (root here) without any capability, and what
        # it writes into the bind mount belongs to the host user.
        ids = with_umask(p, 0o077, "exec", "app", "id", "-u")
        assert ids.stdout.strip() == "0", ids.stderr
        caps = with_umask(p, 0o077, "exec", "app", "grep", "CapEff", "/proc/self/status")
        assert caps.stdout.split()[-1] == "0000000000000000", caps.stdout
        made = with_umask(p, 0o077, "exec", "app", "touch", "/app/written-by-app")
        assert made.returncode == 0, made.stderr
        st = (p.dir / "written-by-app").stat()
        assert (st.st_uid, st.st_gid) == (0, 0)

        r = with_umask(p, 0o077, "down")
        assert r.returncode == 0, r.stderr
    finally:
        p.devstack("down", "-v")


@needs_root
def test_project_owned_by_another_user_run_as_root(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        os.chown(path, 1234, 1234)
    p.dir.chmod(0o700)  # only its owner may enter
    try:
        r = p.devstack("up")
        assert r.returncode == 0, r.stderr
        assert message(p) == "hello from devstack"  # the app (uid 1234) reads its code
        state = (p.dir / ".devstack").stat()
        assert (state.st_uid, state.st_mode & 0o777) == (1234, 0o700)
        assert p.devstack("exec", "app", "id", "-u").stdout.strip() == "1234"
        p.devstack("exec", "app", "touch", "/app/written-by-app", check=True)
        st = (p.dir / "written-by-app").stat()
        assert (st.st_uid, st.st_gid) == (1234, 1234)  # the project owner's, like the rest
        edit(p, "edited")
        wait_for(lambda: message(p).startswith("edited"), timeout=30)
        p.devstack("down", check=True)
    finally:
        p.devstack("down", "-v")
