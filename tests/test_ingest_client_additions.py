"""The optional additions of the contract for clients' continuity: households, placements, team markets and
notices. Each loads when present (pseudonymised where it names a client), is quarantined row by row when
broken, and leaves an export without it as it was."""

from __future__ import annotations

from datetime import date

import pytest

from continuity.features.pseudonymise import pseudonym

from test_ingest import BASE, EXPORT, KEY, edit, ingest, table, write_export
from test_ingest import ingest_path  # noqa: F401 - a fixture: each test runs on both ingest paths

WITH_ADDITIONS = BASE | {
    "assignments": [
        BASE["assignments"][0].replace("client_id;", "client_id;household_id;"),
        *(line.replace(";", f";{household};", 1)
          for line, household in zip(BASE["assignments"][1:], ("H1", "H2", "H1"))),
    ],
    "placements": [
        "client_id;placement_date;setting;end_date",
        "K1;2019-06-01;foster_family;2021-02-01",
        "K1;2021-02-01;residential_group;",
    ],
    "teams": [
        "team_id;organisation_id;municipality;domain",
        "T1;ORG1;GM0363;jeugd",
        "T2;ORG2;GM0599;wmo",
    ],
    "hr_events": [
        *BASE["hr_events"],
        "W2;2024-05-20;notice;2024-06-30;;worker",
    ],
}


def test_the_additions_load_with_client_and_household_pseudonymised(tmp_path):
    r = ingest(write_export(tmp_path / "ex", WITH_ADDITIONS), tmp_path)
    assert r.exit_code == 0, r.errors
    assert {name: r.tables[name].loaded for name in ("placements", "teams")} == {"placements": 2, "teams": 2}
    cases = table(tmp_path, "select client_id, household_id from assignments order by start_date")
    assert list(cases.household_id) == [pseudonym(h, KEY) for h in ("H1", "H2", "H1")]
    placements = table(tmp_path, "select * from placements order by placement_date")
    assert set(placements.client_id) == {pseudonym("K1", KEY)}
    assert list(placements.setting) == ["foster_family", "residential_group"]
    assert placements.end_date.isna().tolist() == [False, True]
    # a notice already given carries its planned last day, after the export date
    notice = table(tmp_path, "select * from hr_events where event_type = 'notice'")
    assert notice.end_date.dt.date.tolist() == [date(2024, 6, 30)] and date(2024, 6, 30) > EXPORT
    assert table(tmp_path, "select count(*) as n from teams").n[0] == 2


def test_a_client_without_a_household_keeps_none(tmp_path):
    """An empty household id stays empty: it once took the pseudonym of the column's last household."""
    r = ingest(write_export(tmp_path / "ex", edit(WITH_ADDITIONS, "assignments", 3, "household_id", "")), tmp_path)
    assert r.exit_code == 0, r.errors
    cases = table(tmp_path, "select household_id from assignments order by start_date")
    assert cases.household_id.tolist() == [pseudonym("H1", KEY), None, pseudonym("H1", KEY)]


def test_dutch_labels_of_the_additions_are_understood_without_a_mapping(tmp_path):
    dutch = edit(edit(edit(WITH_ADDITIONS, "placements", 2, "setting", "Pleeggezin"), "placements", 3, "setting",
                      "leefgroep"), "hr_events", 5, "event_type", "opzegging")
    r = ingest(write_export(tmp_path / "ex", dutch), tmp_path)
    assert r.exit_code == 0, r.errors
    assert list(table(tmp_path, "select setting from placements order by placement_date").setting) == [
        "foster_family", "residential_group"]
    assert table(tmp_path, "select count(*) as n from hr_events where event_type = 'notice'").n[0] == 1


def test_without_the_additions_the_tables_exist_empty_and_household_is_null(tmp_path):
    r = ingest(write_export(tmp_path / "ex"), tmp_path)
    assert r.exit_code == 0 and "placements" not in r.tables and "teams" not in r.tables
    assert table(tmp_path, "select count(*) as n from placements").n[0] == 0
    assert table(tmp_path, "select count(*) as n from teams").n[0] == 0
    assert table(tmp_path, "select household_id from assignments").household_id.isna().all()


BROKEN = [
    # (name, table, file row, column, value, words in the reason)
    ("unknown setting", "placements", 2, "setting", "kostschool", "allowed labels: foster_family, residential_group"),
    ("placement ends before it began", "placements", 2, "end_date", "2019-01-01", "end_date is before placement_date"),
    ("placement in the future", "placements", 3, "placement_date", "2030-01-01", "date in the future"),
    ("placement of an unknown client", "placements", 3, "client_id", "K404", "client_id not found in assignments"),
    ("placement date not a date", "placements", 2, "placement_date", "vorig jaar", "not a valid date"),
    ("missing setting", "placements", 3, "setting", "", "required value missing"),
    ("team in an unknown domain", "teams", 2, "domain", "zorg", "allowed labels"),
    ("team of an unfunded organisation", "teams", 3, "organisation_id", "ORG9",
     "organisation_id not found in funding_contracts"),
    ("notice ending before it was given", "hr_events", 5, "end_date", "2024-01-01", "end_date is before event_date"),
    ("notice given after the export", "hr_events", 5, "event_date", "2024-07-01", "date in the future"),
]


@pytest.mark.parametrize("name,tbl,row,column,value,reason", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_additions_are_quarantined_with_file_row_and_column(tmp_path, name, tbl, row, column, value, reason):
    r = ingest(write_export(tmp_path / "ex", edit(WITH_ADDITIONS, tbl, row, column, value)), tmp_path)
    assert r.exit_code == 1
    hits = [e for e in r.errors if e.file == f"{tbl}.csv" and e.row == row and e.column == column]
    assert hits and reason in hits[0].reason, r.errors
    assert r.tables[tbl].quarantined == 1
    if column == "client_id":  # a client id is only ever shown as its pseudonym
        assert hits[0].value == pseudonym(value, KEY)
