"""A load as a person reads it on screen, after `continuity ingest` and after `continuity run`.

An export with one broken label can quarantine hundreds of thousands of rows; twenty raw error
lines then show the symptom and hide the cause. So the screen shows the counts per table, the
quarantine counted by table, column and reason, the rows that went with a quarantined parent
row (named by what they lost), and every warning; the row-by-row detail stays in the report
JSON and the warehouse's ``quarantine`` table.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

SHOWN_PROBLEMS = 15

LOST_BECAUSE = {
    "workers": "their worker was quarantined",
    "assignments": "every case of their client was quarantined",
    "funding_contracts": "their organisation's funding contracts were quarantined",
}
"""Why a row went with its parent, per parent table (``contract.FOREIGN_KEYS``)."""


def print_ingest(console: Console, payload: dict) -> None:
    """Print an ``IngestReport.to_json()`` payload: counts, problems, rows lost with their parent, warnings."""
    sizes = Table(title="Data ingested")
    for column in ("table", "read", "loaded", "quarantined", "ignored"):
        sizes.add_column(column, justify="left" if column == "table" else "right")
    for name, counts in payload["tables"].items():
        sizes.add_row(name, *(f"{counts.get(k, 0):,}" for k in ("read", "loaded", "quarantined", "ignored")))
    console.print(sizes)
    rows = problem_rows(payload)
    if rows:
        shown = Table(title="Quarantined rows by table, column and reason")
        for column in PROBLEM_COLUMNS:
            shown.add_column(column, justify="right" if column in ("rows", "first row") else "left", overflow="fold")
        for row in rows:
            shown.add_row(*(escape(cell) for cell in row))
        console.print(shown)
    for line in later_lines(payload):
        console.print(escape(line), style="yellow" if line.startswith("warning:") else "red")


def summary_lines(payload: dict) -> list[str]:
    """The same summary as plain lines, for the weekly run's log: there it is seen even when a later
    step stops the run (as one does when the quarantine took every leaver along)."""
    return [" | ".join(f"{name}: {cell}" for name, cell in zip(PROBLEM_COLUMNS, row))
            for row in problem_rows(payload)] + later_lines(payload)


PROBLEM_COLUMNS = ("table", "column", "reason", "rows", "first row")


def problem_rows(payload: dict) -> list[tuple[str, ...]]:
    """The most frequent problems, as cells under ``PROBLEM_COLUMNS``, and a last row saying how many more."""
    problems = payload.get("problems", [])
    rows = [(p["table"], p["column"] or "-", p["reason"], f"{p['rows']:,}",
             f"{p['file']} row {p['first_row']}" if p["first_row"] is not None else p["file"])
            for p in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        rows.append(("...", "", f"{len(problems) - SHOWN_PROBLEMS} more kinds of problem (every row: the report "
                     "JSON, or the warehouse's quarantine table)", "", ""))
    return rows


def later_lines(payload: dict) -> list[str]:
    """What follows the problems: rows lost with their parent, then every warning."""
    return lost_lines(payload.get("lost_with_parent", {})) + [f"warning: {w}" for w in payload.get("warnings", [])]


def lost_lines(lost: dict[str, dict[str, int]]) -> list[str]:
    """One sentence per parent table: '41,200 assignments and 365,000 contacts lost because their worker
    was quarantined'."""
    lines = []
    for parent, tables in lost.items():
        counts = [f"{rows:,} {table}" for table, rows in tables.items()]
        listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
        lines.append(f"{listed} lost because {LOST_BECAUSE[parent]}")
    return lines
