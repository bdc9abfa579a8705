"""Issue 13: an HR system's own export loads as far as it can and says on screen what it did.

Occupations are an open vocabulary, the mapping can ignore event types, dates come as Excel serial
numbers or in either day/month order, and the screen shows the quarantine counted by table, column
and reason, with the rows that went with their parent named as such.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from command_line import invoke
from continuity.features import contract as C
from continuity.features.ingest import UnusableInput
from continuity.features.ingest_summary import LOST_BECAUSE, SHOWN_PROBLEMS, lost_lines, summary_lines
from continuity.models.encoding import FeatureEncoder
from test_ingest import BASE, KEY, edit, ingest, table, write_export
from test_ingest import ingest_path  # noqa: F401 - a fixture: each test runs on both ingest paths


def _with_mapping(tmp_path, text: str):
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def _hire_dates(tmp_path) -> dict[str, str]:
    frame = table(tmp_path, "select worker_id, strftime(hire_date, '%Y-%m-%d') d from workers")
    return dict(zip(frame.worker_id, frame.d))


# --------------------------------------------------------------------------- occupations: an open vocabulary


def test_unknown_occupation_loads_and_is_reported(tmp_path):
    t = edit(edit(BASE, "workers", 2, "occupation", "ambulant begeleider"), "workers", 3, "occupation", "ambulant begeleider")
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert r.exit_code == 0 and r.tables["workers"].loaded == 3
    assert r.unknown_labels == {"workers.occupation": {"ambulant begeleider": 2}}
    assert any("ambulant begeleider (2)" in w and "grouped as 'other'" in w for w in r.warnings)
    assert sorted(table(tmp_path, "select occupation from workers").occupation) == [
        "ambulant begeleider", "ambulant begeleider", "jongerenwerker"]


def test_mapping_maps_an_unknown_occupation_onto_a_known_one(tmp_path):
    mapping = _with_mapping(tmp_path, "values:\n  occupation:\n    Ambulant Begeleider: maatschappelijk werker\n")
    r = ingest(write_export(tmp_path / "ex", edit(BASE, "workers", 3, "occupation", "ambulant begeleider")), tmp_path,
               mapping=mapping)
    assert r.unknown_labels == {} and r.exit_code == 0
    assert table(tmp_path, "select occupation from workers where worker_id = 'W2'").occupation[0] == "maatschappelijk werker"


def test_formula_in_an_unknown_occupation_is_stored_harmless(tmp_path):
    r = ingest(write_export(tmp_path / "ex", edit(BASE, "workers", 2, "occupation", "=HYPERLINK(\"x\")")), tmp_path)
    assert r.exit_code == 0
    assert table(tmp_path, "select occupation from workers where worker_id = 'W1'").occupation[0] == "'=HYPERLINK(\"x\")"
    assert any("formulas" in w and "occupation" in w for w in r.warnings)


def test_the_model_groups_unknown_occupations_and_scores_unseen_ones():
    known = list(C.ALLOWED_LABELS[("workers", "occupation")][:3])
    train = pd.DataFrame({"occupation": known + ["ambulant begeleider", None], "fte": [0.5, 0.8, 1.0, 0.6, 0.9]})
    encoder = FeatureEncoder(("occupation", "fte")).fit(train)
    assert "occupation__occupation_other" in encoder.columns_
    assert not any("begeleider" in c for c in encoder.columns_)
    scored = encoder.transform(pd.DataFrame({"occupation": ["woonbegeleider", "ambulant begeleider"], "fte": [0.7, 0.7]}))
    assert scored.iloc[0].equals(scored.iloc[1])  # a title first seen now is 'other', as in training
    assert scored["occupation__occupation_other"].tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- ignored event types


def test_ignored_event_type_is_counted_not_quarantined(tmp_path):
    t = {k: list(v) for k, v in BASE.items()}
    t["hr_events"] += ["W1;2021-01-04;Verlof;2021-01-08;;", "W2;2021-02-01;verlof;;;"]
    src = write_export(tmp_path / "ex", t)
    mapping = _with_mapping(tmp_path, "ignore:\n  hr_events.event_type: [verlof]\n")
    r = ingest(src, tmp_path, mapping=mapping)
    assert r.exit_code == 0
    counts = r.tables["hr_events"]
    assert (counts.read, counts.loaded, counts.quarantined, counts.ignored) == (5, 3, 0, 2)
    assert r.ignored == {"hr_events": {"event_type Verlof": 1, "event_type verlof": 1}}
    assert any("2 row(s) ignored as the mapping asks" in w for w in r.warnings)
    assert table(tmp_path, "select sum(ignored) n from load_log where table_name = 'hr_events'").n[0] == 2
    # without the mapping's ignore the same rows are quarantined: nothing is ever silently dropped
    r = ingest(src, tmp_path / "again")
    assert r.tables["hr_events"].quarantined == 2 and r.tables["hr_events"].ignored == 0


def test_ignore_matches_the_translated_label_too(tmp_path):
    t = edit(BASE, "hr_events", 4, "event_type", "periodiek")
    mapping = _with_mapping(tmp_path, "values:\n  event_type: {periodiek: scale_step}\n"
                                      "ignore:\n  hr_events.event_type: scale_step\n")
    r = ingest(write_export(tmp_path / "ex", t), tmp_path, mapping=mapping)
    assert r.tables["hr_events"].ignored == 1 and r.tables["hr_events"].loaded == 2


@pytest.mark.parametrize("text,words", [
    ("ignore:\n  workers.worker_id: [W1]\n", "rows can be ignored by a label column only"),
    ("ignore:\n  hr_events.event_type: []\n", "must be a list of labels"),
    ("ignore: [verlof]\n", "ignore must map table.column"),
    ("date_format: \"%d-%m\"\n", "must name day, month and year"),
], ids=["id column", "empty list", "not a mapping", "date format without a year"])
def test_a_wrong_mapping_is_refused_in_one_line(tmp_path, text, words):
    with pytest.raises(UnusableInput, match=words) as e:
        ingest(write_export(tmp_path / "ex"), tmp_path, mapping=_with_mapping(tmp_path, text))
    assert "\n" not in str(e.value) and "mapping.yaml" in str(e.value)


# --------------------------------------------------------------------------- the screen summary


def test_summary_counts_problems_and_names_rows_lost_with_their_parent(tmp_path, monkeypatch):
    t = edit(BASE, "workers", 2, "fte", "2")  # W1 quarantined: its events, case and contacts go with it
    for row in (2, 3, 4):  # an unmapped role label: every case is quarantined, and with them every contact
        t = edit(t, "assignments", row, "role", "hoofdbehandelaar")
    t["workers"].append("W4;ORG1;T1;GM0363;ambulant begeleider;1980;f;permanent;;0.8;8;3;2019-02-01;;")
    monkeypatch.setenv("CONTINUITY_PSEUDONYM_KEY", KEY)
    code, out = invoke("ingest", str(write_export(tmp_path / "ex", t)), "--warehouse", str(tmp_path / "wh.duckdb"))
    text = " ".join(out.split())
    assert code == 1, out
    assert "Quarantined rows by table, column and reason" in out
    # W1's case is counted with its own problem (its role), not again as lost with W1
    assert "2 hr_events and 2 contacts lost because their worker was quarantined" in text
    assert "3 contacts lost because every case of their client was quarantined" in text
    assert "ambulant begeleider (1)" in text  # warnings are shown, not only written into the report
    role = next(line for line in out.splitlines() if "hoofdbehandelaar" not in line and " role " in line)
    assert "unknown label" in role and " 3 " in role and "assignments.csv row 2" in role
    assert "row 3 column" not in out  # no raw error lines


def test_the_run_log_shows_the_most_frequent_problems_and_how_many_more():
    problems = [{"table": "assignments", "file": "toewijzingen.csv", "column": "role", "reason": f"reason {i}",
                 "rows": 100 - i, "first_row": i + 2} for i in range(SHOWN_PROBLEMS + 5)]
    lines = summary_lines({"tables": {}, "problems": problems, "lost_with_parent": {"assignments": {"contacts": 7}},
                           "warnings": ["personeel.csv: ignored column(s) not in the contract: Naam"]})
    assert lines[0] == ("table: assignments | column: role | reason: reason 0 | rows: 100 | "
                        "first row: toewijzingen.csv row 2")
    assert "5 more kinds of problem" in lines[SHOWN_PROBLEMS]
    assert lines[-2:] == ["7 contacts lost because every case of their client was quarantined",
                          "warning: personeel.csv: ignored column(s) not in the contract: Naam"]


def test_every_parent_table_has_its_sentence():
    parents = {ref for references in C.FOREIGN_KEYS.values() for _, ref, _ in references}
    assert parents <= set(LOST_BECAUSE)
    assert lost_lines({"workers": {"assignments": 41200, "contacts": 365000}}) == [
        "41,200 assignments and 365,000 contacts lost because their worker was quarantined"]


# --------------------------------------------------------------------------- dates as HR systems write them

SERIAL = 43497  # Excel's day number of 2019-02-01


def test_excel_serial_numbers_are_dates_in_csv_and_xlsx(tmp_path):
    assert date(1899, 12, 30) + timedelta(days=SERIAL) == date(2019, 2, 1)
    t = edit(edit(BASE, "workers", 2, "hire_date", str(SERIAL)), "workers", 3, "hire_date", f"{SERIAL}.75")
    src = write_export(tmp_path / "ex", t)
    r = ingest(src, tmp_path)
    assert r.exit_code == 0 and _hire_dates(tmp_path)["W1"] == _hire_dates(tmp_path)["W2"] == "2019-02-01"
    # an .xlsx whose date column lost its date format holds plain numbers
    workers = pd.read_csv(src / "workers.csv", sep=";", dtype=str, keep_default_na=False)
    workers["hire_date"] = [SERIAL, SERIAL + 1, pd.Timestamp("2015-05-01")]
    (src / "workers.csv").unlink()
    workers.to_excel(src / "workers.xlsx", index=False)
    r = ingest(src, tmp_path / "xlsx")
    assert r.exit_code == 0
    assert _hire_dates(tmp_path / "xlsx") == {"W1": "2019-02-01", "W2": "2019-02-02", "W3": "2015-05-01"}


@pytest.mark.parametrize("w2_hire,w1_hire,reason", [
    (None, None, "no date in this file has a day above 12"),
    ("25-03-2021", "2018-04-03", None),  # day 25 shows the file is day-first
    ("03/25/2021", "2018-03-04", None),  # month 25 is impossible: the file is month-first
], ids=["nothing settles", "file is day-first", "file is month-first"])
def test_ambiguous_date_is_read_as_its_file_settles_or_quarantined(tmp_path, w2_hire, w1_hire, reason):
    t = edit(BASE, "workers", 2, "hire_date", "03-04-2018")
    if w2_hire:
        t = edit(t, "workers", 3, "hire_date", w2_hire)
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    if reason:
        (error,) = [e for e in r.errors if e.file == "workers.csv" and e.row == 2]
        assert error.column == "hire_date" and error.value == "03-04-2018"
        assert "ambiguous date: 3 April 2018 or 4 March 2018" in error.reason and reason in error.reason
        assert "date_format" in error.reason
    else:
        assert r.exit_code == 0 and _hire_dates(tmp_path)["W1"] == w1_hire


def test_a_file_with_both_orders_reads_only_its_unambiguous_dates(tmp_path):
    t = edit(edit(BASE, "workers", 2, "hire_date", "03-04-2018"), "workers", 3, "hire_date", "25-03-2021")
    t = edit(t, "workers", 4, "hire_date", "05/13/2015")
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert [(e.row, e.column) for e in r.errors if e.file == "workers.csv"] == [(2, "hire_date")]
    assert "this file has dates in both orders" in r.errors[0].reason
    assert _hire_dates(tmp_path) == {"W2": "2021-03-25", "W3": "2015-05-13"}


def test_date_format_in_the_mapping_chooses_the_order(tmp_path):
    t = edit(edit(BASE, "workers", 2, "hire_date", "04/03/2018 00:00"), "workers", 3, "hire_date", "25-03-2021")
    r = ingest(write_export(tmp_path / "ex", t), tmp_path, mapping=_with_mapping(tmp_path, 'date_format: "%m/%d/%Y"\n'))
    assert _hire_dates(tmp_path)["W1"] == "2018-04-03"
    (error,) = [e for e in r.errors if e.file == "workers.csv"]
    assert error.row == 3 and "12/31/2024 as the mapping's date_format '%m/%d/%Y' says" in error.reason
    assert _hire_dates(tmp_path)["W3"] == "2015-05-01"  # ISO is always read
