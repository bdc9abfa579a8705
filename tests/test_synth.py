"""The synthetic sector: contract shape, integrity, calibration, determinism and the oracle.

The outflow tests use 600 positions x 3 years (about 1,700 worker-years, 500 exits): large
enough that the yearly rates are stable to about a point, small enough to run in seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from continuity.features.contract import TABLES
from continuity.synth import SectorSummary, generate_sector

START = date(2020, 1, 6)


def _load(folder: Path, fmt: str) -> dict[str, pd.DataFrame]:
    read = pd.read_parquet if fmt == "parquet" else (lambda p: pd.read_csv(p, dtype=str, keep_default_na=False))
    return {name: read(folder / "exports" / f"{name}.{fmt}") for name in TABLES}


@pytest.fixture(scope="module")
def sector(tmp_path_factory) -> tuple[SectorSummary, dict[str, pd.DataFrame], pd.DataFrame]:
    out = tmp_path_factory.mktemp("sector600")
    summary = generate_sector(out, workers=600, years=3, seed=0, fmt="parquet", start=START)
    return summary, _load(out, "parquet"), pd.read_parquet(out / "oracle" / "oracle_hazard.parquet")


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("other_seed", 1)):
        runs[name] = tmp_path_factory.mktemp(f"tiny_{name}")
        generate_sector(runs[name], workers=150, years=2, seed=seed, fmt="csv", start=START)
    return runs


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_table_has_exactly_the_contract_columns(sector, tiny_runs):
    _, tables, oracle = sector
    csv_tables = _load(tiny_runs["a"], "csv")
    for name, table in TABLES.items():
        assert list(tables[name].columns) == table.column_names, name
        assert list(csv_tables[name].columns) == table.column_names, name
        assert len(tables[name]) > 0, name
    assert list(oracle.columns) == ["worker_id", "week_start", "hazard_voluntary", "hazard_other"]


def test_csv_dates_are_iso_and_missing_values_empty(tiny_runs):
    workers = _load(tiny_runs["a"], "csv")["workers"]
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    assert workers["hire_date"].map(iso.match).all()
    terminated = workers["termination_date"] != ""
    assert terminated.any() and (~terminated).any()
    assert workers.loc[terminated, "termination_date"].map(iso.match).all()
    assert (workers.loc[~terminated, "termination_reason"] == "").all()
    assert (workers.loc[terminated, "termination_reason"] != "").all()


def test_contract_keys_are_unique(sector):
    _, tables, _ = sector
    for name, table in TABLES.items():
        assert not tables[name].duplicated(list(table.key)).any(), name


def test_referential_integrity(sector):
    _, tables, _ = sector
    workers = set(tables["workers"]["worker_id"])
    for name in ("hr_events", "assignments", "contacts"):
        assert set(tables[name]["worker_id"]) <= workers, name
    assert set(tables["workers"]["organisation_id"]) <= set(tables["funding_contracts"]["organisation_id"])
    pairs = tables["assignments"][["client_id", "worker_id"]].drop_duplicates()
    contacts = tables["contacts"].merge(pairs, how="left", indicator=True)
    assert (contacts["_merge"] == "both").all()
    # every event falls inside the employment it belongs to
    events = tables["hr_events"].merge(tables["workers"][["worker_id", "hire_date", "termination_date"]])
    assert (events["event_date"] >= events["hire_date"]).all()
    ended = events["termination_date"].notna()
    assert (events.loc[ended, "event_date"] <= events.loc[ended, "termination_date"]).all()


def test_outflow_is_calibrated_to_the_sector_figures(sector):
    summary, tables, oracle = sector
    assert abs(summary.sector_outflow_rate - 0.17) <= 0.02
    assert 0.24 <= summary.organisation_leaving_rate <= 0.32
    assert 0.08 <= summary.move_rate <= 0.16
    assert 0.6 <= summary.voluntary_share <= 0.8
    assert 0.045 <= summary.sick_leave_share <= 0.07
    # the summary agrees with what the files themselves say
    worker_years = len(oracle) / (365.25 / 7)
    leavers = tables["workers"]["termination_date"].notna().sum()
    assert leavers / worker_years == pytest.approx(summary.organisation_leaving_rate, abs=1e-3)


def test_same_seed_gives_identical_files_and_another_seed_does_not(tiny_runs):
    a, b, other = (_hashes(tiny_runs[k]) for k in ("a", "b", "other_seed"))
    assert len(a) == len(TABLES) + 2  # exports, oracle, sector.json
    assert a == b
    assert all(a[name] != other[name] for name in a)


def test_sector_json_records_the_run(tiny_runs):
    facts = json.loads((tiny_runs["a"] / "sector.json").read_text())
    assert facts["seed"] == 0 and facts["workers"] == 150
    assert date.fromisoformat(facts["export_date"]) == START + timedelta(weeks=104)
    assert date.fromisoformat(facts["export_date"]).weekday() == 0
    workers = _load(tiny_runs["a"], "csv")["workers"]
    assert facts["rows"]["workers"] == len(workers)
    assert {"organisation_leaving_rate", "sector_outflow_rate", "voluntary_share"} <= facts.keys()


def test_leavers_hand_their_clients_to_a_colleague(sector):
    _, tables, _ = sector
    a = tables["assignments"].merge(tables["workers"][["worker_id", "termination_date"]])
    left = a[a["termination_date"].notna()]
    assert left["end_date"].notna().all()
    assert (left["end_date"] <= left["termination_date"]).all()
    handed = a[(a["end_reason"] == "worker_left") & (a["role"] == "primary")]
    assert len(handed) > 100
    successors = a[a["role"] == "primary"][["client_id", "worker_id", "start_date"]]
    matched = handed.merge(successors, left_on=["client_id", "end_date"], right_on=["client_id", "start_date"],
                           suffixes=("", "_next"))
    matched = matched[matched["worker_id_next"] != matched["worker_id"]]
    assert set(matched["client_id"] + matched["end_date"].astype(str)) == set(
        handed["client_id"] + handed["end_date"].astype(str))


def test_a_client_has_one_primary_worker_at_a_time(sector):
    _, tables, _ = sector
    p = tables["assignments"][tables["assignments"]["role"] == "primary"].sort_values(["client_id", "start_date"])
    end = p["end_date"].fillna(pd.Timestamp("2100-01-01").date())
    next_start = p.groupby("client_id")["start_date"].shift(-1)
    has_next = next_start.notna()
    assert (next_start[has_next] >= end[has_next]).all()


def test_oracle_has_a_row_per_worker_per_active_week(sector):
    summary, tables, oracle = sector
    assert (pd.to_datetime(oracle["week_start"]).dt.weekday == 0).all()
    assert not oracle.duplicated(["worker_id", "week_start"]).any()
    w = tables["workers"].set_index("worker_id")
    joined = oracle.join(w[["hire_date", "termination_date"]], on="worker_id")
    assert (joined["hire_date"] < joined["week_start"]).all()
    active = joined["termination_date"].isna() | (joined["termination_date"] >= joined["week_start"])
    assert active.all()
    # and no active week is missing: count the Mondays each worker was active
    first = (pd.to_datetime(w["hire_date"]) + pd.Timedelta(days=1)).clip(lower=pd.Timestamp(START))
    first_monday = first + pd.to_timedelta((7 - first.dt.weekday) % 7, unit="D")
    last_week = pd.Timestamp(summary.export_date) - pd.Timedelta(days=7)
    last = pd.to_datetime(w["termination_date"]).fillna(last_week).clip(upper=last_week)
    expected = ((last - first_monday).dt.days // 7 + 1).clip(lower=0)
    counts = oracle.groupby("worker_id").size().reindex(w.index, fill_value=0)
    assert (counts == expected).all()
    assert oracle[["hazard_voluntary", "hazard_other"]].apply(lambda c: c.between(0, 1).all()).all()


def test_oracle_hazard_is_higher_where_the_documented_drivers_are_present(sector):
    _, tables, oracle = sector
    oracle = oracle.assign(week_start=pd.to_datetime(oracle["week_start"]))
    events = tables["hr_events"].assign(event_date=pd.to_datetime(tables["hr_events"]["event_date"]))

    def exposed(event_type: str, weeks: int) -> pd.Series:
        e = events[events["event_type"] == event_type][["worker_id", "event_date"]]
        m = oracle.reset_index().merge(e, on="worker_id")
        recent = (m["event_date"] < m["week_start"]) & (m["event_date"] >= m["week_start"] - pd.Timedelta(weeks=weeks))
        return oracle.index.isin(m.loc[recent, "index"])

    sick = exposed("sick_leave", 13)
    new_manager = exposed("manager_change", 13)
    for flag in (sick, new_manager):
        assert flag.any() and (~flag).any()
        assert oracle.loc[flag, "hazard_voluntary"].mean() > 1.2 * oracle.loc[~flag, "hazard_voluntary"].mean()

    w = tables["workers"].set_index("worker_id")
    age = oracle["week_start"].dt.year - oracle["worker_id"].map(w["birth_year"])
    assert (oracle.loc[age >= 67, "hazard_other"] == 1.0).all()
    assert oracle.loc[age >= 62, "hazard_other"].mean() > 5 * oracle.loc[age < 55, "hazard_other"].mean()


def _first_primary(assignments: pd.DataFrame) -> pd.DataFrame:
    primary = assignments[assignments["role"] == "primary"].sort_values(["client_id", "start_date"])
    return primary.drop_duplicates("client_id")


def test_households_start_with_one_worker_and_mostly_stay_with_one(sector):
    summary, tables, _ = sector
    a = tables["assignments"]
    clients = _first_primary(a)
    size = clients["household_id"].map(clients["household_id"].value_counts())
    multi = (size > 1).groupby(clients["domain"]).mean()
    assert 0.25 <= multi["jeugd"] <= 0.45  # about a third of youth clients have a sibling in care
    assert 0.08 <= multi["wmo"] <= 0.25 and 0.08 <= multi["participatie"] <= 0.25
    assert summary.clients_in_multi_member_households == pytest.approx((size > 1).mean(), abs=1e-4)
    # a household is one domain and begins with one worker
    households = clients[size > 1].groupby("household_id")
    assert (households["worker_id"].nunique() == 1).all() and (households["domain"].nunique() == 1).all()
    assert a.groupby("client_id")["household_id"].nunique().max() == 1
    # later handovers may part them, but a year into the sector most households still share their worker
    t = pd.Timestamp(START + timedelta(weeks=104)).date()
    open_ = a[(a["role"] == "primary") & (a["start_date"] < t) & (a["end_date"].isna() | (a["end_date"] >= t))]
    shared = open_.groupby("household_id")["worker_id"].agg(["size", "nunique"]).query("size > 1")
    assert len(shared) > 50 and (shared["nunique"] == 1).mean() >= 0.75


def test_youth_clients_are_placed_and_re_placed_and_the_flag_follows_their_placements(sector):
    summary, tables, _ = sector
    a, p = tables["assignments"], tables["placements"]
    assert set(p["client_id"]) <= set(a.loc[a["domain"] == "jeugd", "client_id"])
    assert set(p["setting"]) == {"foster_family", "residential_group"}
    assert (p["end_date"].isna() | (p["end_date"] > p["placement_date"])).all()
    p = p.sort_values(["client_id", "placement_date"])
    following = p["client_id"].eq(p["client_id"].shift())
    assert following.sum() > 50  # re-placements are recorded
    # a placement follows the previous one's end: most re-placements on that very day (the child stays out of
    # home), the others after a return home
    previous_end = p["end_date"].shift()[following]
    assert (p.loc[following, "placement_date"] >= previous_end).all()
    assert (p.loc[following, "placement_date"] == previous_end).mean() > 0.5
    youth = a.loc[a["domain"] == "jeugd", "client_id"].drop_duplicates()
    assert 0.12 <= youth.isin(p["client_id"]).mean() <= 0.25
    assert summary.youth_clients_placed == pytest.approx(youth.isin(p["client_id"]).mean(), abs=1e-4)
    in_period = p["placement_date"] >= START
    assert summary.placements_per_year == pytest.approx(in_period.sum() / summary.years, abs=0.1)
    assert summary.replacements_per_year == pytest.approx((in_period & following).sum() / summary.years, abs=0.1)
    # flag_out_of_home on an assignment = a placement of the client was open on the day it started
    pairs = a[["client_id", "start_date", "flag_out_of_home"]].reset_index().merge(p, on="client_id", how="left")
    open_at_start = (pairs["placement_date"] <= pairs["start_date"]) & (
        pairs["end_date"].isna() | (pairs["end_date"] > pairs["start_date"]))
    expected = open_at_start.groupby(pairs["index"]).any()
    assert (a["flag_out_of_home"] == expected.reindex(a.index)).all()
    assert a["flag_out_of_home"].sum() > 100 and not a.loc[a["domain"] != "jeugd", "flag_out_of_home"].any()


def test_leavers_give_notice_weeks_before_their_last_day(sector):
    summary, tables, _ = sector
    w, e = tables["workers"], tables["hr_events"]
    notices = e[e["event_type"] == "notice"].merge(w[["worker_id", "hire_date", "termination_date",
                                                      "termination_reason"]], on="worker_id")
    assert not notices.duplicated("worker_id").any()
    lead = (pd.to_datetime(notices["end_date"]) - pd.to_datetime(notices["event_date"])).dt.days
    after_hire = notices["event_date"] > notices["hire_date"]
    for reason, giver, (low, high) in (("voluntary", "worker", (31, 59)),
                                       ("end_of_temporary_contract", "employer", (31, 45))):
        left = w[w["termination_reason"] == reason]
        given = notices[notices["termination_reason"] == reason]
        assert set(given["worker_id"]) == set(left["worker_id"]), reason
        assert (given["end_date"] == given["termination_date"]).all() and (given["detail"] == giver).all()
        assert lead[given.index][after_hire[given.index]].between(low, high).all(), reason
    assert set(notices["termination_reason"].dropna()) == {"voluntary", "end_of_temporary_contract"}
    # already given at the export for a last day after it: still employed, the known departures
    export = summary.export_date
    pending = notices[notices["end_date"] >= export]
    assert len(pending) == summary.notices_pending_at_export > 0
    assert pending["termination_date"].isna().all() and (pending["event_date"] < export).all()
    assert summary.notices_per_year == pytest.approx((notices["event_date"] >= START).sum() / summary.years, abs=0.1)


def test_every_team_names_its_market_and_the_market_is_funded(sector):
    _, tables, _ = sector
    teams, funding = tables["teams"], tables["funding_contracts"]
    assert set(tables["workers"]["team_id"]) <= set(teams["team_id"])
    staffed = tables["workers"][["team_id", "organisation_id"]].drop_duplicates().merge(teams, on="team_id")
    assert (staffed["organisation_id_x"] == staffed["organisation_id_y"]).all()
    markets = teams.merge(funding, on=["organisation_id", "municipality", "domain"], how="left", indicator=True)
    assert (markets["_merge"] == "both").all()
    assert teams.groupby("organisation_id")[["municipality", "domain"]].apply(
        lambda m: len(m.drop_duplicates())).max() > 1  # an organisation serves several markets
