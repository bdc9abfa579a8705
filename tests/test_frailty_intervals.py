"""Intervals that hold when colleagues leave together: the shared team, organisation and sector frailty."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from continuity.forecasts.aggregates import aggregate_forecast
from continuity.forecasts.dispersion import COHORT_SPACING_WEEKS, frailty_table, past_cohorts, published_frailty
from continuity.forecasts.intervals import (MIN_SECTOR_COHORTS, Frailty, estimate_frailty, frailty_intervals,
                                           frailty_intervals_with_content, poisson_binomial_interval,
                                           poisson_binomial_pmf)

TEAM_SIZE, TEAMS_PER_ORGANISATION, WORKERS = 10, 10, 2000


def cohort(seed: int, frailty: Frailty) -> pd.DataFrame:
    """One week's workers in teams of 10 and organisations of 10 teams, and who left, drawn under ``frailty``."""
    rng = np.random.default_rng(seed)
    team = np.arange(WORKERS) // TEAM_SIZE
    organisation = team // TEAMS_PER_ORGANISATION
    p = rng.beta(2, 12, WORKERS)

    def shared(variance: float, groups: int) -> np.ndarray:
        return rng.gamma(1 / variance, variance, groups) if variance else np.ones(groups)

    u = (shared(frailty.team, team.max() + 1)[team] * shared(frailty.organisation, organisation.max() + 1)[organisation]
         * shared(frailty.sector, 1))
    return pd.DataFrame({"cohort": seed, "team_id": [f"{seed}-t{t}" for t in team],
                         "organisation_id": [f"{seed}-o{o}" for o in organisation], "p": p,
                         "left": rng.random(WORKERS) < np.minimum(p * u, 1.0)})


def coverage(truth: Frailty, used: Frailty) -> tuple[float, float, pd.DataFrame]:
    """Share of organisations (20 per cohort, 10 later cohorts) whose leavers lie in the Poisson-binomial and in
    the ``used`` frailty's 90% interval; and the intervals."""
    later = pd.concat([cohort(100 + k, truth) for k in range(10)], ignore_index=True)
    intervals = frailty_intervals(later.p.to_numpy(), {"organisation_id": later.organisation_id.to_numpy()},
                                  later.team_id.to_numpy(), later.organisation_id.to_numpy(), used)
    rows = []
    for key, group in later.groupby("organisation_id"):
        low, high = intervals[("organisation_id", key)]
        pb_low, pb_high = poisson_binomial_interval(group.p.to_numpy())
        rows.append({"left": group.left.sum(), "low": low, "high": high, "pb_low": pb_low, "pb_high": pb_high})
    cells = pd.DataFrame(rows)
    return (float(cells.left.between(cells.pb_low, cells.pb_high).mean()),
            float(cells.left.between(cells.low, cells.high).mean()), cells)


def test_with_correlated_leaving_the_frailty_interval_covers_where_the_poisson_binomial_does_not():
    truth = Frailty(team=0.3, organisation=0.1)
    estimated = estimate_frailty(pd.concat([cohort(k, truth) for k in range(8)], ignore_index=True))
    # Eight cohorts of 200 teams and 20 organisations: the moments find the variances to within their noise.
    assert estimated.team == pytest.approx(truth.team, abs=0.15)
    assert estimated.organisation == pytest.approx(truth.organisation, abs=0.08)
    independent, correlated, _ = coverage(truth, estimated)
    assert independent < 0.80  # leavers come in clumps: the independent interval is too narrow
    assert 0.85 <= correlated <= 0.95  # the target band for 90% intervals, over 200 organisations


def test_a_quarter_the_whole_sector_leaves_more_is_the_sector_frailty_not_the_organisations():
    truth = Frailty(sector=0.04)  # the sector's leaving 20% above or below forecast in a typical quarter
    estimated = estimate_frailty(pd.concat([cohort(k, truth) for k in range(40)], ignore_index=True))
    # 40 cohorts: one squared residual each, so the sector's variance is known to about +-0.02.
    assert estimated.sector == pytest.approx(truth.sector, abs=0.025)
    assert estimated.organisation < 0.02 and estimated.team < 0.05
    few = estimate_frailty(pd.concat([cohort(k, truth) for k in range(MIN_SECTOR_COHORTS - 1)], ignore_index=True))
    assert few.sector == 0.0
    # the sector total of each later week: the sector's frailty widens its interval to hold it
    later = [cohort(200 + k, truth) for k in range(40)]
    held = {"independent": [], "sector": []}
    for week in later:
        args = (week.p.to_numpy(), {"sector": np.full(len(week), "all")}, week.team_id.to_numpy(),
                week.organisation_id.to_numpy())
        for name, used in (("independent", Frailty()), ("sector", estimated)):
            low, high = frailty_intervals(*args, used)[("sector", "all")]
            held[name].append(low <= week.left.sum() <= high)
    assert np.mean(held["independent"]) < 0.75 and np.mean(held["sector"]) >= 0.8


def test_without_correlation_the_interval_is_the_poisson_binomial_within_one_leaver():
    estimated = estimate_frailty(pd.concat([cohort(k, Frailty()) for k in range(8)], ignore_index=True))
    assert estimated.team < 0.05 and estimated.organisation < 0.02 and estimated.sector < 0.01
    independent, simulated, cells = coverage(Frailty(), estimated)
    # Tolerance: one leaver at either end, the Monte Carlo error of a 5% quantile of 2,000 draws plus
    # what a near-zero estimated variance adds.
    assert (cells.low - cells.pb_low).abs().max() <= 1 and (cells.high - cells.pb_high).abs().max() <= 1
    assert simulated == pytest.approx(independent, abs=0.03)


def test_no_frailty_gives_the_poisson_binomial_exactly_and_the_same_week_the_same_intervals():
    later = cohort(7, Frailty())
    cells = {"organisation_id": later.organisation_id.to_numpy()}
    exact = frailty_intervals(later.p.to_numpy(), cells, later.team_id.to_numpy(), later.organisation_id.to_numpy(),
                              Frailty())
    for key, group in later.groupby("organisation_id"):
        assert exact[("organisation_id", key)] == poisson_binomial_interval(group.p.to_numpy())
    frailty = Frailty(team=0.2, organisation=0.05)
    args = (later.p.to_numpy(), cells, later.team_id.to_numpy(), later.organisation_id.to_numpy(), frailty)
    assert frailty_intervals(*args) == frailty_intervals(*args)
    with pytest.raises(ValueError, match="0 or more"):
        Frailty(team=-0.1)


def test_the_aggregates_publish_the_frailty_interval_with_the_same_figures():
    later = cohort(3, Frailty())
    workers = later.assign(region=later.organisation_id, domain="wmo", occupation="casemanager",
                           p_26w=later.p, weighted_clients=1.0)
    plain = {c.key: c for c in aggregate_forecast(workers, "organisation", 26)}
    shared = {c.key: c for c in aggregate_forecast(workers, "organisation", 26, frailty=Frailty(0.3, 0.1))}
    assert plain.keys() == shared.keys()
    for key, cell in shared.items():
        assert cell.expected_leavers == plain[key].expected_leavers
        low, high = cell.interval
        assert low <= plain[key].interval[0] and high >= plain[key].interval[1]
    assert np.mean([c.interval[1] - c.interval[0] > plain[c.key].interval[1] - plain[c.key].interval[0]
                    for c in shared.values()]) > 0.9


def test_past_cohorts_are_published_weeks_the_horizon_has_passed_a_quarter_apart_with_who_left_voluntarily():
    con = duckdb.connect()
    first = date(2024, 1, 1)
    weeks = [first + timedelta(weeks=k) for k in range(40)]
    con.execute("create table risk_scores (score_date date, worker_id varchar, organisation_id varchar, "
                "team_id varchar, p_13w double, p_26w double, p_52w double)")
    for t in weeks:
        con.executemany("insert into risk_scores values (?, ?, 'A', 'A1', 0.1, 0.2, 0.3)",
                        [(t, w) for w in ("w1", "w2", "w3")])
    con.execute("create table workers (worker_id varchar, termination_date date, termination_reason varchar)")
    con.executemany("insert into workers values (?, ?, ?)",
                    [("w1", first + timedelta(weeks=5), "voluntary"), ("w2", first + timedelta(weeks=5), "dismissal"),
                     ("w3", None, None)])
    data_end = weeks[-1]
    past = past_cohorts(con, data_end, 13)
    cohorts = sorted(pd.to_datetime(past.cohort.unique()).date, reverse=True)
    assert cohorts[0] == data_end - timedelta(weeks=13)
    assert all(a - b == timedelta(weeks=COHORT_SPACING_WEEKS) for a, b in zip(cohorts, cohorts[1:]))
    assert cohorts[-1] >= first
    # Only w1 left voluntarily (w2 was dismissed), 5 weeks after the first week: one leaver in the cohorts
    # whose 13 weeks hold that day, none in the others.
    exit_day = first + timedelta(weeks=5)
    leavers = past[past["left"]].groupby(pd.to_datetime(past["cohort"]).dt.date).size()
    assert leavers.to_dict() == {c: 1 for c in cohorts if c <= exit_day < c + timedelta(weeks=13)}
    table = frailty_table(con, data_end)
    assert table.horizon.tolist() == [13, 26]  # 40 weeks of data: no 52-week cohort has passed
    assert published_frailty(table, 52) == Frailty()
    assert published_frailty(table, 13) == Frailty(float(table.team.iloc[0]), float(table.organisation.iloc[0]))


def weekly_sector(seed: int, weeks: int, team_variance: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Snapshots and labels of 600 positions (teams of 10, organisations of 10 teams) over ``weeks`` weeks:
    each worker leaves voluntarily with their own constant weekly hazard ``v``, times their team's gamma
    frailty of the quarter (``team_variance``, 0: independent), and is replaced the week after."""
    rng = np.random.default_rng(seed)
    positions = 600
    start = pd.Timestamp("2020-01-06")
    quarters = weeks // 13 + 1
    shock = (rng.gamma(1 / team_variance, team_variance, (quarters, positions // TEAM_SIZE)) if team_variance
             else np.ones((quarters, positions // TEAM_SIZE)))
    rows, labels = [], []
    for position in range(positions):
        team = position // TEAM_SIZE
        week, serial = 0, 0
        while week < weeks:
            v = rng.uniform(0.01, 0.03)
            stay = week
            while stay < weeks and rng.random() >= min(1.0, v * shock[stay // 13, team]):
                stay += 1
            worker = f"p{position}-{serial}"
            for w in range(week, min(stay, weeks - 1) + 1):
                rows.append((worker, start + pd.Timedelta(weeks=w), f"O{team // TEAMS_PER_ORGANISATION}",
                             f"T{team}", v))
                left = stay < weeks
                labels.append((worker, start + pd.Timedelta(weeks=w),
                               float(stay - w) + 0.5 if left else float(weeks - w), "voluntary" if left else "censored"))
            week, serial = stay + 1, serial + 1
    snapshots = pd.DataFrame(rows, columns=["worker_id", "snapshot_date", "organisation_id", "team_id", "v"])
    return snapshots, pd.DataFrame(labels, columns=["worker_id", "snapshot_date", "duration_weeks", "exit_reason"])


def true_risk(t: pd.Timestamp, rows: pd.DataFrame, horizon: int) -> pd.Series:
    return 1.0 - (1.0 - rows["v"]) ** horizon


def test_the_bench_estimates_no_frailty_where_workers_leave_independently():
    from continuity.benchmarks.sector import origin_frailty

    snapshots, labels = weekly_sector(seed=1, weeks=170)
    origin = pd.Timestamp("2020-01-06") + pd.Timedelta(weeks=160)
    for horizon in (13, 26):
        # A cohort exactly the horizon before the origin keeps its leavers and loses its stayers (censored at
        # the horizon itself): with it, these independent leavers showed a team frailty of several tenths.
        frailty = origin_frailty(origin, snapshots, labels, horizon, true_risk)
        assert frailty.team < 0.05 and frailty.organisation < 0.02, (horizon, frailty)


def test_the_bench_finds_the_team_frailty_of_a_sector_where_teams_leave_together():
    from continuity.benchmarks.sector import origin_frailty

    snapshots, labels = weekly_sector(seed=2, weeks=170, team_variance=0.5)
    # Origin in week 157: the past cohorts (weeks 143, 130, ...) are the quarters the team frailty is drawn for.
    origin = pd.Timestamp("2020-01-06") + pd.Timedelta(weeks=157)
    frailty = origin_frailty(origin, snapshots, labels, 13, true_risk)
    # Variance 0.5 on the weekly hazard is 0.27-0.40 on the quarter's probability (which grows less than in
    # proportion to the hazard; 0.33 over these hazards); 60 teams x 8 cohorts find it to within their noise
    # (0.23-0.33 over seeds 2-5), far from the 0 of independent leaving.
    assert frailty.team == pytest.approx(0.33, abs=0.15) and frailty.organisation < 0.05, frailty


def test_the_content_an_interval_promises_is_at_least_the_level_and_most_for_small_cells():
    week = cohort(5, Frailty())
    args = (week.p.to_numpy(), {"team_id": week.team_id.to_numpy(), "organisation_id": week.organisation_id.to_numpy()},
            week.team_id.to_numpy(), week.organisation_id.to_numpy())
    for frailty in (Frailty(), Frailty(team=0.2, organisation=0.05)):
        cells = frailty_intervals_with_content(*args, frailty)
        assert {cell: (low, high) for cell, (low, high, _) in cells.items()} == frailty_intervals(*args, frailty)
        teams = [content for (by, _), (_, _, content) in cells.items() if by == "team_id"]
        organisations = [content for (by, _), (_, _, content) in cells.items() if by == "organisation_id"]
        # Whole counts: a team of 10 expecting 1.4 leavers gets an interval holding well over 90%; an
        # organisation of 100 comes close to 90%, never under (Monte Carlo: a draw's share, 1/2000 apart).
        assert min(teams + organisations) >= 0.9 - 1e-9
        assert np.mean(teams) > np.mean(organisations) + 0.02
        assert np.mean(organisations) < 0.95
    low, high, content = frailty_intervals_with_content(*args, Frailty())[("team_id", week.team_id.iloc[0])]
    members = week[week.team_id == week.team_id.iloc[0]].p.to_numpy()
    assert (low, high) == poisson_binomial_interval(members)
    assert content == pytest.approx(poisson_binomial_pmf(members)[low:high + 1].sum())
