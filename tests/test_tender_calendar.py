"""The tender calendar: on hand-made contract tables with a forecaster whose hazard doubles in the last 6 months
of funding (which contracts run, their successor, who is on each, what the end adds), and on the real weekly
flow's warehouse and champion model (the published tables are the warehouse's)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from contract_frames import assignment, funding, load, worker

from continuity.features.funding_calendar import FAR_MONTHS, LOST, OPEN, RENEWED, tender_calendar, until_end
from continuity.features.situation import worker_snapshot
from continuity.features.snapshots import snapshot_at
from continuity.forecasts.frame import forecast_frame
from continuity.forecasts.tender_calendar import calendar_rows
from continuity.models.registry import load_champion
from continuity.publication import Publications
from continuity.warehouse import connect


T = date(2024, 6, 10)
HIRED = date(2020, 1, 6)
AWARDED = date(2021, 9, 1)


class FundingHazard:
    """A forecaster whose weekly hazard is 1% and doubles while the funding ends within 6 months."""

    def predict_incidence(self, snapshots: pd.DataFrame, weeks) -> np.ndarray:
        hazard = np.where(snapshots.months_to_funding_end.to_numpy() <= 6, 0.02, 0.01)
        return 1 - np.exp(-np.outer(hazard, np.asarray(weeks, dtype=float)))


def _hand_made_calendar(con) -> dict[str, pd.DataFrame]:
    load(con,
         workers=[worker("A1", HIRED, team_id="t1"), worker("A2", HIRED, team_id="t1"),
                  worker("B1", HIRED, team_id="t2", region="GM0344"),
                  worker("C1", HIRED, organisation_id="org2", team_id="t3"),
                  worker("C2", HIRED, organisation_id="org2", team_id="t3"), worker("D1", HIRED, team_id="t4")],
         teams=[{"team_id": "t1", "organisation_id": "org1", "municipality": "GM0363", "domain": "wmo"},
                {"team_id": "t2", "organisation_id": "org1", "municipality": "GM0344", "domain": "jeugd"},
                {"team_id": "t4", "organisation_id": "org1", "municipality": "GM0363", "domain": "participatie"}],
         assignments=[assignment("k1", "A1", HIRED), assignment("k2", "C1", HIRED, domain="wmo"),
                      assignment("k3", "C2", HIRED, domain="jeugd")],
         funding_contracts=[
             # org1's market of t1 ends in 13 weeks with no successor: the tender is to come
             funding("F1", "org1", date(2022, 1, 1), T + timedelta(days=91), AWARDED),
             # org1's market of t2 is renewed: the next contract is awarded before t
             funding("F2", "org1", date(2022, 1, 1), T + timedelta(days=200), AWARDED, municipality="GM0344",
                     domain="jeugd"),
             funding("F2b", "org1", T + timedelta(days=201), T + timedelta(days=2000), T - timedelta(days=30),
                     municipality="GM0344", domain="jeugd"),
             # org2 (team t3 not in the teams table: its region and main domain) lost its market to org3
             funding("F3", "org2", date(2022, 1, 1), T + timedelta(days=120), AWARDED),
             funding("F4", "org3", T + timedelta(days=121), T + timedelta(days=1500), T - timedelta(days=20)),
             # org1's market of t4 ends in 40 weeks: its last 6 months lie within the window
             funding("F5", "org1", date(2022, 1, 1), T + timedelta(days=280), AWARDED, domain="participatie"),
             # ended before t, and starting after t: not running
             funding("F0", "org1", date(2019, 1, 1), date(2021, 12, 31), date(2018, 9, 1)),
         ])
    snapshot = snapshot_at(con, T)
    risk = snapshot[["worker_id", "organisation_id", "team_id"]]
    return tender_calendar(con, T, FundingHazard(), snapshot, worker_snapshot(con, T, snapshot), risk)


def test_the_running_contracts_with_their_successor_known_at_t(con):
    calendar = _hand_made_calendar(con)["tender_calendar"].set_index("contract_id")

    assert list(calendar.index) == ["F1", "F3", "F2", "F5"]  # by end date; F0 ended, F2b and F4 have not started
    assert calendar.successor.to_dict() == {"F1": OPEN, "F3": LOST, "F2": RENEWED, "F5": OPEN}
    assert calendar.weeks_to_end.to_dict() == {"F1": 13, "F3": 18, "F2": 29, "F5": 40}


def test_workers_are_on_their_teams_market_or_else_their_region_and_main_domain(con):
    members = _hand_made_calendar(con)["tender_calendar_workers"].set_index("worker_id")

    # C2's main domain (jeugd) is not the market of org2's contract F3 (wmo): on no contract
    assert members.contract_id.to_dict() == {"A1": "F1", "A2": "F1", "B1": "F2", "C1": "F3", "D1": "F5"}
    assert members.window_weeks.to_dict() == {"A1": 13, "A2": 13, "B1": 29, "C1": 18, "D1": 40}


def test_the_end_within_6_months_adds_what_the_model_says_and_a_renewed_market_adds_nothing(con):
    members = _hand_made_calendar(con)["tender_calendar_workers"].set_index("worker_id")

    assert members.p_until_end["A1"] == pytest.approx(1 - np.exp(-0.02 * 13))
    assert members.p_until_end_far["A1"] == pytest.approx(1 - np.exp(-0.01 * 13))
    # F2's successor is awarded: the funding runs on to F2b's end, more than 6 months away
    assert members.p_until_end["B1"] == pytest.approx(members.p_until_end_far["B1"]) == \
        pytest.approx(1 - np.exp(-0.01 * 29))
    assert FAR_MONTHS > 6


def test_the_funding_clock_counts_the_last_6_months_of_a_contract_ending_later_in_the_window(con):
    """F5 ends in 40 weeks (9.2 months): at t the model reads no near end, but from week 16 on (the clock moves
    every 4 weeks) its funding ends within 6 months, and those 24 weeks count at the doubled hazard."""
    members = _hand_made_calendar(con)["tender_calendar_workers"].set_index("worker_id")

    assert members.p_until_end["D1"] == pytest.approx(1 - np.exp(-(0.01 * 16 + 0.02 * 24)))
    assert members.p_until_end_far["D1"] == pytest.approx(1 - np.exp(-0.01 * 40))


@pytest.fixture(scope="module")
def settings(weekly_run):
    return weekly_run[0]


@pytest.fixture(scope="module")
def publication(settings):
    return Publications(settings.published).current()


@pytest.fixture(scope="module")
def forecaster(settings):
    return load_champion(settings).forecaster


def _members_sql(t: date) -> tuple[str, dict]:
    """The scored workers on each running contract, straight from the contract tables: their organisation's
    contract for the market of their team (teams table)."""
    return ("""
        select f.contract_id, count(distinct r.worker_id) as workers
        from risk_scores r
        join teams tm on tm.team_id = r.team_id
        join funding_contracts f on f.organisation_id = r.organisation_id and f.municipality = tm.municipality
                                and f.domain = tm.domain
        where r.score_date = $t and f.awarded_date < $t and f.start_date <= $t and f.end_date >= $t
        group by f.contract_id""", {"t": t})


def test_the_published_calendar_is_the_warehouses_running_contracts_and_their_workers(settings, publication):
    t = publication.score_date
    calendar, members = publication.table("tender_calendar"), publication.table("tender_calendar_workers")
    with connect(settings.warehouse, read_only=True) as con:
        running = con.execute("select contract_id, end_date from funding_contracts where awarded_date < $t "
                              "and start_date <= $t and end_date >= $t order by contract_id", {"t": t}).df()
        counted = con.execute(*_members_sql(t)).df().set_index("contract_id").workers

    assert len(calendar) > 0
    assert sorted(calendar.contract_id) == list(running.contract_id)
    assert (calendar.set_index("contract_id").end_date.sort_index() == running.set_index("contract_id").end_date).all()
    assert set(calendar.successor) <= {RENEWED, "lost", OPEN}
    assert members.worker_id.is_unique and set(members.contract_id) <= set(calendar.contract_id)
    assert members.groupby("contract_id").size().sort_index().to_dict() == counted[counted > 0].sort_index().to_dict()
    assert ((members.p_until_end >= 0) & (members.p_until_end <= 1) & (members.p_until_end_far <= 1)).all()
    # the window ends at the contract's end, at most at the published curve's 52 weeks
    weeks = members.contract_id.map(calendar.set_index("contract_id").weeks_to_end)
    assert (members.window_weeks == weeks.clip(upper=52)).all()


def test_the_answers_count_the_published_workers_and_clients(publication):
    frame = forecast_frame(publication)
    calendar, members = publication.table("tender_calendar"), publication.table("tender_calendar_workers")
    clients = publication.table("client_exposure")
    rows = calendar_rows(calendar, members, frame.workers, clients, organisation=None)
    full = {r["contract_id"]: r for o in calendar.organisation_id.unique()
            for r in calendar_rows(calendar, members, frame.workers, clients, organisation=o)}

    assert [r["contract_id"] for r in rows] == list(calendar.sort_values(["end_date", "contract_id"]).contract_id)
    for contract_id, row in full.items():
        workers = members[members.contract_id == contract_id].worker_id
        assert row["workers"] == len(workers)
        assert row["clients"] == clients[clients.worker_id.isin(workers)].client_id.nunique()
        assert row["clients_at_risk"] <= row["clients"]
    for row in rows:
        if row["suppressed"]:
            assert row["workers"] is None
        else:
            assert row["workers"] == full[row["contract_id"]]["workers"] and row["workers"] in (0, *range(10, 10**6))


def test_the_published_figures_are_the_champions_with_the_funding_clock_running(settings, publication, forecaster):
    """The tiny sector's champion is fitted on too few leavers to be sure of the funding effect's sign (the hand-made
    test above shows the end adding departures), so this checks that the published figures are the champion's
    own, and that with the clock stopped (the inputs held at t) they are the published probabilities exactly."""
    t = publication.score_date
    members = publication.table("tender_calendar_workers")
    curves = publication.table("survival_curves").set_index(["worker_id", "week"]).survival
    with connect(settings.warehouse, read_only=True) as con:
        snapshot = snapshot_at(con, t)
    published = 1 - curves.reindex(pd.MultiIndex.from_arrays([members.worker_id, members.window_weeks])).to_numpy()
    held = snapshot.set_index("worker_id").months_to_funding_end

    class ClockStopped:  # each step may score some of the rows only: the months held at t by worker
        def predict_incidence(self, rows, weeks):
            return forecaster.predict_incidence(
                rows.assign(months_to_funding_end=held.reindex(rows.worker_id).to_numpy()), weeks)

    assert len(members) > 0 and not np.isnan(published).any()
    again = until_end(forecaster, snapshot, members[["worker_id", "contract_id"]].assign(
        weeks_to_end=members.window_weeks))
    assert members.p_until_end.to_numpy() == pytest.approx(again.p_until_end.to_numpy())
    assert members.p_until_end_far.to_numpy() == pytest.approx(again.p_until_end_far.to_numpy())
    stopped = until_end(ClockStopped(), snapshot, members[["worker_id", "contract_id"]].assign(
        weeks_to_end=members.window_weeks))
    assert stopped.p_until_end.to_numpy() == pytest.approx(published, abs=1e-9)
