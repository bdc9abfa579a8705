"""The command line as a person meets it. `continuity audit verify`: exit 0 over an intact log, non-zero
naming the first entry that breaks the chain; and first use (see below)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from continuity.access import AccessStore, Grant, Read, Role, list_tokens
from continuity.cli import app
from continuity.config import Settings
from continuity.warehouse import connect

from command_line import home, invoke  # noqa: F401 - home is a fixture

HR = Grant("tok_hr", Role.hr, "org-a")


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Three reads in the log of a home the command finds through the environment, as in production."""
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path))
    settings = Settings()
    store = AccessStore(settings.access_db)
    store.record([Read(HR, "GET /workers/{worker_id}", (f"W{i}",)).line() for i in range(3)])
    store.close()
    return settings


def verify() -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify"], terminal_width=200)
    return result.exit_code, result.output


def test_verify_passes_an_intact_log(settings):
    code, output = verify()

    assert code == 0
    assert "intact: 3 audit entries" in output


def test_verify_names_the_first_entry_edited(settings):
    with sqlite3.connect(settings.access_db) as con:
        con.execute("update audit_workers set worker_id = 'W9' where audit_id = 2")

    code, output = verify()

    assert code == 1
    assert "audit entry 2 does not follow" in output


# First use, as a new user meets the commands: clear refusals, tables and summaries that read whole,
# and addresses and paths that come from the settings.


def test_token_create_refuses_an_unknown_role_listing_the_roles(home):
    code, output = invoke("token", "create", "--role", "boss")

    assert code == 2
    assert "boss" in output and all(f"'{role.value}'" in output for role in Role)
    assert "Traceback" not in output
    assert list_tokens(home) == []


@pytest.mark.parametrize("scope", [
    ["--role", "hr"],
    ["--role", "hr", "--organisation", "O1", "--team", "T1"],
    ["--role", "manager"],
    ["--role", "manager", "--organisation", "O1", "--team", "T1"],
    ["--role", "admin", "T1"],
])
def test_token_create_refuses_a_scope_that_does_not_fit_the_role(home, scope):
    code, output = invoke("token", "create", *scope)

    assert code == 2
    assert "--organisation" in output or "--team" in output
    assert "Traceback" not in output
    assert list_tokens(home) == []


def test_token_create_takes_several_teams_after_one_flag_and_repeated_flags(home):
    code, output = invoke("token", "create", "--role", "manager", "--team", "T1", "T2", "--team", "T3")

    assert code == 0
    (token,) = list_tokens(home)
    assert token["role"] == "manager" and token["teams"] == ["T1", "T2", "T3"]
    assert AccessStore(home.access_db).authenticate(output.strip()).teams == {"T1", "T2", "T3"}


def test_evaluate_csv_refuses_values_that_follow_no_drop(tmp_path):
    code, output = invoke("evaluate-csv", str(tmp_path / "hr.csv"), "Age", "--duration", "tenure", "--event", "left")

    assert code == 2
    assert "'Age'" in output and "--drop" in output


def test_token_revoke_accepts_the_ids_token_list_shows_in_full_when_piped(home):
    for teams in (["team-with-a-long-name-north"], ["team-with-a-long-name-south"]):
        assert invoke("token", "create", "--role", "manager", "--team", *teams)[0] == 0
    stored = list_tokens(home)

    code, listed = invoke("token", "list")

    assert code == 0
    ids = re.findall(r"tok_\w+", listed)
    assert ids == [t["token_id"] for t in stored]  # whole, not cut short to fit 80 columns
    assert all(t["created_at"] in listed and t["teams"][0] in listed for t in stored)
    assert "…" not in listed

    code, output = invoke("token", "revoke", ids[0])

    assert code == 0 and "revoked" in output
    assert [t["revoked_at"] is not None for t in list_tokens(home)] == [True, False]
    assert invoke("token", "revoke", ids[0])[0] == 1  # already revoked


def test_synth_prints_sizes_and_outflow_and_writes_under_home_by_default(home):
    code, output = invoke("synth", "--workers", "20", "--years", "1", "--format", "csv")

    assert code == 0
    summary = json.loads((home.home / "sector" / "sector.json").read_text())
    assert "SectorSummary(" not in output
    for table, rows in summary["rows"].items():
        assert re.search(rf"{table}\s+│\s+{rows:,}\b", output), table
    assert f"{summary['sector_outflow_rate']:.1%}" in output and "leaving the sector" in output
    assert f"{summary['organisation_leaving_rate']:.1%}" in output and "leaving an employer" in output


@pytest.fixture
def served(monkeypatch) -> list[tuple]:
    """`serve_api` replaced by a recorder of where it was asked to listen."""
    import continuity.serving.app

    calls = []
    monkeypatch.setattr(continuity.serving.app, "serve", lambda host, port, settings: calls.append((host, port)))
    return calls


def test_serve_listens_where_the_settings_say_unless_told(home, served, monkeypatch):
    monkeypatch.setenv("CONTINUITY_API_HOST", "0.0.0.0")
    monkeypatch.setenv("CONTINUITY_API_PORT", "8123")

    assert invoke("serve")[0] == 0
    assert invoke("serve", "--host", "127.0.0.2", "--port", "9000")[0] == 0
    assert served == [("0.0.0.0", 8123), ("127.0.0.2", 9000)]


@pytest.fixture
def flow_done(weekly_run, tmp_path, monkeypatch):
    """`run` and `demo` over the session's published week, without running the flow again."""
    import continuity.cli
    import continuity.flows.weekly

    flow_settings, result = weekly_run
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path))
    monkeypatch.setenv("CONTINUITY_WAREHOUSE_PATH", str(flow_settings.warehouse))
    monkeypatch.setenv("CONTINUITY_EXPORT_DIR", str(flow_settings.exports))
    monkeypatch.setenv("CONTINUITY_API_PORT", "8123")
    monkeypatch.setattr(continuity.cli, "_prefect_env", lambda settings: None)
    monkeypatch.setattr(continuity.flows.weekly, "weekly", lambda settings, retrain: result)


def test_run_prints_no_api_address_for_it_serves_none(flow_done):
    code, output = invoke("run")

    assert code == 0
    assert "Top 10 of the risk list" in output
    assert "http://" not in output and ":8123" not in output


def test_the_run_summary_shows_no_health_driver(flow_done, weekly_run):
    settings, result = weekly_run
    with connect(settings.warehouse, read_only=True) as con:
        top = con.execute("select drivers from risk_scores where score_date = ? order by rank limit 10",
                          [result.score_date]).fetchall()
    health = {d["label"] for (drivers,) in top for d in json.loads(drivers) if d.get("health")}
    shown = {d["label"] for (drivers,) in top for d in json.loads(drivers) if not d.get("health")}
    assert health, "the tiny sector's top 10 should carry a health driver to hide"

    output = invoke("run")[1]
    assert all("sick" in label for label in health) and not any("sick" in label for label in shown)
    assert "sick" not in output
    assert any(label.split()[0] in output for label in shown)


def test_demo_prints_the_address_it_serves_on(flow_done, served):
    code, output = invoke("demo")

    assert code == 0
    assert served == [("127.0.0.1", 8123)]
    assert "http://127.0.0.1:8123/ui" in output

    assert "http://" not in invoke("demo", "--no-serve")[1]


def test_ingest_help_lists_the_export_files_one_per_line():
    code, output = invoke("ingest", "--help")

    assert code == 0
    lines = [line.strip() for line in output.splitlines()]
    for table in ("workers", "hr_events", "assignments", "contacts", "funding_contracts"):
        assert any(line.startswith(f"{table} ") for line in lines), table
    assert next(line for line in lines if line.startswith("contacts ")).endswith("(optional)")
    assert next(line for line in lines if line.startswith("Usage:")).endswith("DIR}")


def test_token_create_help_names_its_values_not_python_types():
    code, output = invoke("token", "create", "--help")

    assert code == 0
    assert "ROLE" in output and "--team A B" in output
    assert "list[str]" not in output


def test_bench_quality_writes_under_home_and_reads_the_ibm_file_from_settings(home, monkeypatch):
    import continuity.benchmarks.quality

    calls = []
    monkeypatch.setattr(continuity.benchmarks.quality, "quality_benchmark",
                        lambda out, settings, world: calls.append((out, settings.ibm_csv_path, world)) or {})
    monkeypatch.setenv("CONTINUITY_IBM_CSV_PATH", "/data/ibm.csv")

    assert invoke("bench", "quality")[0] == 0
    assert invoke("bench", "quality", "--world", "interactions")[0] == 0
    assert calls == [(home.home / "quality.json", Path("/data/ibm.csv"), "proportional"),
                     (home.home / "quality-interactions.json", Path("/data/ibm.csv"), "interactions")]
    monkeypatch.delenv("CONTINUITY_IBM_CSV_PATH")
    assert Settings().ibm_csv_path == Path(__file__).resolve().parents[2] / "shared" / "data" / "ibm_hr_attrition.csv"


def test_evaluate_csv_takes_protected_columns_and_refuses_ambiguous_extra_values(tmp_path):
    from test_evaluate_csv import write_dutch_export

    path = tmp_path / "hr.csv"
    write_dutch_export(path, rows=200, seed=1)
    out = tmp_path / "result.json"
    code, output = invoke("evaluate-csv", str(path), "--duration", "dienstjaren", "--event", "uit_dienst",
                          "--folds", "2", "--repeats", "1", "--time-budget", "0", "--protected", "contract",
                          "--json", str(out))
    assert code == 0, output
    assert {g["group"] for g in json.loads(out.read_text())["fairness"]["contract"]} == {"vast", "tijdelijk"}
    assert "protected 'contract', kept out of the models" in output

    code, output = invoke("evaluate-csv", str(path), "--duration", "dienstjaren", "--event", "uit_dienst",
                          "--drop", "medewerker", "werkdruk", "--protected", "contract")
    assert code == 2 and "each flag one column" in output
