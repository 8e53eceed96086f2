"""1. Time to ready for examples/fastapi-postgres: from the command to HTTP 200 on /items."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from bench import stacks
from bench.report import Table, Target, say, timing_table
from bench.stacks import Project
from bench.timing import Stats, ok, poll, ratio, stats

SEED_OVERRIDE = """\
# The seed's way: the app's prestart sleeps, then migrates, then the reloading server starts.
services:
  app:
    command: ["sh", "-c", "sleep 10 && alembic upgrade head && exec /start-reload.sh"]
"""
READY_TIMEOUT = 180.0


def _to_items(project: Project, start: float) -> float:
    return poll(project.url("/items"), ok, timeout=READY_TIMEOUT, every=0.05, start=start)


def _devstack(project: Project, *args: str) -> float:
    start = time.monotonic()
    project.devstack("up", *args)
    return _to_items(project, start)


def _compose(project: Project, *up_args: str, migrate: bool = True) -> float:
    start = time.monotonic()
    project.compose("up", "-d", "--wait", *up_args)
    if migrate:
        project.compose("run", "--rm", "app", "alembic", "upgrade", "head")
    return _to_items(project, start)


def _seed(project: Project) -> float:
    start = time.monotonic()
    project.compose("-f", "compose.yaml", "-f", "seed.override.yaml", "up", "-d")
    return _to_items(project, start)


def _series(
    variants: dict[str, Callable[[], float]], reps: int, before: Callable[[], None], what: str
) -> dict[str, Stats]:
    """Each rep runs every variant once (interleaved, so noise spreads over all of them)."""
    values: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(reps):
        for name, action in variants.items():
            before()
            values[name].append(action())
            say(f"  {what} {rep + 1}/{reps} {name}: {values[name][-1]:.2f} s")
    return {name: stats(v) for name, v in values.items()}


def measure(reps: int, rebuild_reps: int) -> tuple[list[Table], list[Target]]:
    project = stacks.example("fastapi-postgres", "ready")
    stacks.write_override(project, "seed.override.yaml", SEED_OVERRIDE)
    try:
        say("time to ready: building the app image once (warm images for every variant)")
        project.compose("build")

        def wipe() -> None:
            project.compose("down", "-v", "--remove-orphans", "-t", "2")

        cold = _series(
            {
                "devstack up": lambda: _devstack(project),
                "compose up --wait + migrate": lambda: _compose(project),
                "seed (sleep 10; migrate)": lambda: _seed(project),
            },
            reps,
            wipe,
            "cold",
        )

        def stop() -> None:  # no containers; the volumes (the migrated database) kept
            project.compose("down", "-t", "2")

        stopped = _series(
            {
                "devstack up": lambda: _devstack(project),
                "compose up --wait": lambda: _compose(project, migrate=False),
            },
            reps,
            stop,
            "stopped",
        )

        def dependency_change() -> None:
            project.compose("down", "-t", "2")
            with (project.dir / "requirements.txt").open("a") as fh:
                fh.write(f"# dependency change {uuid.uuid4().hex[:8]}\n")

        rebuilt = _series(
            {
                "devstack up --build": lambda: _devstack(project, "--build"),
                "compose up --build --wait + migrate": lambda: _compose(project, "--build"),
            },
            rebuild_reps,
            dependency_change,
            "rebuild",
        )
    finally:
        project.down()
    tables = [
        timing_table(
            "Time to ready: fresh stack (no containers, no volumes)",
            cold,
            baseline="devstack up",
            notes=[
                "From the command to HTTP 200 on /items (the migration applied), polled every "
                "50 ms.",
                "compose: `docker compose up -d --wait`, then `docker compose run --rm app alembic "
                "upgrade head`. seed: plain `docker compose up -d` with the app's command "
                "`sh -c 'sleep 10 && alembic upgrade head && exec /start-reload.sh'`.",
            ],
        ),
        timing_table(
            "Time to ready: stopped stack, volumes kept",
            stopped,
            baseline="devstack up",
            notes=[
                "devstack also runs `alembic upgrade head` (a no-op here); compose does not.",
            ],
        ),
        timing_table(
            "Time to ready: image rebuilt after a dependency change",
            rebuilt,
            baseline="devstack up --build",
            notes=[
                "A new comment line in requirements.txt before each run invalidates the "
                "dependency layer (pip install runs again, its cache warm)."
            ],
        ),
    ]
    dev = cold["devstack up"]
    bare = cold["compose up --wait + migrate"]
    seed = cold["seed (sleep 10; migrate)"]
    up, up_bare = stopped["devstack up"], stopped["compose up --wait"]
    targets = [
        Target(
            "time to ready vs bare compose",
            "<= 0.5x",
            f"{ratio(dev, bare):.2f}x ({dev.median:.1f} s vs {bare.median:.1f} s)",
            ratio(dev, bare) <= 0.5,
        ),
        Target(
            "up on a stopped stack vs compose up --wait",
            "<= 0.35x",
            f"{ratio(up, up_bare):.2f}x ({up.median:.1f} s vs {up_bare.median:.1f} s)",
            ratio(up, up_bare) <= 0.35,
        ),
        Target(
            "time to ready vs the seed's way",
            ">= 3x faster",
            f"{ratio(seed, dev):.2f}x faster ({dev.median:.1f} s vs {seed.median:.1f} s)",
            ratio(seed, dev) >= 3.0,
        ),
    ]
    return tables, targets
