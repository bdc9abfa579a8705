"""docs/data-contract.md stays true to the contract in code, and its worked example loads as written."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from continuity.features import contract as C
from continuity.features.ingest import ingest_dir
from continuity.features.mapping import SECTIONS

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"
TEXT = DOC.read_text(encoding="utf-8")
FILE_BLOCK = re.compile(r"^`([\w.-]+\.(?:csv|yaml))`:?\n\n```(?:csv|yaml)\n(.*?)^```", re.M | re.S)


def _section(heading: str) -> str:
    """The text under one heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = TEXT.index(f"\n{heading}\n")
    following = re.search(rf"^#{{1,{len(level)}}} ", TEXT[start + len(heading) + 2:], re.M)
    return TEXT[start:start + len(heading) + 2 + following.start()] if following else TEXT[start:]


@pytest.mark.parametrize("table", list(C.TABLES.values()), ids=lambda t: t.name)
def test_every_column_of_every_table_is_documented(table):
    section = _section(f"### {table.name}")
    missing = [c.name for c in table.columns if f"| `{c.name}` |" not in section]
    assert not missing, f"docs/data-contract.md, {table.name}: columns not documented {missing}"
    for column in table.columns:
        row = next(line for line in section.splitlines() if line.startswith(f"| `{column.name}` |"))
        assert f"| {'yes' if column.required else 'no'} |" in row, (table.name, column.name)
    assert all(f"`{k}`" in section for k in table.key)


def test_every_label_is_documented():
    labels = _section("## Labels")
    missing = [f"{t}.{c}: {label}" for (t, c), allowed in C.ALLOWED_LABELS.items() for label in allowed
               if not re.search(rf"`{t}\.{c}`[^\n]*\|[^\n]*(?<![\w-]){re.escape(label)}(?![\w-])", labels)]
    assert not missing, f"docs/data-contract.md: labels not documented {missing}"
    events = _section("### hr_events")
    assert all(f"| `{kind}` |" in events for kind in C.ALLOWED_LABELS[("hr_events", "event_type")])
    for table, column in C.OPEN_LABELS:
        assert re.search(rf"`{table}\.{column}`[^\n]*\*\*open\*\*", labels)


def test_every_mapping_section_is_documented():
    mapping = _section("## The mapping file")
    assert all(f"| `{name}` |" in mapping for name in SECTIONS)


def test_the_worked_example_loads_as_written(tmp_path):
    blocks = dict(FILE_BLOCK.findall(_section("## Worked example: a Dutch export")))
    assert {"personeel.csv", "mapping.yaml"} <= set(blocks)
    export = tmp_path / "export"
    export.mkdir()
    for name, text in blocks.items():
        (export if name.endswith(".csv") else tmp_path).joinpath(name).write_text(text, encoding="utf-8")
    report = ingest_dir(export, tmp_path / "wh.duckdb", mapping=tmp_path / "mapping.yaml",
                        pseudonym_key="doc-example-key", export_date=date(2024, 6, 3))
    assert report.exit_code == 0, report.errors
    assert report.tables["hr_events"].ignored == 1
    assert report.unknown_labels == {"workers.occupation": {"ambulant begeleider": 1}}
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        leaver = con.execute("select termination_date, termination_reason from workers where worker_id = 'P003'").fetchone()
        fte = con.execute("select fte from workers where worker_id = 'P001'").fetchone()[0]
    assert leaver == (date(2023, 1, 31), "voluntary") and fte == 0.89
