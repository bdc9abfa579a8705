"""Ingest of real exports: hostile inputs, conservation of rows, idempotence, atomicity.

Every export here is a tiny hand-written file in tmp_path; every test runs the real
``ingest_dir`` against a real DuckDB file.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from continuity.features.ingest import IngestReport, UnusableInput, ingest_dir
from continuity.features.pseudonymise import pseudonym
from continuity.spreadsheet_safety import is_formula_like, neutralise, neutralise_frame

KEY = "test-key"
EXPORT = date(2024, 6, 3)

BASE = {
    "funding_contracts": [
        "contract_id;organisation_id;municipality;domain;start_date;end_date;tendered;awarded_date",
        "C1;ORG1;GM0363;jeugd;2020-01-01;2025-12-31;true;2019-10-15",
        "C2;ORG2;GM0599;wmo;2021-01-01;2026-12-31;false;2020-11-01",
    ],
    "workers": [
        "worker_id;organisation_id;team_id;region;occupation;birth_year;gender;contract_type;contract_end_date;fte;pay_scale;pay_step;hire_date;termination_date;termination_reason",
        "W1;ORG1;T1;GM0363;maatschappelijk werker;1985;f;permanent;;0.8;8;3;2018-02-01;;",
        "W2;ORG1;T1;GM0363;Wmo-consulent;1990;m;temporary;2024-12-31;1.0;9;1;2021-03-01;;",
        "W3;ORG2;T2;GM0599;jongerenwerker;1975;x;permanent;;0.6;7;5;2015-05-01;2023-01-31;voluntary",
    ],
    "hr_events": [
        "worker_id;event_date;event_type;end_date;value;detail",
        "W1;2020-03-01;sick_leave;2020-03-20;;",
        "W1;2020-05-01;overtime;;12.5;",
        "W2;2022-01-01;scale_step;;;9-2",
    ],
    "assignments": [
        "client_id;worker_id;role;start_date;end_date;end_reason;domain;complexity;flag_youth;flag_out_of_home;flag_intellectual_disability;flag_crisis",
        "K1;W1;primary;2020-01-01;;;jeugd;3;true;false;false;false",
        "K2;W2;primary;2021-05-01;2022-05-01;closed;wmo;2;false;false;false;true",
        "K1;W2;secondary;2021-06-01;;;jeugd;3;true;false;false;false",
    ],
    "contacts": [
        "client_id;worker_id;contact_date;minutes",
        "K1;W1;2020-02-01;45",
        "K1;W1;2020-02-08;30",
        "K2;W2;2021-06-01;60",
    ],
}


@pytest.fixture(autouse=True, params=["pandas", "duckdb"])
def ingest_path(request, monkeypatch):
    """Every ingest test runs on both paths: small files with pandas, and every CSV and Parquet file inside
    DuckDB, as a sector's large files are (``CONTINUITY_INGEST_SQL_MIN_BYTES``)."""
    if request.param == "duckdb":
        monkeypatch.setenv("CONTINUITY_INGEST_SQL_MIN_BYTES", "0")
    else:
        monkeypatch.setenv("CONTINUITY_INGEST_SQL_MIN_BYTES", str(1 << 40))
    return request.param


def write_export(folder: Path, tables: dict[str, list[str]] | None = None, *, sep: str = ";",
                 encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (tables or BASE).items():
        text = "\n".join(line.replace(";", sep) for line in lines) + "\n"
        (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    return folder


def edit(tables: dict[str, list[str]], name: str, row: int, column: str, value: str) -> dict[str, list[str]]:
    """Copy of ``tables`` with one cell changed; ``row`` is the file row (header = 1)."""
    out = {k: list(v) for k, v in tables.items()}
    header = out[name][0].split(";")
    cells = out[name][row - 1].split(";")
    cells[header.index(column)] = value
    out[name][row - 1] = ";".join(cells)
    return out


def ingest(src: Path, tmp_path: Path, **kw) -> IngestReport:
    report = ingest_dir(src, tmp_path / "wh.duckdb", pseudonym_key=kw.pop("key", KEY),
                        export_date=kw.pop("export_date", EXPORT), **kw)
    for name, c in report.tables.items():
        assert c.loaded + c.quarantined + c.ignored == c.read, name
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        for name, c in report.tables.items():
            q = con.execute("select count(distinct row) from quarantine where load_id = ? and table_name = ?",
                            [report.load_id, name]).fetchone()[0]
            assert q == c.quarantined, name
    json.dumps(report.to_json())  # serialisable
    return report


def table(tmp_path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


# --------------------------------------------------------------------------- hostile inputs: unusable (exit 2)


def _xlsx_and_csv(d: Path) -> None:
    pd.DataFrame({"worker_id": ["W1"]}).to_excel(d / "workers.xlsx", index=False)


def _rm(name: str):
    return lambda d: (d / f"{name}.csv").unlink()


UNUSABLE = [
    ("missing file", _rm("workers"), ["missing file for table workers"]),
    ("missing required column",
     lambda d: (d / "workers.csv").write_text(
         "\n".join(";".join(c for c in line.split(";")[:9] + line.split(";")[10:]) for line in BASE["workers"])),
     ["workers.csv", "missing required column", "fte"]),
    ("empty file", lambda d: (d / "hr_events.csv").write_bytes(b""), ["hr_events.csv", "empty file"]),
    ("whitespace-only file", lambda d: (d / "hr_events.csv").write_text(" \n\n"), ["hr_events.csv", "empty file"]),
    ("binary garbage", lambda d: (d / "assignments.csv").write_bytes(bytes(range(256)) * 20),
     ["assignments.csv", "unreadable"]),
    ("utf-16 without BOM", lambda d: (d / "workers.csv").write_bytes(
        "\n".join(BASE["workers"]).encode("utf-16-le")), ["workers.csv", "unreadable encoding"]),
    ("wrong delimiter (spaces)", lambda d: (d / "workers.csv").write_text(
        "\n".join(line.replace(";", " ") for line in BASE["workers"])), ["workers.csv", "missing required column", "delimiter"]),
    ("two files for one table", _xlsx_and_csv, ["more than one file for table workers"]),
    ("corrupt xlsx", lambda d: (_rm("workers")(d), (d / "workers.xlsx").write_bytes(b"PK\x03\x04garbage")),
     ["workers.xlsx", "Excel"]),
    ("corrupt parquet", lambda d: (_rm("contacts")(d), (d / "contacts.parquet").write_bytes(b"PAR1notparquet")),
     ["contacts.parquet", "Parquet"]),
    ("two columns for one field", lambda d: (d / "contacts.csv").write_text(
        "client_id;worker_id;Worker ID;contact_date;minutes\nK1;W1;W1;2020-02-01;45\n"),
     ["contacts.csv", "worker_id", "keep one"]),
    ("blank first line", lambda d: (d / "workers.csv").write_text("\n" + "\n".join(BASE["workers"])),
     ["workers.csv", "row 1"]),
    ("unsupported file type", lambda d: (_rm("workers")(d), (d / "workers.xls").write_bytes(b"\xd0\xcf\x11\xe0")),
     ["workers", "unsupported"]),
]


@pytest.mark.parametrize("name,break_it,words", UNUSABLE, ids=[u[0] for u in UNUSABLE])
def test_unusable_input_exit_2_and_nothing_written(tmp_path, name, break_it, words):
    src = write_export(tmp_path / "ex")
    break_it(src)
    with pytest.raises(UnusableInput) as exc:
        ingest(src, tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w.lower() in msg.lower(), (w, msg)
    assert not (tmp_path / "wh.duckdb").exists()


def test_unusable_mapping_and_key(tmp_path):
    src = write_export(tmp_path / "ex")
    bad = tmp_path / "m.yaml"
    bad.write_text("columns: [unclosed\n")
    with pytest.raises(UnusableInput, match="not valid YAML"):
        ingest(src, tmp_path, mapping=bad)
    bad.write_text("columns:\n  workers:\n    Naam: client_name\n")
    with pytest.raises(UnusableInput, match="is not a column of workers"):
        ingest(src, tmp_path, mapping=bad)
    with pytest.raises(UnusableInput, match="pseudonym key is empty"):
        ingest(src, tmp_path, key="")
    with pytest.raises(UnusableInput, match="not a folder"):
        ingest(tmp_path / "nope", tmp_path)
    assert not (tmp_path / "wh.duckdb").exists()


def test_unreadable_later_file_leaves_previous_state(tmp_path):
    src = write_export(tmp_path / "ex")
    ingest(src, tmp_path)
    before = table(tmp_path, "select * from workers order by worker_id")
    newer = write_export(tmp_path / "ex2", edit(BASE, "workers", 2, "fte", "0.5"))
    (newer / "contacts.csv").write_bytes(b"\x00\x01\x02" * 100)  # the last table read is unreadable
    with pytest.raises(UnusableInput, match="contacts.csv"):
        ingest(newer, tmp_path)
    pd.testing.assert_frame_equal(before, table(tmp_path, "select * from workers order by worker_id"))


# --------------------------------------------------------------------------- hostile inputs: accepted (exit 0)


def test_clean_export_loads_with_types(tmp_path):
    r = ingest(write_export(tmp_path / "ex"), tmp_path)
    assert r.exit_code == 0 and r.errors == []
    assert {n: c.loaded for n, c in r.tables.items()} == {
        "funding_contracts": 2, "workers": 3, "hr_events": 3, "assignments": 3, "contacts": 3}
    types = table(tmp_path, "select column_name, data_type from information_schema.columns where table_name='workers'")
    t = dict(zip(types.column_name, types.data_type))
    assert t["fte"] == "DOUBLE" and t["hire_date"] == "DATE" and t["birth_year"] == "BIGINT" and t["worker_id"] == "VARCHAR"
    flags = table(tmp_path, "select data_type from information_schema.columns where column_name='flag_youth'")
    assert flags.data_type.tolist() == ["BOOLEAN"]


def _accepted(variant: str, src: Path, tmp_path: Path):
    """Write a variant of the clean export; return a check on the loaded warehouse."""
    if variant == "comma delimiter":
        write_export(src, sep=",")
    elif variant == "tab delimiter":
        write_export(src, sep="\t")
    elif variant == "utf-8 BOM":
        write_export(src, encoding="utf-8-sig")
    elif variant == "utf-16 with BOM (Excel unicode text)":
        write_export(src, sep="\t", encoding="utf-16")
    elif variant == "cp1252":
        write_export(src, edit(BASE, "workers", 2, "team_id", "Team Zuidoost-Brabant café"), encoding="cp1252")
        return lambda: table(tmp_path, "select team_id from workers where worker_id='W1'").team_id[0] == "Team Zuidoost-Brabant café"
    elif variant == "decimal comma":
        write_export(src, edit(edit(BASE, "workers", 2, "fte", "0,8"), "hr_events", 3, "value", "12,5"))
        return lambda: table(tmp_path, "select fte from workers where worker_id='W1'").fte[0] == 0.8
    elif variant == "decimal comma in a comma-separated file (quoted)":
        t = {k: [line.replace(";", ",") for line in v] for k, v in BASE.items()}
        t["workers"][1] = t["workers"][1].replace(",0.8,", ',"0,8",')
        write_export(src, t, sep=",")
        return lambda: table(tmp_path, "select fte from workers where worker_id='W1'").fte[0] == 0.8
    elif variant == "mixed date formats":
        t = edit(BASE, "workers", 2, "hire_date", "01-02-2018")
        t = edit(t, "workers", 3, "hire_date", "1/3/2021")
        t = edit(t, "workers", 4, "hire_date", "2015-05-01 00:00:00")
        t = edit(t, "workers", 4, "termination_date", "31-01-2023")  # day 31: the file's dates are day-first
        write_export(src, t)
        return lambda: table(tmp_path, "select strftime(hire_date, '%Y-%m-%d') d from workers order by worker_id").d.tolist() == [
            "2018-02-01", "2021-03-01", "2015-05-01"]
    elif variant == "extra columns (client name dropped)":
        t = {k: list(v) for k, v in BASE.items()}
        t["assignments"] = [t["assignments"][0] + ";client_name"] + [line + ";Jan Jansen" for line in t["assignments"][1:]]
        write_export(src, t)
        return lambda: "client_name" not in table(tmp_path, "select * from assignments").columns
    elif variant == "whitespace and case variants of labels":
        t = edit(BASE, "workers", 2, "contract_type", "  PERMANENT ")
        t = edit(t, "workers", 3, "occupation", "wmo-CONSULENT")
        t = edit(t, "assignments", 2, "domain", "Jeugd ")
        t = edit(t, "workers", 4, "termination_reason", "Voluntary")
        t = edit(t, "assignments", 3, "end_reason", "CLOSED")
        write_export(src, t)
        return lambda: table(tmp_path, "select contract_type, occupation from workers order by worker_id").values.tolist()[:2] == [
            ["permanent", "maatschappelijk werker"], ["temporary", "Wmo-consulent"]]
    elif variant == "Dutch labels built in":
        t = edit(BASE, "workers", 2, "contract_type", "vast")
        t = edit(t, "workers", 3, "contract_type", "Tijdelijk")
        t = edit(t, "workers", 2, "gender", "V")
        t = edit(t, "assignments", 2, "flag_youth", "ja")
        t = edit(t, "assignments", 3, "flag_youth", "Nee")
        write_export(src, t)
        return lambda: table(tmp_path, "select contract_type, gender from workers order by worker_id").values.tolist()[:2] == [
            ["permanent", "f"], ["temporary", "m"]]
    elif variant == "formula-looking text":
        write_export(src, edit(BASE, "workers", 2, "team_id", '=HYPERLINK("http://x","klik")'))
        return lambda: table(tmp_path, "select team_id from workers where worker_id='W1'").team_id[0].startswith("'=")
    elif variant == "contacts absent (optional)":
        write_export(src)
        (src / "contacts.csv").unlink()
    elif variant == "header only":
        t = {k: list(v) for k, v in BASE.items()}
        t["hr_events"] = t["hr_events"][:1]
        write_export(src, t)
    elif variant == "trailing delimiter and CRLF":
        write_export(src)
        for p in src.glob("*.csv"):
            p.write_bytes(b"\r\n".join(line + b";" for line in p.read_bytes().splitlines()) + b"\r\n")
    elif variant == "column names with case and spaces":
        t = {k: list(v) for k, v in BASE.items()}
        t["workers"][0] = t["workers"][0].replace("worker_id", " Worker ID ").replace("hire_date", "HIRE_DATE")
        write_export(src, t)
    elif variant == "xlsx workbook":
        write_export(src)
        lines = BASE["workers"]
        frame = pd.DataFrame([line.split(";") for line in lines[1:]], columns=lines[0].split(";"))
        frame["hire_date"] = pd.to_datetime(frame["hire_date"])  # real Excel dates
        frame["fte"] = frame["fte"].astype(float)
        (src / "workers.csv").unlink()
        frame.to_excel(src / "workers.xlsx", index=False)
        return lambda: table(tmp_path, "select fte from workers order by worker_id").fte.tolist() == [0.8, 1.0, 0.6]
    elif variant == "parquet with native types":
        write_export(src)
        frame = pd.DataFrame({"client_id": ["K1", "K2"], "worker_id": ["W1", "W2"],
                              "contact_date": pd.to_datetime(["2020-02-01", "2021-06-01"]).date, "minutes": [45, 60]})
        (src / "contacts.csv").unlink()
        frame.to_parquet(src / "contacts.parquet")
        return lambda: len(table(tmp_path, "select * from contacts")) == 2
    elif variant == "blank lines inside":
        t = {k: list(v) for k, v in BASE.items()}
        t["workers"].insert(2, "")
        t["workers"].insert(3, ";;;;")
        write_export(src, t)
    elif variant == "declared organisation without funding contract":
        write_export(src, edit(BASE, "workers", 2, "organisation_id", "ORG9"))
        m = tmp_path / "map.yaml"
        m.write_text("organisations: [ORG9]\n")
        return m
    elif variant == "mapping renames columns and labels":
        t = edit(BASE, "workers", 2, "contract_type", "OBT")
        t["workers"][0] = t["workers"][0].replace("worker_id", "Personeelsnummer").replace("contract_type", "Soort contract")
        (src).mkdir(parents=True, exist_ok=True)
        write_export(src, {k: v for k, v in t.items() if k != "workers"})
        (src / "personeel.csv").write_text("\n".join(t["workers"]))
        m = tmp_path / "map.yaml"
        m.write_text("files:\n  workers: personeel.csv\ncolumns:\n  workers:\n    Personeelsnummer: worker_id\n"
                     "    Soort contract: contract_type\nvalues:\n  contract_type:\n    OBT: permanent\n")
        return m
    else:
        raise AssertionError(variant)
    return None


ACCEPTED = [
    "comma delimiter", "tab delimiter", "utf-8 BOM", "utf-16 with BOM (Excel unicode text)", "cp1252", "decimal comma",
    "decimal comma in a comma-separated file (quoted)", "mixed date formats", "extra columns (client name dropped)",
    "whitespace and case variants of labels", "Dutch labels built in", "formula-looking text",
    "contacts absent (optional)", "header only", "trailing delimiter and CRLF", "column names with case and spaces",
    "xlsx workbook", "parquet with native types", "blank lines inside",
    "declared organisation without funding contract", "mapping renames columns and labels",
]


@pytest.mark.parametrize("variant", ACCEPTED)
def test_accepted_variants_exit_0(tmp_path, variant):
    src = tmp_path / "ex"
    check = _accepted(variant, src, tmp_path)
    mapping = check if isinstance(check, Path) else None
    r = ingest(src, tmp_path, mapping=mapping)
    assert r.exit_code == 0, r.errors
    assert r.errors == []
    if callable(check):
        assert check(), variant
    if variant == "formula-looking text":
        assert any("formula" in w and "team_id" in w and "row 2" in w for w in r.warnings)
    if variant == "extra columns (client name dropped)":
        assert any("client_name" in w for w in r.warnings)
    if variant == "header only":
        assert r.tables["hr_events"].read == 0 and any("header only" in w for w in r.warnings)
    if variant == "contacts absent (optional)":
        assert "contacts" not in r.tables
        assert len(table(tmp_path, "select * from contacts")) == 0  # the table exists, empty


# --------------------------------------------------------------------------- hostile inputs: quarantined (exit 1)

QUARANTINED = [
    # (name, table, file row, column, value, words in the reason)
    ("duplicate key", "workers", 3, "worker_id", "W1", "duplicate key (worker_id) already on row 2"),
    ("dangling worker in assignments", "assignments", 2, "worker_id", "W99", "worker_id not found in workers"),
    ("dangling worker in hr_events", "hr_events", 2, "worker_id", "W77", "worker_id not found in workers"),
    ("organisation not funded", "workers", 2, "organisation_id", "ORG9", "organisation_id not found in funding_contracts"),
    ("end before start", "assignments", 3, "end_date", "2020-01-01", "end_date is before start_date"),
    ("termination before hire", "workers", 4, "termination_date", "2010-01-01", "termination_date is before hire_date"),
    ("funding end before start", "funding_contracts", 2, "end_date", "2019-01-01", "end_date is before start_date"),
    ("future hire date", "workers", 2, "hire_date", "2099-01-01", "date in the future"),
    ("future contact", "contacts", 2, "contact_date", "01-01-2030", "date in the future"),
    ("typo year", "hr_events", 2, "event_date", "0202-03-01", "not a valid date"),
    ("implausible old date", "hr_events", 2, "event_date", "1901-03-01", "implausible date"),
    ("negative fte", "workers", 2, "fte", "-0,5", "out of range"),
    ("zero fte", "workers", 2, "fte", "0", "out of range"),
    ("absurd fte (percent)", "workers", 2, "fte", "80", "out of range"),
    ("non-numeric fte", "workers", 2, "fte", "0.8 fte", "not a number"),
    ("non-numeric minutes", "contacts", 3, "minutes", "half uur", "not a number"),
    ("zero minutes", "contacts", 3, "minutes", "0", "out of range"),
    ("fractional complexity", "assignments", 2, "complexity", "2.5", "not a whole number"),
    ("complexity out of range", "assignments", 2, "complexity", "9", "out of range"),
    ("absurd birth year", "workers", 3, "birth_year", "1850", "out of range"),
    ("child birth year", "workers", 3, "birth_year", "2020", "out of range"),
    ("null required text", "workers", 2, "team_id", "", "required value missing"),
    ("null required date", "workers", 3, "hire_date", " ", "required value missing"),
    ("null required bool", "assignments", 2, "flag_crisis", "", "required value missing"),
    ("impossible date", "workers", 2, "hire_date", "31-02-2018", "not a valid date"),
    ("text in a date", "hr_events", 4, "event_date", "gisteren", "not a valid date"),
    ("unknown label", "workers", 2, "contract_type", "stagiair", "allowed labels"),
    ("unknown event type", "hr_events", 2, "event_type", "party", "allowed labels"),
    ("bad boolean", "assignments", 2, "flag_youth", "misschien", "not a yes/no value"),
    ("negative overtime", "hr_events", 3, "value", "-4", "value for overtime"),
    ("unknown client in contacts", "contacts", 4, "client_id", "K404", "client_id not found in assignments"),
    ("sick leave ends before it starts", "hr_events", 2, "end_date", "2020-02-01", "end_date is before event_date"),
]


@pytest.mark.parametrize("name,tbl,row,column,value,reason", QUARANTINED, ids=[q[0] for q in QUARANTINED])
def test_quarantined_rows_exit_1(tmp_path, name, tbl, row, column, value, reason):
    t = edit(BASE, tbl, row, column, value)
    if name == "duplicate key":
        t = {k: list(v) for k, v in BASE.items()}
        t["workers"][2] = t["workers"][1]
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert r.exit_code == 1
    assert r.tables[tbl].quarantined >= 1
    hits = [e for e in r.errors if e.file == f"{tbl}.csv" and e.row == row and column in (e.column or "")]
    assert hits, (name, r.errors)
    assert any(reason in e.reason for e in hits), (reason, hits)
    if column == "client_id":
        assert hits[0].value == pseudonym(value, KEY)  # a raw client id is never echoed
    elif name != "duplicate key":
        assert any(e.value == (value.strip() or None) for e in hits), hits
    q = table(tmp_path, "select * from quarantine")
    assert ((q.table_name == tbl) & (q["row"] == row)).any()


def _ragged(src: Path, tmp_path: Path) -> None:
    t = {k: list(v) for k, v in BASE.items()}
    t["contacts"][1] = "K1;W1;2020-02-01;45;extra;fields"
    t["contacts"][2] = "K1;W1"
    t["workers"].insert(2, "")
    t["hr_events"][1] = "W1;2020-03-01;sick_leave;2020-03-20;;burn-out"
    write_export(src, t)


def _every_problem(src: Path, tmp_path: Path) -> Path:
    t = edit(BASE, "workers", 3, "fte", "80")
    t = edit(t, "workers", 4, "hire_date", "31-02-2018")
    t = edit(t, "hr_events", 3, "value", "-4")
    t = edit(t, "assignments", 3, "end_date", "1901-01-01")
    t = edit(t, "contacts", 4, "client_id", "K404")
    t["assignments"].append(t["assignments"][1])
    t["workers"].append("W4;ORG1;T1;GM0363;=cmd|x;1985;v;vast;;0,8;8;3;2018-02-01;;")
    t["workers"].append("W5;ORG1;T1;GM0363;ambulant begeleider;1985;v;OBT;;0,8;8;3;2018-02-01;;")
    t["workers"].append("W6;ORG2;T2;GM0599;jongerenwerker;1990;m;flex;;0.5;6;1;2022-02-01;;")
    write_export(src, t)
    m = tmp_path / "map.yaml"
    m.write_text("values:\n  contract_type:\n    OBT: permanent\nignore:\n  workers.contract_type: [flex]\n")
    return m


@pytest.mark.parametrize("case", ["every problem", "ragged, blank and health", "parquet", "cp1252", "utf-16",
                                  "mixed date formats", "mapping renames columns and labels"])
def test_both_paths_give_the_same_report_quarantine_and_tables(tmp_path, monkeypatch, case):
    src = tmp_path / "ex"
    mapping = None
    if case == "every problem":
        mapping = _every_problem(src, tmp_path)
    elif case == "ragged, blank and health":
        _ragged(src, tmp_path)
    elif case == "parquet":
        _accepted("parquet with native types", src, tmp_path)
        frame = pd.read_parquet(src / "contacts.parquet")
        frame.loc[1, "minutes"] = 0
        frame.to_parquet(src / "contacts.parquet")
    else:
        check = _accepted({"utf-16": "utf-16 with BOM (Excel unicode text)"}.get(case, case), src, tmp_path)
        mapping = check if isinstance(check, Path) else None
    seen = []
    for threshold in (1 << 40, 0):
        monkeypatch.setenv("CONTINUITY_INGEST_SQL_MIN_BYTES", str(threshold))
        home = tmp_path / str(threshold)
        home.mkdir()
        report = ingest(src, home, mapping=mapping)
        seen.append((report.to_json(), _dump(home)))
    assert seen[0] == seen[1]


def test_quarantined_worker_takes_its_events_and_cases_along(tmp_path):
    r = ingest(write_export(tmp_path / "ex", edit(BASE, "workers", 2, "fte", "2")), tmp_path)
    assert r.exit_code == 1
    assert r.tables["workers"].quarantined == 1
    assert r.tables["hr_events"].quarantined == 2  # both W1 events
    assert r.tables["assignments"].quarantined == 1
    assert r.tables["contacts"].quarantined == 2  # W1's contacts
    assert "W1" not in set(table(tmp_path, "select worker_id from hr_events").worker_id)


def test_ragged_and_short_rows(tmp_path):
    t = {k: list(v) for k, v in BASE.items()}
    t["contacts"][1] = "K1;W1;2020-02-01;45;extra;fields"
    t["contacts"][2] = "K1;W1"
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert r.exit_code == 1 and r.tables["contacts"].read == 3 and r.tables["contacts"].loaded == 1
    ragged = [e for e in r.errors if e.row == 2 and e.file == "contacts.csv"]
    assert ragged and "6 fields where the header has 4" in ragged[0].reason
    assert ragged[0].value is None  # the line holds a raw client id: not echoed
    short = [e for e in r.errors if e.row == 3 and e.file == "contacts.csv"]
    assert {e.column for e in short} == {"contact_date", "minutes"}


def test_row_numbers_survive_blank_lines(tmp_path):
    t = {k: list(v) for k, v in BASE.items()}
    t["workers"].insert(1, "")
    t["workers"][3] = t["workers"][3].replace(";1.0;", ";7;")  # W2 is now on file row 4
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert [(e.row, e.column) for e in r.errors if e.file == "workers.csv"] == [(4, "fte")]


def test_all_rows_bad_loads_nothing_but_keeps_count(tmp_path):
    t = {k: list(v) for k, v in BASE.items()}
    t["contacts"] = [t["contacts"][0]] + [line.replace(";45", ";x").replace(";30", ";x").replace(";60", ";x")
                                          for line in t["contacts"][1:]]
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert r.tables["contacts"].loaded == 0 and r.tables["contacts"].quarantined == 3


def test_report_json_format(tmp_path):
    r = ingest(write_export(tmp_path / "ex", edit(BASE, "workers", 2, "fte", "9")), tmp_path)
    j = r.to_json()
    assert set(j["tables"]["workers"]) == {"read", "loaded", "quarantined", "ignored"}
    assert j["errors"][0] == {"file": "workers.csv", "row": 2, "column": "fte", "value": "9",
                              "reason": "out of range: must be 0.0 < fte <= 1.2"}
    assert j["problems"][0] == {"table": "workers", "file": "workers.csv", "column": "fte", "rows": 1,
                                "reason": "out of range: must be 0.0 < fte <= 1.2", "first_row": 2}
    # W1's two events, one case and two contacts went with it; client K1 is still W2's
    assert j["lost_with_parent"] == {"workers": {"hr_events": 2, "assignments": 1, "contacts": 2}}
    assert j["exit_code"] == 1


# --------------------------------------------------------------------------- pseudonymisation, idempotence, atomicity


def test_client_ids_pseudonymised_and_key_not_stored(tmp_path):
    ingest(write_export(tmp_path / "ex"), tmp_path)
    ids = set(table(tmp_path, "select client_id from assignments union all select client_id from contacts").client_id)
    assert ids == {pseudonym("K1", KEY), pseudonym("K2", KEY)}
    assert all(i.startswith("p_") and len(i) == 20 for i in ids)
    raw = (tmp_path / "wh.duckdb").read_bytes()
    assert KEY.encode() not in raw and b"K1;" not in raw
    # another key would give other pseudonyms: refused (tests/test_ingest_mapping_key.py)
    with pytest.raises(UnusableInput, match="pseudonym key differs"):
        ingest(write_export(tmp_path / "ex"), tmp_path, key="other-key")


def test_a_client_id_with_surrounding_spaces_is_the_same_client(tmp_path):
    """A no-break space or tab around an id (a spreadsheet's habit) strips on both paths before hashing: the
    contact still belongs to K1's case, under K1's one pseudonym."""
    export = edit(edit(BASE, "contacts", 2, "client_id", "\u00a0K1\t"), "assignments", 2, "client_id", " K1\u3000")
    ingest(write_export(tmp_path / "ex", export), tmp_path)
    ids = table(tmp_path, "select client_id from assignments union all select client_id from contacts").client_id
    assert set(ids) == {pseudonym("K1", KEY), pseudonym("K2", KEY)}
    assert table(tmp_path, "select count(*) as n from quarantine").n[0] == 0


def _dump(tmp_path: Path) -> dict[str, list]:
    out = {}
    for name in ("workers", "hr_events", "assignments", "contacts", "funding_contracts", "quarantine"):
        out[name] = table(tmp_path, f"select * from {name} order by all").astype(str).values.tolist()
    return out


def test_second_identical_load_changes_nothing(tmp_path):
    src = write_export(tmp_path / "ex", edit(BASE, "workers", 3, "fte", "5"))  # with a quarantined row
    r1 = ingest(src, tmp_path)
    first = _dump(tmp_path)
    r2 = ingest(src, tmp_path)
    assert _dump(tmp_path) == first
    assert r1.load_id == r2.load_id and r1.to_json()["tables"] == r2.to_json()["tables"]
    log = table(tmp_path, "select * from load_log")
    assert len(log) == 2 * len(r1.tables) and set(log.columns) >= {
        "load_id", "file", "sha256", "loaded_at", "table_name", "read", "loaded", "quarantined"}


def test_newer_export_updates_by_natural_key(tmp_path):
    ingest(write_export(tmp_path / "ex"), tmp_path)
    t = edit(BASE, "workers", 3, "termination_date", "2024-05-31")
    t = edit(t, "workers", 3, "termination_reason", "vrijwillig")
    t["workers"] = t["workers"][:1] + t["workers"][2:3]  # a delta: only W2
    t["hr_events"] = t["hr_events"][:1] + ["W2;2024-01-15;training;;;"]
    ingest(write_export(tmp_path / "ex2", t), tmp_path)
    w = table(tmp_path, "select worker_id, termination_date, termination_reason from workers order by worker_id")
    assert w.worker_id.tolist() == ["W1", "W2", "W3"]
    assert str(w.termination_date[1])[:10] == "2024-05-31" and w.termination_reason[1] == "voluntary"
    assert len(table(tmp_path, "select * from hr_events")) == 4


LOADER = """
import logging, sys
from datetime import date
from pathlib import Path
from continuity.features.ingest import ingest_dir
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
ingest_dir(Path(sys.argv[1]), Path(sys.argv[2]), pseudonym_key="test-key", export_date=date(2024, 6, 3))
print("done", flush=True)
"""


def _big_contacts(folder: Path, n_clients: int = 300) -> None:
    """Many clients with daily contacts (about 450,000 rows), so that writing takes a while."""
    days = pd.date_range("2020-02-10", "2024-05-31", freq="D").strftime("%Y-%m-%d")
    a = BASE["assignments"] + [f"B{i};W2;primary;2020-01-01;;;wmo;2;false;false;false;false" for i in range(n_clients)]
    (folder / "assignments.csv").write_text("\n".join(a) + "\n")
    c = pd.DataFrame({"client_id": [f"B{i}" for i in range(n_clients)]}).merge(
        pd.DataFrame({"contact_date": days}), how="cross").assign(worker_id="W2", minutes=30)
    c[["client_id", "worker_id", "contact_date", "minutes"]].to_csv(folder / "contacts.csv", sep=";", index=False)


def test_killed_load_leaves_previous_state_then_rerun_is_clean(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    small = write_export(tmp_path / "ex")
    ingest(small, tmp_path)
    before = _dump(tmp_path)
    # a second export whose workers change; kill the loader after it started writing
    newer = write_export(tmp_path / "ex2", edit(BASE, "workers", 2, "fte", "0.5"))
    _big_contacts(newer)  # contacts are written last and take long enough to be killed mid-way
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    proc = subprocess.Popen([sys.executable, str(script), str(newer), str(tmp_path / "wh.duckdb")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    for line in proc.stderr:
        if line.startswith("writing hr_events"):  # funding_contracts and workers already written, not committed
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
    proc.wait(timeout=60)
    assert killed and proc.returncode == -signal.SIGKILL
    assert "done" not in proc.stdout.read()
    assert _dump(tmp_path) == before  # nothing of the killed load is visible
    ingest(newer, tmp_path)
    after = _dump(tmp_path)
    assert table(tmp_path, "select fte from workers where worker_id='W1'").fte[0] == 0.5
    n_contacts = sum(1 for _ in (newer / "contacts.csv").open()) - 1
    assert len(after["workers"]) == 3 and len(after["contacts"]) == 3 + n_contacts  # no duplicates
    ingest(newer, tmp_path)
    assert _dump(tmp_path) == after


# --------------------------------------------------------------------------- size


def test_million_row_csv_in_seconds(tmp_path):
    import time

    import numpy as np

    src = write_export(tmp_path / "ex")
    n = 1_000_000
    days = pd.date_range("2015-01-01", "2024-05-31", freq="D").strftime("%d-%m-%Y")  # Dutch dates
    reps = -(-n // (2 * len(days)))
    numbers = np.repeat(np.arange(2 * reps), len(days))[:n]
    clients = pd.Index([f"K{i}" for i in range(2 * reps)])[numbers]
    workers = np.where(numbers % 2 == 0, "W1", "W2")
    c = pd.DataFrame({"client_id": clients, "worker_id": workers,
                      "contact_date": np.tile(days, 2 * reps)[:n], "minutes": "45"})
    c.loc[123_456, "minutes"] = "veel"  # one bad row deep in the file
    c.to_csv(src / "contacts.csv", sep=";", index=False)
    a = ["client_id;worker_id;role;start_date;end_date;end_reason;domain;complexity;flag_youth;flag_out_of_home;flag_intellectual_disability;flag_crisis"]
    a += [f"K{i};{'W1' if i % 2 == 0 else 'W2'};primary;2014-01-01;;;jeugd;3;true;false;false;false" for i in range(2 * reps)]
    (src / "assignments.csv").write_text("\n".join(a) + "\n")
    t0 = time.perf_counter()
    r = ingest(src, tmp_path)
    elapsed = time.perf_counter() - t0
    assert r.tables["contacts"].read == n
    assert r.tables["contacts"].quarantined == 1
    assert [(e.row, e.column, e.value) for e in r.errors] == [(123_456 + 2, "minutes", "veel")]
    assert elapsed < 30, elapsed  # a few seconds on a quiet machine; generous for shared CI cores


# --------------------------------------------------------------------------- spreadsheet safety


@pytest.mark.parametrize("text,risky", [
    ("=SUM(A1:A3)", True), ("+31 6 1234", True), ("-cmd|' /C calc'!A0", True), ("@SUM(1)", True),
    ("\t=1", True), ("-3", False), ("+1.5", False), ("gewoon tekst", False), ("'=already", False), ("", False),
])
def test_formula_neutralising(text, risky):
    assert is_formula_like(text) is risky
    assert neutralise(text) == ("'" + text if risky else text)
    assert neutralise(neutralise(text)) == neutralise(text)


def test_neutralise_frame_only_text():
    f = neutralise_frame(pd.DataFrame({"a": ["=1+1", "ok"], "n": [-1, 2]}))
    assert f.a.tolist() == ["'=1+1", "ok"] and f.n.tolist() == [-1, 2]


def test_free_text_on_sick_leave_is_quarantined_and_never_stored(tmp_path):
    t = {k: list(v) for k, v in BASE.items()}
    t["hr_events"] = [t["hr_events"][0] + ";opmerking", *(line + ";" for line in t["hr_events"][1:])]
    t["hr_events"][1] = "W1;2020-03-01;sick_leave;2020-03-20;;burn-out;"           # text in detail
    t["hr_events"].append("W2;2021-04-01;sick_leave;2021-04-09;;;rugklachten")   # text in an extra column
    t["hr_events"].append("W2;2022-02-01;sick_leave;2022-02-04;;;")              # dates only: loaded
    t["hr_events"].append("W2;2022-03-01;overtime;;6;;na een crisis")            # not a health event: loaded
    r = ingest(write_export(tmp_path / "ex", t), tmp_path)
    assert r.exit_code == 1 and r.tables["hr_events"].quarantined == 2 and r.tables["hr_events"].loaded == 4
    health = [e for e in r.errors if e.file == "hr_events.csv"]
    assert {(e.row, e.column) for e in health} == {(2, "detail"), (5, "opmerking")}
    assert all("sick-leave event" in e.reason and e.value is None for e in health)
    stored = "\n".join(str(v) for frame in (table(tmp_path, "select * from quarantine"),
                                            table(tmp_path, "select * from hr_events")) for v in frame.to_numpy().ravel())
    assert "burn-out" not in stored and "rugklachten" not in stored
    assert len(table(tmp_path, "select * from hr_events where event_type = 'sick_leave'")) == 1


def test_every_unusable_file_is_named_in_one_run(tmp_path):
    """A newcomer's export with several files short of columns learns of all of them at once, not one per run."""
    from continuity.features.ingest import UnusableInput, ingest_dir

    export = tmp_path / "export"
    export.mkdir()
    (export / "workers.csv").write_text("worker_id,hire_date\nW1,2022-01-03\n")
    (export / "hr_events.csv").write_text("worker_id,event_date,event_type,value,detail\nW1,2023-01-02,scale_step,,\n")
    (export / "assignments.csv").write_text("worker_id,client_id\nW1,C1\n")
    (export / "funding_contracts.csv").write_text("organisation_id\nORG1\n")
    with pytest.raises(UnusableInput) as raised:
        ingest_dir(export, tmp_path / "w.duckdb", pseudonym_key="a-long-secret-key-for-testing-only-123",
                   export_date=date(2024, 1, 1))
    said = str(raised.value)
    for name in ("workers.csv", "assignments.csv", "funding_contracts.csv"):
        assert f"{name}: missing required column(s)" in said
    assert not (tmp_path / "w.duckdb").exists()  # nothing touched the warehouse
