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


def merge(
    old: str,
    *,
    targets: Sequence[Target],
    tables: Sequence[Table],
    findings: str,
    note: str,
    measured: Sequence[str] = (),
) -> str:
    """`old` results with some sections measured again (`bench/run --only ...`): their tables
    and target rows replaced (new ones added after them), findings brought up to date, and a
    note under the header saying what was measured when (earlier notes kept for sections not
    `measured` this time)."""
    blocks: list[list[str]] = [[]]
    for line in old.splitlines():
        if line.startswith("## "):
            blocks.append([])
        blocks[-1].append(line)
    head, sections = blocks[0], blocks[1:]

    def title(block: list[str]) -> str:
        return block[0][3:].strip()

    new_rows = {t.name: row for t, row in zip(targets, targets_table(targets)[2:], strict=True)}
    for block in sections:
        if title(block) != "Targets":
            continue
        rows = [line for line in block if line.startswith("| ")][1:]
        kept = [r for r in rows if r.split("|")[1].strip() not in new_rows]
        body = targets_table([])[:2] + kept + list(new_rows.values())
        block[:] = [block[0], "", *body, ""]
    rendered = {
        t.title: [f"## {t.title}", "", *_md_table(t.columns, t.rows), ""]
        + [f"- {n}" for n in t.notes]
        + ([""] if t.notes else [])
        for t in tables
    }
    # The section's tables go, in the order measured, where the first of them was.
    first = min((i for i, b in enumerate(sections) if title(b) in rendered), default=None)
    out: list[list[str]] = []
    for i, block in enumerate(sections):
        name = title(block)
        if name == "Findings":
            out.append(["## Findings", "", findings.strip(), ""])
        elif i == first:
            out.extend(rendered.values())
        elif name not in rendered:
            out.append(block)
    if first is None:  # none of these sections were there before
        at = next((i for i, b in enumerate(out) if b[0] == "## Findings"), len(out))
        out[at:at] = list(rendered.values())
    head = [line for line in head if not _superseded(line, measured)]
    while head and not head[-1].strip():
        head.pop()
    head += ["", note, ""]
    return "\n".join(head + [line for block in out for line in block]).rstrip() + "\n"


def _superseded(line: str, measured: Sequence[str]) -> bool:
    """An earlier "Sections A, B measured again" note whose sections are all measured now."""
    if " measured again " not in line or not line.startswith("Sections "):
        return False
    named = line.removeprefix("Sections ").split(" measured again ", 1)[0].split(", ")
    return not measured or set(named) <= set(measured)


def without_table(text: str) -> list[str]:
    """The headings of sections (Findings aside) with no table, or a table with no rows:
    results are written only when there are none."""
    missing: list[str] = []
    title: str | None = None
    separator = rows = False
    for line in [*text.splitlines(), "## end"]:
        if line.startswith("## "):
            if title is not None and title != "Findings" and not rows:
                missing.append(title)
            title, separator, rows = line[3:].strip(), False, False
        elif line.startswith("|-"):
            separator = True
        elif line.startswith("| ") and separator:
            rows = True
    return missing
