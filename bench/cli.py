"""4. CLI overhead: devstack's commands beside compose's, on a running stack; and a profile."""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import re
import subprocess
import sys
from pathlib import Path

from bench import stacks
from bench.report import Table, Target, say, timing_table
from bench.stacks import ROOT, Project, base_env, run
from bench.timing import Stats, ratio, stats, timed


def byte_compile() -> None:
    """This machine sets PYTHONDONTWRITEBYTECODE=1; a normal install has its .pyc files."""
    venv = Path(sys.prefix)
    run(
        [sys.executable, "-m", "compileall", "-q", str(venv / "lib"), str(ROOT / "devstack")],
        env=base_env(),
        check=False,
    )


def _loop(argv: list[str], project: Project, runs: int) -> Stats:
    def once() -> None:
        run(argv, cwd=project.dir, env=project.full_env)

    once()  # warm the page cache; not counted
    return stats([timed(once) for _ in range(runs)])


def import_profile(project: Project, top: int = 8) -> list[list[str]]:
    """The slowest top-level imports of `devstack ps` (python -X importtime)."""
    argv = [sys.executable, "-X", "importtime", "-m", "devstack"]
    argv += ["-C", str(project.dir), "-p", project.name, "ps"]
    done = subprocess.run(
        argv, cwd=project.dir, env=project.full_env, capture_output=True, text=True, timeout=60
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and "." not in m.group(4):  # whole packages, wherever they were first imported
            rows.append((int(m.group(2)), m.group(4)))
    rows.sort(reverse=True)
    return [[name, f"{us / 1000:.0f}"] for us, name in rows[:top]]


def call_profile(project: Project, top: int = 10) -> list[list[str]]:
    """The functions with the most cumulative time in `devstack ps`, run in-process."""
    from devstack.cli.app import main

    argv = ["-C", str(project.dir), "-p", project.name, "ps"]
    profiler = cProfile.Profile()
    out = io.StringIO()
    saved, saved_env = sys.stdout, dict(os.environ)
    sys.stdout = out
    os.environ.update(project.env)
    try:
        profiler.runcall(_main_quietly, main, argv)
    finally:
        sys.stdout = saved
        os.environ.clear()
        os.environ.update(saved_env)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(300)
    rows = []
    row = re.compile(r"^\s*[\d/]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+(.+)$")
    for line in text.getvalue().splitlines():
        m = row.match(line)
        if not m or not re.search(
            r"\./devstack/|python_on_whales", m.group(2).replace(str(ROOT), ".")
        ):
            continue
        where = m.group(2).replace(str(Path(sys.prefix)), "venv").replace(str(ROOT), ".")
        rows.append([where, f"{float(m.group(1)) * 1000:.0f}"])
    return rows[:top]


def _main_quietly(main: object, argv: list[str]) -> None:
    with contextlib.suppress(SystemExit):
        main(argv)  # type: ignore[operator]


def measure(runs: int) -> tuple[list[Table], list[Target]]:
    say("cli: byte-compiling the venv and devstack (a normal install has its .pyc files)")
    byte_compile()
    project = stacks.example("fastapi-redis", "cli")
    try:
        say("cli: building and bringing up examples/fastapi-redis")
        project.compose("build")
        project.devstack("up")
        say(f"cli: {runs} runs of each command")
        help_ = {"devstack --help": _loop([stacks.DEVSTACK, "--help"], project, runs)}
        ps = {
            "devstack ps": _loop(project.devstack_argv("ps"), project, runs),
            "docker compose ps": _loop(project.compose_argv("ps"), project, runs),
        }
        logs = {
            "devstack logs --tail 100": _loop(
                project.devstack_argv("logs", "--tail", "100"), project, runs
            ),
            "docker compose logs --tail 100": _loop(
                project.compose_argv("logs", "--tail", "100"), project, runs
            ),
        }
        say("cli: profiling devstack ps")
        imports = import_profile(project)
        calls = call_profile(project)
    finally:
        project.down()
    common = "Wall time of the whole process, PYTHONDONTWRITEBYTECODE unset, venv byte-compiled."
    tables = [
        timing_table("CLI: devstack --help", help_, notes=[common]),
        timing_table("CLI: ps", ps, baseline="docker compose ps", notes=[common]),
        timing_table("CLI: logs --tail 100", logs, baseline="docker compose logs --tail 100"),
        Table(
            "Profile: slowest imports of `devstack ps` (python -X importtime)",
            ["module", "cumulative (ms)"],
            imports,
            ["Whole packages (cumulative time of their first import), wherever imported from."],
        ),
        Table(
            "Profile: `devstack ps` by cumulative time (cProfile, in-process)",
            ["function", "cumulative (ms)"],
            calls,
            [
                "In-process; devstack and python-on-whales functions only; includes the imports "
                "they make on the way."
            ],
        ),
    ]
    h = help_["devstack --help"]
    dev, bare = ps["devstack ps"], ps["docker compose ps"]
    targets = [
        Target("devstack --help", "< 0.2 s", f"{h.median:.3f} s", h.median < 0.2),
        Target(
            "devstack ps vs docker compose ps",
            "<= 1.3x",
            f"{ratio(dev, bare):.2f}x ({dev.median:.3f} s vs {bare.median:.3f} s)",
            ratio(dev, bare) <= 1.3,
        ),
    ]
    return tables, targets
