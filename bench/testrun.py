"""`devstack test` on examples/fastapi-postgres against the manual way on the same stack.

Manual: `docker compose -p X up -d --wait`, `exec app alembic upgrade head`, `exec app pytest`,
`down -v`. devstack: `devstack test` (a copy of the stack, the same steps, torn down). The
overhead is the time from the command to the first test's first line (the test prints the
wall clock; the container shares the host's), against `docker compose up -d --wait` alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from bench import stacks
from bench.report import Table, Target, say, timing_table
from bench.stacks import Project
from bench.timing import Stats, ratio, stats

TESTS = """import time

from sqlalchemy import text

from app.db import engine


def test_first():
    print("FIRST-TEST-AT", time.time())


def test_delete_every_row():
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO items (name) VALUES ('x')"))
        conn.execute(text("DELETE FROM items"))
"""
PYTEST = ("pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/")


def _first_test(output: str) -> float:
    found = re.search(r"FIRST-TEST-AT (\d+\.\d+)", output)
    if not found:
        raise stacks.CommandFailed(["pytest"], 0, output)
    return float(found.group(1))


def _devstack(project: Project) -> tuple[float, float, str]:
    start = time.time()
    done = project.devstack("test", "--", *PYTEST[1:])
    return time.time() - start, _first_test(done.stdout) - start, done.stdout.splitlines()[-1]


def _manual(project: Project) -> tuple[float, float]:
    start = time.time()
    project.compose("up", "-d", "--wait")
    project.compose("exec", "-T", "app", "alembic", "upgrade", "head")
    done = project.compose("exec", "-T", "app", *PYTEST)
    project.compose("down", "-v", "-t", "2")
    return time.time() - start, _first_test(done.stdout) - start


def _up_wait(project: Project) -> float:
    start = time.time()
    project.compose("up", "-d", "--wait")
    seconds = time.time() - start
    project.compose("down", "-v", "-t", "2")
    return seconds


def measure(reps: int) -> tuple[list[Table], list[Target]]:
    project = stacks.example("fastapi-postgres", "testrun")
    with (project.dir / "requirements.txt").open("a") as fh:
        fh.write("pytest\n")
    (project.dir / "conftest.py").write_text("")
    (project.dir / "tests").mkdir()
    (project.dir / "tests" / "test_items.py").write_text(TESTS)
    totals: dict[str, list[float]] = {"devstack test": [], "manual (compose)": []}
    overheads: dict[str, list[float]] = {
        "devstack test": [],
        "manual (compose)": [],
        "compose up -d --wait alone": [],
    }
    lines: list[str] = []
    try:
        say("devstack test: building the app image once (the manual way's tests are in it)")
        project.compose("build")
        variants: dict[str, Callable[[], None]] = {}

        def dev() -> None:
            total, overhead, last = _devstack(project)
            totals["devstack test"].append(total)
            overheads["devstack test"].append(overhead)
            lines.append(last)

        def manual() -> None:
            total, overhead = _manual(project)
            totals["manual (compose)"].append(total)
            overheads["manual (compose)"].append(overhead)

        def up_wait() -> None:
            overheads["compose up -d --wait alone"].append(_up_wait(project))

        variants = {"devstack test": dev, "manual": manual, "up --wait": up_wait}
        for rep in range(reps):
            for name, action in variants.items():  # interleaved: noise spreads over all
                action()
                say(f"  test {rep + 1}/{reps} {name} done")
    finally:
        project.down()
    total = {k: stats(v) for k, v in totals.items()}
    overhead = {k: stats(v) for k, v in overheads.items()}
    tables = [
        timing_table(
            "devstack test: total, command to exit (fastapi-postgres, 2 tests)",
            total,
            baseline="manual (compose)",
            notes=[
                "manual: `docker compose -p X up -d --wait`, `exec -T app alembic upgrade head`, "
                "`exec -T app pytest -q tests/`, `down -v -t 2`. devstack: `devstack test -- -q "
                "tests/` (its own copy of the stack, the same steps, removed with its volumes).",
                "devstack's last lines: " + "; ".join(f"`{line}`" for line in lines[:3]),
            ],
        ),
        timing_table(
            "devstack test: overhead before the first test runs",
            overhead,
            baseline="compose up -d --wait alone",
            notes=[
                "From the command to the first test's `time.time()` (printed by the test; the "
                "container shares the host's clock). `compose up -d --wait alone`: the same "
                "stack to healthy, nothing else."
            ],
        ),
    ]
    return tables, _targets(total, overhead)


def _targets(total: dict[str, Stats], overhead: dict[str, Stats]) -> list[Target]:
    dev, manual = total["devstack test"], total["manual (compose)"]
    first, bare = overhead["devstack test"], overhead["compose up -d --wait alone"]
    return [
        Target(
            "devstack test total vs the manual way",
            "<= 1.0x",
            f"{ratio(dev, manual):.2f}x ({dev.median:.1f} s vs {manual.median:.1f} s)",
            ratio(dev, manual) <= 1.0,
        ),
        Target(
            "devstack test overhead vs compose up --wait alone",
            "<= 1.0x",
            f"{ratio(first, bare):.2f}x ({first.median:.1f} s vs {bare.median:.1f} s)",
            ratio(first, bare) <= 1.0,
        ),
    ]
