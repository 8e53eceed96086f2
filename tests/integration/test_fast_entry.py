"""The fast entry (devstack.cli.fast) answers the read commands it parses exactly as the
typer app does: output, errors and exit codes, on a running stack and on a broken one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cli import fast
from tests.conftest import leftovers
from tests.integration.helpers import Project, example

pytestmark = pytest.mark.docker

TYPER = "import sys; from devstack.cli.app import main; sys.argv[0] = 'devstack'; main()"
# ps's uptime moves between two runs
UPTIME = re.compile(r"\b\d+(\.\d)?[smh]\b|(?<=\"uptime\": )[\d.]+|(?<=\"seconds\": )[\d.]+")


def both(p: Project, *args: str, env: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    """(stdout, stderr, exit code) through the fast entry and through the typer app."""
    full = {**os.environ, **p.env, **(env or {})}
    argv = ["-C", str(p.dir), "-p", p.name, *args]
    out = []
    for entry in (["-m", "devstack"], ["-c", TYPER]):
        done = subprocess.run(
            [sys.executable, *entry, *argv], capture_output=True, text=True, env=full, timeout=120
        )
        out.append((UPTIME.sub("T", done.stdout), done.stderr, done.returncode))
    return out


def test_the_parser_takes_only_what_it_knows() -> None:
    down = fast.parse(["-p", "x", "down", "-v"])
    assert down is not None and down.command == "down" and down.args == ("-v",)
    call = fast.parse(["-C", "d", "-f", "a.yaml", "-f", "b.yaml", "--json", "ps"])
    assert call is not None and call.files == ("a.yaml", "b.yaml") and call.json
    logs = fast.parse(["logs", "app", "--tail", "5", "-t", "--since", "10m"])
    assert logs is not None and logs.args == ("app", "--tail", "5", "-t", "--since", "10m")
    for argv in (
        [], ["--help"], ["ps", "--help"], ["-v", "ps"], ["ps", "-p", "x"], ["up"],
        ["logs", "-f"], ["logs", "--tail", "-1"], ["logs", "--tail=5"], ["-C", "--json", "ps"],
        ["-p", "a", "-p", "b", "ps"], ["config", "--json"], ["logs", "--tail", "5", "--tail", "6"],
        ["down", "-t", "3"], ["down", "-v", "-v"], ["-v", "down"],
    ):  # fmt: skip
        assert fast.parse(argv) is None, argv


def test_fast_and_typer_agree(tmp_path: Path, project_name: str) -> None:
    p = example("fastapi-redis", tmp_path, project_name)
    try:
        p.devstack("up", check=True)
        for args in (
            ["ps"], ["ps", "--json"], ["--json", "ps"], ["-q", "ps"], ["logs", "--tail", "5"],
            ["logs", "redis", "--tail", "3", "-t"], ["logs", "nosuch"], ["config"],
            ["config", "--settings"], ["ps", "extra"],
        ):  # fmt: skip
            for _ in range(3):  # the engine's health may turn healthy between the two runs
                fast_run, typer_run = both(p, *args)
                if fast_run == typer_run:
                    break
            assert fast_run == typer_run, args
        assert "nosuch" in both(p, "logs", "nosuch")[0][1]
        for word in ("", "r", "app "):
            env = {
                "_DEVSTACK_COMPLETE": "complete_bash",
                "COMP_WORDS": f"devstack -C {p.dir} logs {word}",
                "COMP_CWORD": str(len(f"devstack -C {p.dir} logs {word}".split(" ")) - 1),
            }
            (fout, _, fcode), (tout, _, tcode) = both(p, env=env)
            assert (fout, fcode) == (tout, tcode), word
        p.devstack("down", check=True)
        for args in (["down"], ["--json", "down"]):  # nothing left to remove, volumes kept
            fast_run, typer_run = both(p, *args)
            assert fast_run == typer_run and "redis-data" in fast_run[0] + fast_run[1], args
        (p.dir / "compose.yaml").write_text("services: [broken\n")  # an error, both ways
        (fast_run, typer_run) = both(p, "ps")
        assert fast_run == typer_run and fast_run[2] != 0 and "error:" in fast_run[1]
    finally:
        subprocess.run(
            ["docker", "compose", "-p", project_name, "down", "-v", "-t", "1"],
            capture_output=True,
            check=False,
        )
    assert not any(leftovers(project_name).values())
