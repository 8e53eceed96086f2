"""4. CLI overhead: devstack's read commands and completion beside compose's, on a running
stack, run alternately; --help; and a profile of `devstack ps`."""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import re
import resource
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


def _loop(argv: list[str], project: Project, runs: int, env: dict[str, str] | None = None) -> Stats:
    def once() -> None:
        run(argv, cwd=project.dir, env={**project.full_env, **(env or {})})

    once()  # warm the page cache; not counted
    return stats([timed(once) for _ in range(runs)])


Pair = tuple[Stats, Stats, Stats, Stats]  # wall mine, wall theirs, CPU mine, CPU theirs


def _pair(
    mine: list[str],
    theirs: list[str],
    project: Project,
    runs: int,
    mine_env: dict[str, str] | None = None,
) -> Pair:
    """devstack's command and compose's, run alternately, so that the machine's load (it is
    shared) weighs on both alike; wall time, and the CPU time (user + system) of the command
    and everything it ran, which the load does not stretch."""

    def once(argv: list[str], env: dict[str, str] | None) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = timed(lambda: run(argv, cwd=project.dir, env={**project.full_env, **(env or {})}))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu

    once(mine, mine_env), once(theirs, None)  # warm the page cache; not counted
    a, b = [], []
    for _ in range(runs):
        a.append(once(mine, mine_env))
        b.append(once(theirs, None))
    return (
        stats([w for w, _ in a]),
        stats([w for w, _ in b]),
        stats([c for _, c in a]),
        stats([c for _, c in b]),
    )


def completion_env(project: Project, *words: str) -> dict[str, str]:
    """What bash sets when completion is asked after `devstack WORDS...`."""
    line = " ".join(["devstack", "-C", str(project.dir), *words])
    return {
        "_DEVSTACK_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(line.split(" ")) - 1),
    }


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
    """The functions with the most cumulative time in `devstack ps`, run in-process through
    the script's entry point (the read snapshot's path when it holds, as when typed)."""
    from devstack.cli.fast import main

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


READS = {  # devstack's read command: the compose command it stands beside
    "ps": (["ps"], ["ps"]),
    "logs --tail 100": (["logs", "--tail", "100"], ["logs", "--tail", "100"]),
    "config": (["config"], ["config"]),
}


def measure(runs: int) -> tuple[list[Table], list[Target]]:
    say("cli: byte-compiling the venv and devstack (a normal install has its .pyc files)")
    byte_compile()
    project = stacks.example("fastapi-redis", "cli")
    try:
        say("cli: building and bringing up examples/fastapi-redis")
        project.compose("build")
        project.devstack("up")
        say(f"cli: {runs} runs of each command, devstack's and compose's alternately")
        help_ = {"devstack --help": _loop([stacks.DEVSTACK, "--help"], project, runs)}
        reads: dict[str, Pair] = {}
        for name, (mine, theirs) in READS.items():
            reads[name] = _pair(
                project.devstack_argv(*mine), project.compose_argv(*theirs), project, runs
            )
        reads["completion of service names"] = _pair(
            [stacks.DEVSTACK],
            project.compose_argv("config", "--services"),
            project,
            runs,
            mine_env=completion_env(project, "logs", ""),
        )
        say("cli: profiling devstack ps")
        imports = import_profile(project)
        calls = call_profile(project)
    finally:
        project.down()
    common = "Wall time of the whole process, PYTHONDONTWRITEBYTECODE unset, venv byte-compiled."
    tables = [timing_table("CLI: devstack --help", help_, notes=[common])]
    targets = []
    h = help_["devstack --help"]
    targets.append(Target("devstack --help", "< 0.1 s", f"{h.median:.3f} s", h.median < 0.1))
    cpu_rows = []
    for name, (dev, bare, dev_cpu, bare_cpu) in reads.items():
        compose_name = (
            "docker compose config --services"
            if name.startswith("completion")
            else f"docker compose {name}"
        )
        dev_name = (
            "devstack logs <TAB> (bash completion)"
            if name.startswith("completion")
            else f"devstack {name}"
        )
        notes = ["devstack's and compose's runs alternate (the machine is shared)."]
        if name.startswith("completion"):
            notes.append(
                "What bash runs on TAB after `devstack logs `: the service names, read from the "
                "compose files; beside compose listing the same."
            )
        tables.append(
            timing_table(
                f"CLI: {name}",
                {dev_name: dev, compose_name: bare},
                baseline=compose_name,
                notes=notes,
            )
        )
        cpu_rows.append(
            [
                dev_name,
                f"{dev_cpu.median:.3f}",
                f"{bare_cpu.median:.3f}",
                f"{ratio(dev_cpu, bare_cpu):.2f}x",
            ]
        )
        r = ratio(dev, bare)
        targets.append(
            Target(
                f"{dev_name} vs {compose_name}",
                "<= 1.0x",
                f"{r:.2f}x ({dev.median:.3f} s vs {bare.median:.3f} s); CPU "
                f"{ratio(dev_cpu, bare_cpu):.2f}x",
                r <= 1.0,
            )
        )
    tables.append(
        Table(
            "CLI: CPU time of the read commands (user + system, the command and its children)",
            ["devstack command", "devstack (s)", "compose (s)", "ratio"],
            cpu_rows,
            [
                "Medians of the same runs as the wall times above; CPU time is what the machine's "
                "load does not stretch (wall time on a busy machine is CPU time times contention)."
            ],
        )
    )
    dev = reads["completion of service names"][0]
    targets.append(
        Target("completion of service names", "< 0.3 s", f"{dev.median:.3f} s", dev.median < 0.3)
    )
    tables += [
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
    return tables, targets
