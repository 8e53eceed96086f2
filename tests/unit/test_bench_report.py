"""bench/results.md's writer: every section keeps its table, re-measured sections go back in
the order measured."""

from __future__ import annotations

from pathlib import Path

from bench.report import Table, Target, markdown, merge, without_table

OLD = ["Ready", "CLI: ps", "Profile", "Scale"]
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results.md"


def _table(title: str, value: str) -> Table:
    return Table(title, ["variant", "median (s)"], [["x", value]], ["a note"])


def test_sections_without_a_table_are_found() -> None:
    text = "# r\n\n## A\n\n| a |\n|---|\n| 1 |\n\n## B\n\n## C\n\n| c |\n|---|\n\n"
    text += "## Findings\n\nprose"
    assert without_table(text) == ["B", "C"]


def test_the_committed_results_are_well_formed() -> None:
    assert without_table(RESULTS.read_text()) == []


def test_merge_replaces_a_section_in_the_order_measured() -> None:
    old = markdown(
        machine=[("cpu", "2")],
        targets=[Target("ps", "<= 2x", "3x", False)],
        tables=[_table(t, "9" if t in ("CLI: ps", "Profile") else "1") for t in OLD],
        findings="old findings",
        header_notes=[],
    )
    new = merge(
        old,
        targets=[Target("ps", "<= 2x", "1.5x", True)],
        tables=[_table("CLI: ps", "2"), _table("CLI: config", "2"), _table("Profile", "2")],
        findings="new findings",
        note="measured again",
    )
    titles = [line[3:] for line in new.splitlines() if line.startswith("## ")]
    assert titles == ["Targets", "Ready", "CLI: ps", "CLI: config", "Profile", "Scale", "Findings"]
    assert without_table(new) == []
    assert "| x | 9 |" not in new and new.count("| x | 2 |") == 3
    assert "1.5x" in new and "3x" not in new and "new findings" in new


def test_merge_keeps_the_notes_of_sections_not_measured_again() -> None:
    old = markdown(
        machine=[("cpu", "2")],
        targets=[],
        tables=[_table(t, "1") for t in OLD],
        findings="",
        header_notes=[
            "Sections builds measured again 08:53.",
            "",
            "Sections ready, cli measured again 08:34.",
        ],
    )
    new = merge(
        old,
        targets=[],
        tables=[_table("CLI: ps", "2")],
        findings="",
        note="Sections ready, cli measured again 12:43.",
        measured=["ready", "cli"],
    )
    assert "Sections builds measured again 08:53." in new
    assert "08:34" not in new and "Sections ready, cli measured again 12:43." in new
