"""Case numbers: loaded apart from the warehouse, pseudonymised as ingest does, shown to hr and managers in
scope only, never to sector or worker tokens, and every showing audited."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest
from command_line import invoke
from conftest import week_with_case_numbers
from fastapi.testclient import TestClient

from continuity.access import AccessStore, create_token
from continuity.config import Settings
from continuity.features.case_numbers import UnusableLookup, load_case_numbers
from continuity.features.pseudonymise import pseudonym
from continuity.serving.app import create_app
from continuity.serving.case_numbers import CASE_NUMBERS_SHOWN

KEY = "a-test-key-of-the-organisation"
TEAM, OTHER_TEAM = "team-a1", "team-b1"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A published week and a lookup giving every client of the week a case number."""
    return week_with_case_numbers(Settings(home=tmp_path_factory.mktemp("case-numbers")))


@pytest.fixture(scope="module")
def as_role(home: Settings):
    app = create_app(home)
    tokens = {
        "manager_a1": create_token(home, "manager", teams=[TEAM]), "hr_a": create_token(home, "hr", organisation="org-a"),
        "sector": create_token(home, "sector"), "admin": create_token(home, "admin"),
        "worker": create_token(home, "worker", worker="W001"),
    }
    return lambda role: TestClient(app, headers={"Authorization": f"Bearer {tokens[role]}"})


def _first_worker_with_clients(client: TestClient, team: str) -> str:
    members = client.get(f"/teams/{team}").json()["workers"]
    return next(m["worker_id"] for m in members if m["active_clients"])


def _case_number_reads(home: Settings, client: TestClient) -> list[dict]:
    client.app.state.audit.apply()
    _, entries = AccessStore(home.access_db).audit(limit=1000)
    return [e for e in entries if e["parameters"] and CASE_NUMBERS_SHOWN in e["parameters"]]


def test_a_manager_in_scope_sees_the_case_numbers_on_team_worker_and_plan_rows(as_role, home):
    manager = as_role("manager_a1")
    lookup = pd.read_parquet(home.case_numbers).set_index("client_id").case_number
    team = manager.get(f"/teams/{TEAM}").json()
    assert team["clients"] and all(c["case_number"] == lookup[c["client_id"]] for c in team["clients"])
    worker = _first_worker_with_clients(manager, TEAM)
    exposure = manager.get(f"/workers/{worker}/exposure").json()
    assert exposure["clients"] and all(c["case_number"] == lookup[c["client_id"]] for c in exposure["clients"])
    plans = [manager.post("/handover-plans", json={"worker_id": m["worker_id"]}).json() for m in team["workers"]]
    handovers = [h for plan in plans for h in plan["handovers"]]
    assert handovers and all(h["case_number"] == lookup[h["client_id"]] for h in handovers)
    page = manager.get(f"/ui/teams/{TEAM}", cookies={"lang": "en"})
    assert lookup[team["clients"][0]["client_id"]] in page.text


def test_hr_sees_them_but_admin_does_not_and_sector_and_worker_tokens_reach_no_client_row(as_role):
    hr, admin = as_role("hr_a"), as_role("admin")
    assert all(c["case_number"] for c in hr.get(f"/teams/{TEAM}").json()["clients"])
    assert all(c["case_number"] is None for c in admin.get(f"/teams/{TEAM}").json()["clients"])
    worker = _first_worker_with_clients(admin, TEAM)
    assert all(c["case_number"] is None for c in admin.get(f"/workers/{worker}/exposure").json()["clients"])
    for role in ("sector", "worker"):
        assert as_role(role).get(f"/teams/{TEAM}").status_code == 403
        assert as_role(role).get(f"/workers/{worker}/exposure").status_code == 403
    aggregates = as_role("sector").get("/aggregates", params={"by": "region"})
    assert aggregates.status_code == 200 and "Z-" not in aggregates.text


def test_out_of_scope_a_manager_gets_403_and_no_case_number(as_role):
    manager, admin = as_role("manager_a1"), as_role("admin")
    other = _first_worker_with_clients(admin, OTHER_TEAM)
    for answer in (manager.get(f"/teams/{OTHER_TEAM}"), manager.get(f"/workers/{other}/exposure"),
                   manager.post("/handover-plans", json={"worker_id": other})):
        assert answer.status_code == 403 and "Z-" not in answer.text


def test_each_showing_is_audited_with_the_clients_and_the_workers_whose_clients_they_are(as_role, home):
    manager = as_role("manager_a1")
    worker = _first_worker_with_clients(manager, TEAM)
    before = len(_case_number_reads(home, manager))
    shown = {c["client_id"] for c in manager.get(f"/workers/{worker}/exposure").json()["clients"]}
    reads = _case_number_reads(home, manager)
    assert len(reads) == before + 1
    read = reads[0]  # newest first
    assert read["role"] == "manager" and read["endpoint"] == "GET /workers/{worker_id}/exposure"
    assert read["worker_ids"] == [worker] and set(read["parameters"][CASE_NUMBERS_SHOWN].split()) == shown
    as_role("admin").get(f"/workers/{worker}/exposure")  # no case number shown, none audited as shown
    assert len(_case_number_reads(home, manager)) == before + 1


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("client_id,case_number\n" + "".join(f"{c},{n}\n" for c, n in rows))
    return path


def test_the_loaded_lookup_is_pseudonymised_as_ingest_does_owner_only_outside_the_warehouse_and_replaced(tmp_path):
    settings = Settings(home=tmp_path / "home")
    target = settings.case_numbers
    assert load_case_numbers(_csv(tmp_path / "first.csv", [("C1", "Z-1"), (" C2 ", "Z-2"), ("C1", "Z-1")]),
                             target, KEY) == 2
    lookup = pd.read_parquet(target)
    assert sorted(zip(lookup.client_id, lookup.case_number)) == sorted(
        [(pseudonym("C1", KEY), "Z-1"), (pseudonym("C2", KEY), "Z-2")])
    assert "C1" not in target.read_bytes().decode("latin-1")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert target.parent != settings.warehouse.parent and target.parent != settings.published
    assert not target.resolve().is_relative_to(settings.published.resolve())

    assert load_case_numbers(_csv(tmp_path / "again.csv", [("C2", "Z-22"), ("C3", "Z-3")]), target, KEY) == 2
    lookup = pd.read_parquet(target)
    assert sorted(lookup.case_number) == ["Z-22", "Z-3"] and lookup.client_id.is_unique
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # nothing left beside it


@pytest.mark.parametrize("rows", [[("C1", "Z-1"), ("C1", "Z-2")], [("C1", "")]])
def test_a_lookup_giving_a_client_two_case_numbers_or_none_is_refused_and_the_old_one_kept(tmp_path, rows):
    target = Settings(home=tmp_path / "home").case_numbers
    load_case_numbers(_csv(tmp_path / "good.csv", [("C9", "Z-9")]), target, KEY)
    with pytest.raises(UnusableLookup):
        load_case_numbers(_csv(tmp_path / "bad.csv", rows), target, KEY)
    assert pd.read_parquet(target).case_number.tolist() == ["Z-9"]


def test_the_command_loads_the_lookup_and_refuses_a_file_without_case_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONTINUITY_PSEUDONYM_KEY", KEY)
    code, output = invoke("case-numbers", "load", str(_csv(tmp_path / "lookup.csv", [("C1", "Z-1"), ("C2", "Z-2")])))
    assert code == 0 and "2 clients" in output
    assert pd.read_parquet(Settings().case_numbers).client_id.tolist() == [pseudonym("C1", KEY), pseudonym("C2", KEY)]
    (tmp_path / "ids.csv").write_text("client_id\nC1\n")
    code, output = invoke("case-numbers", "load", str(tmp_path / "ids.csv"))
    assert code == 2 and "case_number" in output


def test_a_key_other_than_the_warehouses_is_refused_and_the_old_lookup_kept(tmp_path):
    """With another key no pseudonym would match a published client: every case number would go missing."""
    import duckdb

    from continuity.features.pseudonymise import key_check

    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "private" / "case_numbers.parquet"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table load_log as select now() as loaded_at, ? as key_check", [key_check(KEY)])
    assert load_case_numbers(_csv(tmp_path / "first.csv", [("C1", "Z-1")]), target, KEY, warehouse) == 1
    with pytest.raises(UnusableLookup, match="pseudonym key differs"):
        load_case_numbers(_csv(tmp_path / "other.csv", [("C1", "Z-1")]), target, "another-key", warehouse)
    assert pd.read_parquet(target).client_id.tolist() == [pseudonym("C1", KEY)]
