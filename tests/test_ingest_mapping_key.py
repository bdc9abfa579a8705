"""Issue 13: the weekly run ingests with the same mapping as `continuity ingest`, and the
pseudonym key cannot silently change under a warehouse (nor the demo key load a real export)."""

from __future__ import annotations

import duckdb
import pytest

from command_line import home, invoke  # noqa: F401 - home is a fixture
from continuity.config import DEMO_PSEUDONYM_KEY, Settings
from continuity.features.ingest import UnusableInput, ingest_dir
from continuity.flows.weekly import ingest_settings
from test_ingest import BASE, EXPORT, KEY, edit, write_export
from test_ingest import ingest_path  # noqa: F401 - a fixture: each test runs on both ingest paths


def _mapped_export(folder):
    """An export whose workers file, columns and a label are not the contract's, and its mapping."""
    t = edit(BASE, "workers", 2, "contract_type", "OBT")
    t["workers"][0] = t["workers"][0].replace("worker_id", "Personeelsnummer").replace("contract_type", "Soort contract")
    src = write_export(folder / "exports", {k: v for k, v in t.items() if k != "workers"})
    (src / "personeel.csv").write_text("\n".join(t["workers"]) + "\n")
    mapping = folder / "map.yaml"
    mapping.write_text("files:\n  workers: personeel.csv\ncolumns:\n  workers:\n    Personeelsnummer: worker_id\n"
                       "    Soort contract: contract_type\nvalues:\n  contract_type:\n    OBT: permanent\n")
    return src, mapping


def _rows(warehouse) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(f"select * from {name} order by all").fetchall()
                for name in ("workers", "hr_events", "assignments", "contacts", "funding_contracts")}


def test_flow_ingest_uses_the_mapping_and_loads_what_ingest_loads(tmp_path, monkeypatch):
    src, mapping = _mapped_export(tmp_path)
    # `continuity ingest --mapping` into one warehouse
    monkeypatch.setenv("CONTINUITY_PSEUDONYM_KEY", KEY)
    code, out = invoke("ingest", str(src), "--mapping", str(mapping), "--warehouse", str(tmp_path / "cli.duckdb"))
    assert code == 0, out
    # the weekly flow's ingest, mapping from CONTINUITY_EXPORT_MAPPING, into another
    monkeypatch.setenv("CONTINUITY_EXPORT_MAPPING", str(mapping))
    settings = Settings(home=tmp_path / "home", export_dir=src, warehouse_path=tmp_path / "flow.duckdb")
    assert settings.export_mapping == mapping
    report = ingest_settings(settings)
    assert report.exit_code == 0 and report.errors == []
    assert report.tables["workers"].loaded == 3
    cli_rows, flow_rows = _rows(tmp_path / "cli.duckdb"), _rows(tmp_path / "flow.duckdb")
    assert flow_rows == cli_rows
    assert ("W1",) in {r[:1] for r in flow_rows["workers"]}
    # without the mapping the flow cannot read the export at all
    monkeypatch.delenv("CONTINUITY_EXPORT_MAPPING")
    with pytest.raises(UnusableInput, match="missing file for table workers"):
        ingest_settings(Settings(home=tmp_path / "home", export_dir=src, warehouse_path=tmp_path / "flow2.duckdb"))


def test_run_passes_its_mapping_to_the_flow(home, tmp_path, monkeypatch):
    import continuity.cli
    import continuity.flows.report as report_mod
    import continuity.flows.weekly as weekly_mod

    seen = {}
    monkeypatch.setattr(continuity.cli, "_prefect_env", lambda settings: None)  # leaves os.environ alone
    monkeypatch.setattr(weekly_mod, "weekly", lambda settings, retrain: seen.setdefault("s", settings))
    monkeypatch.setattr(report_mod, "print_summary", lambda *a: None)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("organisations: [ORG9]\n")
    code, out = invoke("run", "--mapping", str(mapping))
    assert code == 0, out
    assert seen["s"].export_mapping == mapping
    assert "--mapping" in invoke("run", "--help")[1]


def test_other_key_on_same_warehouse_is_refused(tmp_path):
    src, wh = write_export(tmp_path / "ex"), tmp_path / "wh.duckdb"
    ingest_dir(src, wh, pseudonym_key=KEY, export_date=EXPORT)
    with duckdb.connect(str(wh), read_only=True) as con:
        before = con.execute("select count(*) from load_log").fetchone()[0]
        (check,) = con.execute("select distinct key_check from load_log").fetchone()
    assert KEY not in check and len(check) == 12  # a fingerprint, never the key
    with pytest.raises(UnusableInput, match="differs from the one this warehouse was loaded with") as e:
        ingest_dir(src, wh, pseudonym_key="other-key", export_date=EXPORT)
    assert "\n" not in str(e.value)
    with pytest.raises(UnusableInput, match="re-key not supported yet: start a new warehouse"):
        ingest_dir(src, wh, pseudonym_key="other-key", export_date=EXPORT, rekey=True)
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select count(*) from load_log").fetchone()[0] == before  # nothing written
    # the same key still loads
    assert ingest_dir(src, wh, pseudonym_key=KEY, export_date=EXPORT).exit_code == 0


def test_other_key_exit_2_on_the_command_line(tmp_path, monkeypatch):
    src, wh = write_export(tmp_path / "ex"), tmp_path / "wh.duckdb"
    monkeypatch.setenv("CONTINUITY_PSEUDONYM_KEY", KEY)
    assert invoke("ingest", str(src), "--warehouse", str(wh))[0] == 0
    monkeypatch.setenv("CONTINUITY_PSEUDONYM_KEY", "other-key")
    code, out = invoke("ingest", str(src), "--warehouse", str(wh))
    assert code == 2 and "pseudonym key differs" in out
    code, out = invoke("ingest", str(src), "--warehouse", str(wh), "--rekey")
    assert code == 2 and "re-key not supported yet" in out


def test_demo_key_refused_for_a_real_export(tmp_path, monkeypatch):
    src = write_export(tmp_path / "ex" / "exports")
    with pytest.raises(UnusableInput, match="CONTINUITY_PSEUDONYM_KEY"):
        ingest_dir(src, tmp_path / "wh.duckdb", pseudonym_key=DEMO_PSEUDONYM_KEY, export_date=EXPORT)
    assert not (tmp_path / "wh.duckdb").exists()
    monkeypatch.delenv("CONTINUITY_PSEUDONYM_KEY", raising=False)
    code, out = invoke("ingest", str(src), "--warehouse", str(tmp_path / "wh.duckdb"))
    assert code == 2 and "CONTINUITY_PSEUDONYM_KEY" in out and "demo" in out
    # the synthetic sector (sector.json beside the exports) may use it
    (src.parent / "sector.json").write_text("{}")
    assert ingest_dir(src, tmp_path / "wh.duckdb", pseudonym_key=DEMO_PSEUDONYM_KEY, export_date=EXPORT).exit_code == 0
