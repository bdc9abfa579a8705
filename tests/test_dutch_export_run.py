"""Issue 13 acceptance: a Dutch HR export with a mapping file runs end to end through
`continuity run --mapping` and publishes a week.

The export is the tiny synthetic sector rewritten by hand as a Dutch HR system writes it: its own
file and column names, `;` separators, decimal commas, dd-mm-yyyy dates, ja/nee, Dutch labels, an
occupation outside the sector's list and leave events ("verlof") the product has no use for. No
`sector.json` lies beside it, so it is treated as a real export (own pseudonym key, dated today).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from command_line import invoke
from continuity.publication import Publications

KEY = "a-long-random-secret-of-the-organisation"

FILES = {"workers": "personeel", "hr_events": "hr_mutaties", "assignments": "toewijzingen",
         "contacts": "contactmomenten", "funding_contracts": "subsidies"}
COLUMNS = {
    "workers": {"worker_id": "Personeelsnummer", "organisation_id": "Organisatie", "team_id": "Team",
                "region": "Gemeente", "occupation": "Functie", "birth_year": "Geboortejaar", "gender": "Geslacht",
                "contract_type": "Soort contract", "contract_end_date": "Einde contract", "fte": "Deeltijdfactor",
                "pay_scale": "Schaal", "pay_step": "Trede", "hire_date": "Datum in dienst",
                "termination_date": "Datum uit dienst", "termination_reason": "Reden uit dienst"},
    "hr_events": {"worker_id": "Personeelsnummer", "event_date": "Datum", "event_type": "Soort mutatie",
                  "end_date": "Einddatum", "value": "Waarde", "detail": "Toelichting"},
    "assignments": {"client_id": "Cliëntnummer", "worker_id": "Personeelsnummer", "role": "Rol",
                    "start_date": "Startdatum", "end_date": "Einddatum", "end_reason": "Reden einde",
                    "domain": "Wet", "complexity": "Zwaarte", "flag_youth": "Jeugdige",
                    "flag_out_of_home": "Uithuisgeplaatst", "flag_intellectual_disability": "LVB",
                    "flag_crisis": "Crisis"},
    "contacts": {"client_id": "Cliëntnummer", "worker_id": "Personeelsnummer", "contact_date": "Datum",
                 "minutes": "Minuten"},
    "funding_contracts": {"contract_id": "Contractnummer", "organisation_id": "Organisatie",
                          "municipality": "Gemeente", "domain": "Wet", "start_date": "Ingangsdatum",
                          "end_date": "Einddatum", "tendered": "Aanbesteed", "awarded_date": "Gunningsdatum"},
}
LABELS = {  # contract label -> the export's; the mapping below translates back what is not built in
    "gender": {"f": "vrouw", "m": "man", "x": "anders"},
    "contract_type": {"permanent": "vast", "temporary": "tijdelijk", "flex": "oproepkracht"},
    "termination_reason": {"voluntary": "eigen verzoek", "involuntary": "ontslag werkgever", "retirement": "pensioen",
                           "end_of_temporary_contract": "einde tijdelijk contract"},
    "event_type": {"scale_step": "periodiek", "promotion": "promotie", "manager_change": "nieuwe leidinggevende",
                   "team_move": "teamwissel", "training": "opleiding", "sick_leave": "ziekmelding",
                   "overtime": "overwerk", "contract_renewal": "contractverlenging",
                   "fte_change": "wijziging deeltijdfactor", "appraisal": "beoordelingsgesprek",
                   "engagement_survey": "medewerkersonderzoek"},
    "role": {"primary": "hoofdbehandelaar", "secondary": "medebehandelaar"},
    "end_reason": {"closed": "afgesloten", "handover": "overgedragen", "worker_left": "medewerker vertrokken"},
    "domain": {"wmo": "Wmo 2015", "jeugd": "Jeugdwet", "participatie": "Participatiewet"},
}
MAPPING = """\
files:
  workers: personeel.csv
  hr_events: hr_mutaties.csv
  assignments: toewijzingen.csv
  contacts: contactmomenten.csv
  funding_contracts: subsidies.csv
columns:
{columns}
values:
  event_type:
{event_types}
  role: {{hoofdbehandelaar: primary, medebehandelaar: secondary}}
ignore:
  hr_events.event_type: [verlof]
date_format: "%d-%m-%Y"
"""


def _cell(value) -> str:
    """A value as the HR system writes it: dd-mm-yyyy, decimal comma, ja/nee, empty for nothing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if hasattr(value, "strftime"):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def dutch_export(sector: Path, folder: Path) -> tuple[Path, Path, int, int]:
    """The sector's export in Dutch, and its mapping; with the number of workers given an unknown
    occupation and of leave rows added."""
    folder.mkdir(parents=True)
    frames = {name: pd.read_parquet(sector / "exports" / f"{name}.parquet") for name in FILES}
    workers = frames["workers"]
    unknown = workers["occupation"].eq("casemanager")
    workers.loc[unknown, "occupation"] = "ambulant begeleider"
    events = frames["hr_events"]
    leave = events[events["event_type"].eq("training")].assign(event_type="verlof", detail="zorgverlof")
    frames["hr_events"] = pd.concat([events, leave], ignore_index=True)
    for name, frame in frames.items():
        for column, labels in LABELS.items():
            if column in frame:
                frame[column] = frame[column].map(lambda v, t=labels: t.get(v, v))
        text = frame.map(_cell).rename(columns=COLUMNS[name])
        text.to_csv(folder / f"{FILES[name]}.csv", sep=";", index=False, encoding="utf-8-sig")
    columns = "\n".join(f"  {name}:\n" + "\n".join(f"    {dutch}: {column}" for column, dutch in cols.items())
                        for name, cols in COLUMNS.items())
    event_types = "\n".join(f"    {dutch}: {label}" for label, dutch in LABELS["event_type"].items())
    mapping = folder.parent / "mapping.yaml"
    mapping.write_text(MAPPING.format(columns=columns, event_types=event_types), encoding="utf-8")
    return folder, mapping, int(unknown.sum()), len(leave)


def test_dutch_export_with_mapping_publishes_a_week(tiny_sector, prefect_harness, tmp_path, monkeypatch):
    import continuity.cli

    export, mapping, unknown, leave = dutch_export(tiny_sector, tmp_path / "export")
    assert unknown and leave
    home = tmp_path / "home"
    monkeypatch.setattr(continuity.cli, "_prefect_env", lambda settings: None)  # the harness is Prefect's
    for name, value in {"CONTINUITY_HOME": home, "CONTINUITY_EXPORT_DIR": export, "CONTINUITY_PSEUDONYM_KEY": KEY}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("CONTINUITY_EXPORT_MAPPING", raising=False)

    code, out = invoke("run", "--mapping", str(mapping))

    assert code == 0, out
    week = Publications(home / "published").current()  # CURRENT names the week's folder
    assert week.folder.parent == home / "published" and len(week.table("risk_scores")) > 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        scores = con.execute("select count(*) from risk_scores").fetchone()[0]
        occupations = dict(con.execute("select occupation, count(*) from workers group by all").fetchall())
        kinds = {k for (k,) in con.execute("select distinct event_type from hr_events").fetchall()}
        (ignored,) = con.execute("select sum(ignored) from load_log where table_name = 'hr_events'").fetchone()
        (quarantined,) = con.execute("select count(*) from quarantine").fetchone()
    assert scores > 0
    assert occupations["ambulant begeleider"] == unknown  # loaded as exported, not quarantined
    assert "verlof" not in kinds and ignored == leave
    assert quarantined == 0
    # the screen says what ingest did: every table, the ignored rows and the unknown occupation
    assert "Data ingested" in out and "personeel.csv" in out
    assert f"{leave:,} row(s) ignored as the mapping asks (event_type verlof: {leave:,})" in " ".join(out.split())
    assert "ambulant begeleider" in out and "grouped as 'other'" in " ".join(out.split())


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch):
    """Settings read the environment: a developer's own CONTINUITY_* must not steer this run."""
    for name in ("CONTINUITY_WAREHOUSE_PATH", "CONTINUITY_MLFLOW_TRACKING_URI", "CONTINUITY_HEALTH_FEATURES"):
        monkeypatch.delenv(name, raising=False)
