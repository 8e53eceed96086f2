"""`ps` and `logs` answered from the read snapshot print what the full path prints, and a
change the full path would see (a new service, a variable) is never answered from it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import leftovers
from tests.integration.helpers import Project, example

pytestmark = pytest.mark.docker

# Runs the entry point, then says on stderr whether the full path (settings, model) ran.
ENTRY = (
    "import sys; from devstack.cli.fast import main\n"
    "try:\n    main(sys.argv[1:])\n"
    "finally:\n    print('FULL' if 'devstack.stack' in sys.modules else 'QUICK', file=sys.stderr)"
)
UPTIME = re.compile(r"\b\d+(\.\d)?[smh]\b|(?<=\"uptime\": )[\d.]+")


def run(
    p: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, "-C", str(p.dir), "-p", p.name, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **p.env, **(env or {})},
        timeout=120,
    )


def read(p: Project, *args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(stdout with uptimes masked, which path answered)."""
    done = run(p, *args, env=env)
    assert done.returncode == 0, done.stderr
    return UPTIME.sub("T", done.stdout), done.stderr.strip().splitlines()[-1]


def test_reads_from_the_snapshot_agree_with_the_full_path(
    tmp_path: Path, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    p = example("fastapi-redis", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        for args in (
            ["ps"], ["ps", "--json"], ["logs", "--tail", "5"], ["logs", "redis", "-t"], ["config"]
        ):  # fmt: skip
            cache = tmp_path / "cache" / "devstack" / "reads"
            for _ in range(3):  # a log line or a health change may land between the runs
                for f in cache.glob("*.json"):
                    f.unlink()
                full, how = read(p, *args)
                assert how == "FULL", args
                quick, how = read(p, *args)
                assert how == "QUICK", args
                if quick == full:
                    break
            assert quick == full, args

        # the app's Dockerfile decides its runtime, which the configuration shows
        dockerfile = tmp_path / "compose" / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text() + "\n# edited\n")
        assert read(p, "config")[1] == "FULL"
        assert read(p, "config")[1] == "QUICK"

        # a service added to the compose file: the snapshot no longer holds
        compose = p.dir / "compose.yaml"
        compose.write_text(
            compose.read_text().replace(
                "\nvolumes:", "\n  extra:\n    image: ${REDIS_IMAGE}\n\nvolumes:"
            )
        )
        out, how = read(p, "ps")
        assert how == "FULL" and re.search(r"^extra\s+not created", out, re.M), out
        assert read(p, "ps")[1] == "QUICK"

        # a variable the compose file interpolates: the published port moves with it
        out, how = read(p, "ps", env={"REDIS_PORT": "1"})
        assert how == "FULL"
        # an unknown service is the full path's to name
        done = run(p, "logs", "nosuch")
        assert done.returncode != 0 and "nosuch" in done.stderr and "FULL" in done.stderr
    finally:
        p.devstack("down", "-v")


def test_down_from_the_snapshot(
    tmp_path: Path, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    p = example("fastapi-redis", tmp_path / "one", project_name)
    # another checkout of the same project, under the same project name
    other = example("fastapi-redis", tmp_path / "two", project_name)
    other.env = p.env
    try:
        p.devstack("up", check=True)
        assert read(other, "ps")[1] == "FULL"  # saves the other checkout's snapshot
        refused = run(other, "down")
        assert refused.returncode == 7, refused.stderr  # ProjectInUse
        assert "QUICK" in refused.stderr and str(p.dir) in refused.stderr
        assert "in use by a stack from another directory" in refused.stderr
        assert "app" in read(p, "ps")[0]  # untouched

        out, how = read(p, "down")
        assert how == "QUICK"
        assert re.search(rf"removed 2 container\(s\) of {project_name} in", out), out
        done = run(p, "down")
        assert "QUICK" in done.stderr and "redis-data" in done.stderr  # kept volumes, said
        assert leftovers(project_name)["containers"] == []
        out, how = read(p, "--json", "down", "-v")
        assert how == "QUICK" and f"{project_name}_redis-data" in out
        assert leftovers(project_name) == {"containers": [], "networks": [], "volumes": []}
    finally:
        p.devstack("down", "-v")
