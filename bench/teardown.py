"""3. Teardown: `devstack down` beside `docker compose down`, the same stack up each time."""

from __future__ import annotations

import resource
from collections.abc import Callable

from bench import stacks
from bench.report import Table, Target, say, timing_table
from bench.stacks import Project
from bench.timing import Stats, ratio, stats, timed


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _series(
    project: Project, reps: int, bring_up: Callable[[], object], what: str
) -> tuple[dict[str, Stats], dict[str, Stats]]:
    """Wall times, and CPU times of the command and its children (what the machine's load
    does not stretch), of each way down; the stack brought up before each."""
    downs: dict[str, Callable[[], object]] = {
        "devstack down": lambda: project.devstack("down"),
        "docker compose down": lambda: project.compose("down"),
    }
    values: dict[str, list[float]] = {name: [] for name in downs}
    cpu: dict[str, list[float]] = {name: [] for name in downs}
    for rep in range(reps):
        for name, down in downs.items():
            bring_up()
            before = _cpu()
            values[name].append(timed(down))
            cpu[name].append(_cpu() - before)
            say(f"  teardown {what} {rep + 1}/{reps} {name}: {values[name][-1]:.2f} s")
    return {n: stats(v) for n, v in values.items()}, {n: stats(v) for n, v in cpu.items()}


def _upper(project: Project) -> Callable[[], object]:
    return lambda: project.devstack("up")


# A down takes ~0.6 s, most of it the app's own shutdown, and devstack's and compose's differ
# by a few hundredths: medians of at least this many alternating pairs.
MIN_PAIRS = 9


def measure(reps: int) -> tuple[list[Table], list[Target]]:
    tables: list[Table] = []
    targets: list[Target] = []
    pairs = max(reps, MIN_PAIRS)
    for example in ("fastapi-redis", "fastapi-postgres"):
        project = stacks.example(example, f"down-{example.split('-')[1]}")
        try:
            say(f"teardown: {example}: building the app image once")
            project.compose("build")
            results, cpu = _series(project, pairs, _upper(project), example)
        finally:
            project.down()
        tables.append(
            timing_table(
                f"Teardown: examples/{example}",
                results,
                baseline="docker compose down",
                notes=[
                    "Brought up with `devstack up` before each run; only the down is timed; "
                    "devstack's and compose's downs alternate.",
                    "CPU (user + system of the command and its children): devstack "
                    f"{cpu['devstack down'].median:.3f} s, compose "
                    f"{cpu['docker compose down'].median:.3f} s (medians).",
                ],
            )
        )
        dev, bare = results["devstack down"], results["docker compose down"]
        dev_cpu, bare_cpu = cpu["devstack down"], cpu["docker compose down"]
        targets.append(
            Target(
                f"teardown vs compose down ({example})",
                "<= 1.0x",
                f"{ratio(dev, bare):.2f}x ({dev.median:.2f} s vs {bare.median:.2f} s); "
                f"CPU {ratio(dev_cpu, bare_cpu):.2f}x",
                ratio(dev, bare) <= 1.0,
            )
        )
        targets.append(
            Target(
                f"teardown time ({example})",
                "< 2 s",
                f"{dev.median:.2f} s",
                dev.median < 2.0,
            )
        )
    project = stacks.sigterm_ignoring("down-sigterm")
    try:
        results, _ = _series(project, reps, lambda: project.compose("up", "-d"), "SIGTERM-ignoring")
    finally:
        project.down()
    tables.append(
        timing_table(
            "Teardown: a stack whose PID 1 ignores SIGTERM",
            results,
            baseline="docker compose down",
            notes=[
                "app: `sh -c 'sleep infinity'` as PID 1 (no SIGTERM handler), beside a Redis; "
                "started with `docker compose up -d`.",
                "devstack stops with its stop_timeout (5 s by default); compose with 10 s.",
            ],
        )
    )
    return tables, targets
