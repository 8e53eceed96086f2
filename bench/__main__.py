"""`python -m bench`: run every measurement, print progress, write bench/results.md."""

from __future__ import annotations

import argparse
import subprocess
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    builds,
    cli,
    machine,
    production,
    ready,
    reload,
    remote,
    scale,
    stacks,
    teardown,
    testrun,
)
from bench.report import Table, Target, markdown, merge, say, without_table

HERE = Path(__file__).resolve().parent
SECTIONS = (
    "ready",
    "reload",
    "teardown",
    "cli",
    "production",
    "scale",
    "remote",
    "test",
    "builds",
)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repetition of everything")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each timing")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="with --only: write only these sections (default: update them in --out)",
    )
    return parser.parse_args()


def main() -> int:
    args = _args()
    reps = 1 if args.quick else args.reps
    edits = 10 if args.quick else 50
    wanted = args.only or list(SECTIONS)
    started = time.monotonic()
    say(f"devstack benchmarks: {reps} repetition(s), sections: {', '.join(wanted)}")
    info = machine.describe()
    tables: list[Table] = []
    targets: list[Target] = []
    failures: list[str] = []

    def section(name: str, action: Callable[[], tuple[list[Table], list[Target]]]) -> None:
        if name not in wanted:
            return
        say(f"== {name}")
        try:
            new_tables, new_targets = action()
        except Exception as exc:
            traceback.print_exc()
            failures.append(f"{name}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}")
            say(f"{name} failed: {exc}")
            return
        tables.extend(new_tables)
        targets.extend(new_targets)

    try:
        section("ready", lambda: ready.measure(reps, rebuild_reps=1))
        section("reload", lambda: reload.measure(edits, 5 if args.quick else 10))
        section("teardown", lambda: teardown.measure(reps))
        section("cli", lambda: cli.measure(15 if not args.quick else 5))
        section("production", lambda: (production.measure(reps, 4 if not args.quick else 3), []))
        section(
            "scale",
            lambda: (scale.measure(1, 10 if not args.quick else 5, 5), []),
        )
        section("remote", lambda: remote.measure(edits, reps))
        section("test", lambda: testrun.measure(reps))
        section("builds", lambda: builds.measure(reps))
    finally:
        say("cleaning up every project this run created")
        problems = stacks.cleanup()
        failures += [f"cleanup: {p}" for p in problems]
    elapsed = time.monotonic() - started
    header = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min, "
        f"`bench/run{' --quick' if args.quick else ''}`, {reps} repetition(s) per timing "
        f"(image rebuilds and scale: 1); commit {_commit()}.",
        "",
        "Every comparison is a ratio of medians taken in this one run on this machine, which "
        "is shared and noisy (other test suites run beside it). devstack ran from its venv "
        "with PYTHONDONTWRITEBYTECODE unset and the venv byte-compiled, as a normal install.",
    ]
    if failures:
        header += ["", "**Not measured (failed):**", *[f"- {f}" for f in failures]]
    findings = (HERE / "findings.md").read_text() if (HERE / "findings.md").exists() else ""
    if args.only and not args.fresh and args.out.exists() and not failures:
        note = (
            f"Sections {', '.join(wanted)} measured again {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
            f"in {elapsed / 60:.1f} min (`bench/run --only {' --only '.join(wanted)}`), "
            f"commit {_commit()}; the rest is from the run above."
        )
        text = merge(
            args.out.read_text(),
            targets=targets,
            tables=tables,
            findings=findings,
            note=note,
            measured=wanted,
        )
    else:
        text = markdown(
            machine=info, targets=targets, tables=tables, findings=findings, header_notes=header
        )
    if missing := without_table(text):
        raise SystemExit(f"bench: not writing {args.out}: sections without a table: {missing}")
    args.out.write_text(text)
    say(f"wrote {args.out} in {elapsed / 60:.1f} min")
    for t in targets:
        verdict = "n/a" if t.passed is None else ("PASS" if t.passed else "MISS")
        print(f"{verdict:5} {t.name}: {t.achieved} (goal {t.goal})")
    return 1 if failures else 0


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
