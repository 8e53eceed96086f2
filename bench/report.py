"""Tables, targets and the markdown of bench/results.md."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.timing import Stats

_START = time.monotonic()


def say(text: str) -> None:
    """Progress on stderr, with the time since the run started."""
    secs = int(time.monotonic() - _START)
    print(f"[bench {secs // 60:02d}:{secs % 60:02d}] {text}", file=sys.stderr, flush=True)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    achieved: str
    passed: bool | None  # None: not measured


def secs(value: float) -> str:
    return f"{value:.2f} s"


def timing_table(
    title: str,
    results: Mapping[str, Stats],
    *,
    baseline: str | None = None,
    unit: str = "s",
    notes: Sequence[str] = (),
) -> Table:
    """median / min / max per variant, and each median's ratio to the baseline's."""
    columns = ["variant", f"median ({unit})", f"min ({unit})", f"max ({unit})", "runs"]
    if baseline:
        columns.append(f"ratio to {baseline}")
    table = Table(title, columns, notes=list(notes))
    for label, st in results.items():
        row = [label, f"{st.median:.3f}", f"{st.min:.3f}", f"{st.max:.3f}", str(st.n)]
        if baseline:
            base = results[baseline].median
            row.append(f"{st.median / base:.2f}x" if base else "-")
        table.rows.append(row)
    return table


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def targets_table(targets: Sequence[Target]) -> list[str]:
    def verdict(t: Target) -> str:
        return "n/a" if t.passed is None else ("PASS" if t.passed else "MISS")

    return _md_table(
        ["target", "goal", "achieved", "result"],
        [[t.name, t.goal, t.achieved, verdict(t)] for t in targets],
    )


def markdown(
    *,
    machine: Sequence[tuple[str, str]],
    targets: Sequence[Target],
    tables: Sequence[Table],
    findings: str,
    header_notes: Sequence[str],
) -> str:
    lines = ["# devstack benchmarks", "", "Written by `bench/run`; do not edit by hand.", ""]
    lines += [f"- **{k}**: {v}" for k, v in machine]
    lines += ["", *header_notes, "", "## Targets", "", *targets_table(targets), ""]
    for table in tables:
        lines += [f"## {table.title}", "", *_md_table(table.columns, table.rows), ""]
        lines += [f"- {note}" for note in table.notes]
        if table.notes:
            lines.append("")
    if findings.strip():
        lines += ["## Findings", "", findings.strip(), ""]
    return "\n".join(lines)
