"""Expected handovers against realised ones (continuity.benchmarks.handovers), on frames small enough to check by hand.

The realised count must be the handovers the probability forecasts (a worker leaving
voluntarily ends the client's assignment), never an involuntary exit, a closed case or a
handover for another reason; the decile table's sums, O/E and exact Poisson interval must add up.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson

from continuity.benchmarks.handovers import (
    MIN_REALISED,
    client_handovers,
    decile_table,
    handover_pairs,
    summary,
)
from continuity.features.case_survival import CaseSurvival
from continuity.models.backtest import Scored

from command_line import home, invoke  # noqa: F401 - home is a fixture

ORIGIN = pd.Timestamp("2024-01-01")


def week(n: float) -> pd.Timestamp:
    return ORIGIN + pd.Timedelta(weeks=n)


def scored(workers: pd.DataFrame, incidence: np.ndarray | None = None) -> Scored:
    """What the backtest keeps for one origin's workers; outcomes, the 26-week risk and the weekly cumulative
    incidence matter here (flat at zero unless given: leaving then spreads evenly over the weeks)."""
    outcomes = pd.DataFrame({"duration": workers["duration"], "event": workers["exit_reason"].eq("voluntary"),
                             "exit_reason": workers["exit_reason"], "snapshot_date": ORIGIN, "followed_weeks": 60.0},
                            index=workers.index)
    risk = pd.DataFrame({"p_26w": workers["p"]}, index=workers.index)
    empty = np.zeros((len(workers), 26))
    return Scored(outcomes, risk, risk, empty if incidence is None else incidence, empty, pd.Series(dtype=float))


# Index 10.. as snapshot rows are; W5 has an open assignment but no forecast at the origin.
WORKERS = pd.DataFrame({
    "worker_id": ["W1", "W2", "W3", "W4"],
    "p": [0.5, 0.2, 0.1, 0.4],
    "duration": [10.0, 5.0, 59.0, 30.0],
    "exit_reason": ["voluntary", "involuntary", "censored", "voluntary"],
}, index=[10, 11, 12, 13])


def assignment(client, worker, start, end, reason, role="primary", domain="wmo"):
    return {"client_id": client, "worker_id": worker, "role": role, "start_date": start,
            "end_date": end, "end_reason": reason, "domain": domain}


ASSIGNMENTS = pd.DataFrame([
    assignment("C1", "W1", week(-50), week(10), "worker_left"),  # the worker left voluntarily: a handover
    assignment("C1", "W1", week(-20), week(10), "worker_left", role="secondary"),  # the same pair, counted once
    assignment("C1", "W5", week(-5), None, None),  # no forecast for W5: dropped
    assignment("C2", "W1", week(-40), week(4), "closed"),  # case closed before W1 left
    assignment("C2", "W2", week(-30), week(5), "worker_left"),  # W2 was dismissed: not forecast
    assignment("C3", "W3", week(-10), week(8), "handover"),  # handed over for another reason
    assignment("C3", "W1", week(-10), week(3), "handover"),  # moved on before W1 left
    assignment("C4", "W4", week(-60), week(30), "worker_left"),  # voluntary, but after the 26 weeks
    assignment("C5", "W1", week(1), week(10), "worker_left"),  # opened after the origin
    assignment("C6", "W1", week(-30), week(-1), "closed"),  # ended before the origin
])


def pairs() -> pd.DataFrame:
    return handover_pairs(ORIGIN, WORKERS["worker_id"], scored(WORKERS), ASSIGNMENTS)


def test_realised_counts_only_assignments_ended_by_a_voluntary_leaving_within_26_weeks():
    got = pairs().set_index(["client_id", "worker_id"])
    assert sorted(got.index) == [("C1", "W1"), ("C2", "W1"), ("C2", "W2"), ("C3", "W1"), ("C3", "W3"), ("C4", "W4")]
    assert got["realised"].to_dict() == {("C1", "W1"): 1, ("C2", "W1"): 0, ("C2", "W2"): 0,
                                         ("C3", "W1"): 0, ("C3", "W3"): 0, ("C4", "W4"): 0}
    # the forecast event itself, however the case ended
    assert got["workers_left"].to_dict() == {("C1", "W1"): 1, ("C2", "W1"): 1, ("C2", "W2"): 0,
                                             ("C3", "W1"): 1, ("C3", "W3"): 0, ("C4", "W4"): 0}
    assert got.loc[("C2", "W2"), "p_leave"] == 0.2


def test_predicted_weighs_each_week_of_leaving_by_the_chance_the_case_is_still_open():
    # Before the origin, one case closed (C6, after 29 weeks); every other known case was censored. Those at risk at
    # 29 weeks: C6, C2-W2 (30), C2-W1 (40), C1-W1 (50), C4-W4 (60), so S drops to 4/5 there and stays.
    got = pairs().set_index(["client_id", "worker_id"])
    # 10 weeks old at the origin: open for sure through week 19, then 4/5; leaving evenly over the 26 weeks
    assert got.loc[("C3", "W3"), "predicted"] == pytest.approx(0.1 * (19 + 7 * 0.8) / 26)
    for old in (("C1", "W1"), ("C2", "W1"), ("C2", "W2"), ("C4", "W4")):  # past 29 weeks: nothing more closes
        assert got.loc[old, "predicted"] == pytest.approx(got.loc[old, "p_leave"])
    # W3 leaves in week 1 if at all (cumulative incidence at p from week 1 on): the case is surely open then
    incidence = np.tile(WORKERS["p"].to_numpy()[:, None], (1, 26))
    early = handover_pairs(ORIGIN, WORKERS["worker_id"], scored(WORKERS, incidence), ASSIGNMENTS)
    assert early.set_index(["client_id", "worker_id"]).loc[("C3", "W3"), "predicted"] == pytest.approx(0.1)


def test_case_survival_is_kaplan_meier_of_case_durations_before_the_origin_given_the_age():
    history = pd.DataFrame([
        assignment("a", "W1", week(-30), week(-25), "closed"),  # 5 weeks
        assignment("b", "W1", week(-30), week(-22), "worker_left"),  # 8 weeks: censored, the worker left
        assignment("c", "W1", week(-30), week(-20), "handover"),  # 10
        assignment("d", "W1", week(-30), week(-15), "closed"),  # 15
        assignment("e", "W1", week(-30), week(-10), "closed"),  # 20
        assignment("f", "W1", week(-12), None, None),  # open at 12 weeks: censored
        assignment("g", "W1", week(-3), week(2), "closed"),  # ends after the origin: open then, censored at 3
        assignment("h", "W1", week(1), week(2), "closed"),  # after the origin: unknown
        assignment("y", "W1", week(-30), week(-29), "closed", domain="jeugd"),
    ])
    survival = CaseSurvival.before(ORIGIN, history)
    # at risk 7 at 3 (censored), 6 at 5 (event), 4 at 10, 2 at 15, 1 at 20
    assert survival.at("wmo", np.array([4.0, 5.0, 10.0, 15.0, 20.0])) == pytest.approx(
        [1, 5 / 6, 5 / 6 * 3 / 4, 5 / 6 * 3 / 4 / 2, 0])
    later = survival.still_open(pd.Series(["wmo", "wmo"]), np.array([12.0, 0.0]), np.array([2.0, 4.0, 9.0]))
    assert later == pytest.approx(np.array([[1, 0.5, 0], [1, 1, 5 / 6]]))  # S(t + w) / S(t)
    assert survival.at("jeugd", np.array([0.5, 1.0])) == pytest.approx([1, 0])
    # no history in the domain: all domains' curve (y's event at 1 week of 8 at risk, then a's at 5 of 6)
    assert survival.at("participatie", np.array([5.0])) == pytest.approx([7 / 8 * 5 / 6])


def test_case_curves_counted_in_the_warehouse_are_those_of_the_assignments_one_by_one():
    """The weekly run counts durations in SQL (``in_warehouse``) rather than reading every assignment."""
    history = pd.DataFrame([
        assignment("a", "W1", week(-30), week(-25), "closed"),
        assignment("b", "W2", week(-30), week(-25), "closed"),  # a tie: counted twice
        assignment("c", "W1", week(-30), week(-22), "worker_left"),
        assignment("d", "W1", week(-12), None, None),
        assignment("e", "W1", week(-3), week(2), "closed"),
        assignment("f", "W1", week(1), week(2), "closed"),
        assignment("g", "W1", week(-20), week(-19), None, domain="jeugd"),  # an end without a reason: an event
    ]).assign(start_date=lambda f: f.start_date.dt.date, end_date=lambda f: pd.to_datetime(f.end_date).dt.date)
    con = duckdb.connect()
    con.register("assignments", history)

    counted, one_by_one = CaseSurvival.in_warehouse(con, ORIGIN.date()), CaseSurvival.before(ORIGIN, history)
    assert set(counted.curves) == set(one_by_one.curves) == {"", "wmo", "jeugd"}
    for domain, (timeline, survival) in one_by_one.curves.items():
        assert counted.curves[domain][0] == pytest.approx(timeline)
        assert counted.curves[domain][1] == pytest.approx(survival)
    assert counted.at("wmo", np.array([5.0])) == pytest.approx([1 - 2 / 4])  # a and b of a, b, c and d at risk


def test_clients_sum_their_open_workers_probabilities():
    clients = client_handovers(pairs()).set_index("client_id")
    assert clients["p_leave"].to_dict() == pytest.approx({"C1": 0.5, "C2": 0.7, "C3": 0.6, "C4": 0.4})
    assert clients["predicted"].to_dict() == pytest.approx(pairs().groupby("client_id").predicted.sum().to_dict())
    assert clients["realised"].to_dict() == {"C1": 1, "C2": 0, "C3": 0, "C4": 0}
    assert clients["workers"].to_dict() == {"C1": 1, "C2": 2, "C3": 2, "C4": 1}


def test_a_worker_not_followed_for_the_horizon_is_refused():
    short = WORKERS.assign(duration=[10.0, 5.0, 12.0, 30.0])  # W3 censored at week 12 for want of data
    with pytest.raises(ValueError, match="1 workers are not followed 26 weeks"):
        handover_pairs(ORIGIN, short["worker_id"], scored(short), ASSIGNMENTS)


def test_decile_table_sums_oe_and_exact_interval():
    # 200 clients over two origins; predicted 0.01 .. 2.00, realised 1 for every fourth client
    predicted = np.arange(1, 201) / 100
    clients = pd.DataFrame({"origin": [ORIGIN, week(13)] * 100, "client_id": [f"C{i}" for i in range(200)],
                            "p_leave": predicted, "predicted": predicted, "realised": (np.arange(200) % 4 == 0).astype(int),
                            "workers_left": 1})
    clients.loc[180:, "realised"] = 2  # the top decile: 40 realised against 39.1 predicted
    table = decile_table(clients.sample(frac=1, random_state=0)).set_index("decile")

    assert list(table.index) == list(range(1, 11)) and (table["clients"] == 20).all()
    assert table["predicted"].sum() == pytest.approx(predicted.sum())
    assert table.loc[1, "predicted"] == pytest.approx(predicted[:20].sum())
    assert table.loc[10, ["predicted", "realised"]].tolist() == pytest.approx([predicted[180:].sum(), 40])
    assert table.loc[1, "realised"] == 5 and table.loc[1, "oe"] == pytest.approx(5 / predicted[:20].sum())
    # Garwood: at the bounds, seeing at least (at most) the count has probability 5%
    low, high = table.loc[10, ["oe_low", "oe_high"]] * table.loc[10, "predicted"]
    assert poisson.sf(39, low) == pytest.approx(0.05) and poisson.cdf(40, high) == pytest.approx(0.05)
    assert table["reported"].tolist() == [False] * 9 + [True] and MIN_REALISED == 20
    assert table["within_target"].tolist() == [False] * 9 + [True]  # O/E 1.02
    got = summary(table)
    assert (got["clients"], got["realised"], got["deciles_reported"], got["deciles_within_target"]) == (200, 85, 1, 1)
    assert got["oe"] == pytest.approx(85 / predicted.sum())


def test_a_decile_without_handovers_has_an_interval_from_zero():
    clients = pd.DataFrame({"origin": ORIGIN, "client_id": [f"C{i}" for i in range(10)], "p_leave": 0.5,
                            "predicted": 0.5,
                            "realised": [0] + [1] * 9, "workers_left": 1})
    table = decile_table(clients).set_index("decile")
    assert table.loc[1, ["oe", "oe_low"]].tolist() == [0, 0]
    assert table.loc[1, "oe_high"] == pytest.approx(-np.log(0.05) / 0.5)
    assert not table["reported"].any() and not table["within_target"].any()


def test_bench_handovers_writes_under_home_and_prints_each_decile(home, monkeypatch):
    import continuity.benchmarks.handovers

    deciles = [{"decile": d, "clients": 100, "p_leave": 10.0 * d, "predicted": 8.0 * d, "realised": 9 * d,
                "workers_left": 12 * d,
                "oe": 0.9, "oe_low": 0.7, "oe_high": 1.1, "reported": 9 * d >= 20, "within_target": 9 * d >= 20}
               for d in range(1, 11)]
    calls = []
    result = {"horizon_weeks": 26, "origins": {"2023-06-05": "cox"}, "targets": {"observed_expected": [0.8, 1.25]},
              "model": {"deciles": deciles}, "oracle": {"deciles": deciles}}
    monkeypatch.setattr(continuity.benchmarks.handovers, "handovers_benchmark",
                        lambda out, settings: calls.append(out) or result)

    code, output = invoke("bench", "handovers")
    assert code == 0, output
    assert calls == [home.home / "handovers.json"]
    assert "model: expected handovers in 26 weeks" in output and "oracle:" in output
    assert output.count("too few") == 2 * 2 and output.count("yes") == 2 * 8
    assert "72.0" in output and "0.70-1.10" in output and "1.20" in output  # workers left / p_leave
