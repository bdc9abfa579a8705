"""Aggregate forecasts: the Poisson-binomial interval, the cell figures, and suppression that survives differencing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from continuity.forecasts.aggregates import (GROUPINGS, INFLOW_MEASURES, aggregate_forecast, aggregate_response,
                                             cells_within_regions, inflow_cells)
from continuity.forecasts.intervals import poisson_binomial_interval, poisson_binomial_pmf
from differencing import (assert_inflow_keeps_the_aggregates_suppression, assert_no_cell_minus_an_insiders_view_is_small,
                          assert_no_combination_isolates_a_few)


@pytest.mark.parametrize("n, p", [(1, 0.3), (9, 0.17), (60, 0.05), (400, 0.5)])
def test_equal_probabilities_give_the_binomial(n, p):
    assert poisson_binomial_pmf(np.full(n, p)) == pytest.approx(binom.pmf(np.arange(n + 1), n, p), abs=1e-12)
    assert poisson_binomial_interval(np.full(n, p)) == tuple(int(q) for q in binom.ppf([0.05, 0.95], n, p))


def test_the_interval_matches_simulation():
    rng = np.random.default_rng(11)
    p = rng.beta(1.2, 6.0, size=300)
    leavers = (rng.random((20_000, p.size)) < p).sum(axis=1)
    low, high = poisson_binomial_interval(p)
    assert (np.mean(leavers < low), np.mean(leavers <= high)) == pytest.approx((0.05, 0.95), abs=0.02)
    assert np.quantile(leavers, [0.05, 0.95]) == pytest.approx([low, high], abs=1)
    assert poisson_binomial_interval(p, level=0.5)[1] - poisson_binomial_interval(p, level=0.5)[0] < high - low
    with pytest.raises(ValueError):
        poisson_binomial_interval(p, level=1.0)


def sector(rows: list[tuple[str, str, int]], seed: int = 0, domain="wmo", occupation="casemanager") -> pd.DataFrame:
    """Workers from (region, organisation, count) blocks in teams of 12, with random probabilities and exposure."""
    keys = [(region, org, f"{org}{region}-{i // 12}") for region, org, n in rows for i in range(n)]
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"worker_id": [f"w{i}" for i in range(len(keys))],
                         "region": [k[0] for k in keys], "organisation_id": [k[1] for k in keys],
                         "team_id": [k[2] for k in keys],
                         "domain": domain, "occupation": occupation,
                         "p_13w": rng.uniform(0.0, 0.2, len(keys)), "p_26w": rng.uniform(0.2, 0.4, len(keys)),
                         "weighted_clients": rng.uniform(0.0, 8.0, len(keys))})


NESTED = [("R1", "A", 25), ("R1", "B", 4), ("R2", "C", 15), ("R2", "D", 12), ("R3", "E", 30)]


def test_published_cells_carry_the_sums_of_their_workers():
    workers = sector(NESTED, seed=1)
    leavers = workers[["region", "organisation_id", "team_id", "domain", "occupation"]]  # the year before, all left
    cells = {c.key: c for c in aggregate_forecast(workers, "region", 26, leavers=leavers)}
    r3 = workers[workers.region == "R3"]
    assert list(cells) == ["R1", "R2", "R3"]
    assert cells["R3"].workers == 30 and not cells["R3"].suppressed
    assert cells["R3"].expected_leavers == pytest.approx(r3.p_26w.sum())
    assert cells["R3"].expected_clients_affected == pytest.approx((r3.p_26w * r3.weighted_clients).sum())
    assert cells["R3"].interval == poisson_binomial_interval(r3.p_26w.to_numpy())
    assert cells["R3"].observed_leavers_last_year == int((leavers.region == "R3").sum())

    year = {c.key: c for c in aggregate_forecast(workers, "region", 52)}
    assert year["R3"].expected_leavers == pytest.approx((1 - (1 - r3.p_26w) ** 2).sum())
    assert year["R3"].observed_leavers_last_year is None
    body = aggregate_response(workers, "region", 52)
    assert "constant weekly hazard" in body["assumption"]
    assert set(body["cells"][0]) == {"key", "workers", "expected_leavers", "interval",
                                     "expected_clients_affected", "observed_leavers_last_year", "suppressed"}
    with pytest.raises(ValueError):
        aggregate_forecast(workers, "team", 26)


def test_a_small_cell_is_hidden_with_a_partner_and_every_figure_is_null():
    workers = sector([("R1", "A", 25), ("R1", "B", 4), ("R2", "C", 15), ("R3", "D", 12)], seed=2)
    organisations = {c.key: c for c in aggregate_forecast(workers, "organisation", 13)}
    assert organisations["B"].suppressed and organisations["B"].as_dict() == {
        "key": "B", "workers": None, "expected_leavers": None, "interval": None,
        "expected_clients_affected": None, "observed_leavers_last_year": None, "suppressed": True}
    hidden = [key for key, c in organisations.items() if c.suppressed]
    assert len(hidden) >= 2 and sum((workers.organisation_id == k).sum() for k in hidden) >= 10
    # the pattern depends on counts only: the same for every horizon
    for horizon in (26, 52):
        assert [c.suppressed for c in aggregate_forecast(workers, "organisation", horizon)] == \
               [c.suppressed for c in organisations.values()]


def test_a_sector_smaller_than_a_cell_publishes_nothing():
    assert all(c.suppressed for c in aggregate_forecast(sector([("R1", "A", 6), ("R2", "B", 3)]), "region", 13))


def test_two_queries_cannot_be_differenced_to_reveal_a_small_cell():
    workers = sector(NESTED, seed=3)
    region_r1, org_a, org_b = (workers.region == "R1"), (workers.organisation_id == "A"), (workers.organisation_id == "B")
    assert ((region_r1 & ~org_a) == org_b).all()  # the leak a per-query suppression leaves: R1 - A = B
    organisations = {c.key: c.suppressed for c in aggregate_forecast(workers, "organisation", 13)}
    regions = {c.key: c.suppressed for c in aggregate_forecast(workers, "region", 13)}
    assert organisations["A"] or regions["R1"]
    assert_no_combination_isolates_a_few(workers, workers.iloc[:0], ("region", "organisation"))


def test_an_insider_cannot_subtract_their_own_workers_from_a_cell():
    """The issue's case: the participatie cell is 197 workers of one organisation and one of another."""
    workers = sector([("R1", "A", 40), ("R2", "B", 30), ("R3", "C", 25)], seed=6)
    workers.loc[workers.index[:15], "domain"] = "participatie"  # all of A
    workers.loc[workers.organisation_id.eq("B").idxmax(), "domain"] = "participatie"  # and one worker of B
    domains = {c.key: c for c in aggregate_forecast(workers, "domain", 26)}
    assert domains["participatie"].suppressed, "A's hr would subtract its 15 and read B's worker's p_26w"
    for horizon in (13, 26, 52):
        assert_no_cell_minus_an_insiders_view_is_small(workers, workers.iloc[:0], horizon)


def test_small_leaver_counts_are_withheld_and_an_insider_cannot_isolate_one():
    """A region of 12 workers with 1 leaver, 0 leavers in a region, and a cell whose leavers are nearly all one organisation's."""
    workers = sector([("R1", "A", 60), ("R1", "B", 24), ("R2", "C", 40), ("R3", "D", 12)], seed=7)
    leavers = pd.concat([workers[workers.organisation_id.eq("A")].iloc[:30], workers[workers.organisation_id.eq("B")].iloc[:2],
                         workers[workers.region.eq("R3")].iloc[:1]])
    regions = {c.key: c for c in aggregate_forecast(workers, "region", 26, leavers=leavers)}
    assert not regions["R3"].suppressed and regions["R3"].observed_leavers_last_year is None  # 1 leaver
    assert not regions["R2"].suppressed and regions["R2"].observed_leavers_last_year is None  # 0 leavers
    assert regions["R1"].observed_leavers_last_year is None  # A's hr would find B's 2 leavers
    assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, 26)


@pytest.mark.parametrize("seed", [4, 5, 8])
def test_random_overlapping_groupings_reveal_no_small_group_to_any_reader(seed):
    """Every pair of queries, brute-forced, for the public, every organisation's hr and every team's manager."""
    rng = np.random.default_rng(seed)
    rows = [(f"R{rng.integers(4)}", f"O{k % 4}", int(rng.integers(2, 30))) for k in range(7)]
    workers = sector(rows, seed=seed)
    workers["domain"] = rng.choice(["wmo", "jeugd", "participatie"], len(workers), p=[0.6, 0.35, 0.05])
    workers["occupation"] = rng.choice(["casemanager", "klantmanager", "opbouwwerker"], len(workers), p=[.5, .45, .05])
    leavers = workers.sample(frac=0.4, random_state=seed)
    for queries in (("region", "organisation"), ("domain", "occupation"), ("organisation", "domain"),
                    ("region", "occupation")):
        assert_no_combination_isolates_a_few(workers, leavers, queries)
    for horizon in (13, 26, 52):
        assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, horizon)
    # A sector token limited to one or two regions, with what every other reader knows.
    for regions in ({"R0"}, {"R1", "R2"}):
        scope = frozenset(regions)
        for queries in (("region", "organisation"), ("domain", "occupation"), ("organisation", "domain")):
            assert_no_combination_isolates_a_few(workers, leavers, queries, regions=scope)
        assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, 26, regions=scope)


def test_a_region_scope_is_shown_the_cells_wholly_within_it():
    workers = sector(NESTED, seed=9)
    workers.loc[workers.organisation_id.eq("C"), "occupation"] = "klantmanager"  # C: all of its 15 in R2
    leavers = pd.concat([workers[workers.organisation_id.eq(o)].head(2) for o in ("A", "D")])
    scope = frozenset({"R2"})
    assert cells_within_regions(workers, leavers, "region", scope) == {"R2"}
    assert cells_within_regions(workers, leavers, "organisation", scope) == {"C", "D"}
    assert cells_within_regions(workers, leavers, "occupation", scope) == {"klantmanager"}
    assert cells_within_regions(workers, leavers, "domain", scope) == set()  # wmo reaches into R1 and R3
    # A leaver outside the scope keeps their cell out of it too.
    moved = leavers.assign(region=np.where(leavers.organisation_id.eq("D"), "R3", leavers.region))
    assert cells_within_regions(workers, moved, "organisation", scope) == {"C"}


def inflow_table(workers: pd.DataFrame, extra: dict[str, str] | None = None) -> pd.DataFrame:
    """A week's sector_inflow with a figure for every cell of every grouping (and ``extra`` cells: grouping -> key
    without a scored worker) and the sector, at one to three years."""
    keys = {by: sorted(workers[column].astype(str).unique()) for by, column in GROUPINGS.items()}
    for by, key in (extra or {}).items():
        keys[by].append(key)
    keys["sector"] = ["sector"]
    return pd.DataFrame([{"grouping": by, "key": key, "measure": measure, "horizon_weeks": h, "expected": 5.0 + i,
                          "low": 1 + i, "high": 9 + i, "past": 10.0 + i, "window_weeks": 104.0, "reason": None}
                         for by, values in keys.items() for i, key in enumerate(values)
                         for measure in INFLOW_MEASURES for h in (52, 104, 156)])


@pytest.mark.parametrize("seed", [4, 8])
def test_the_inflow_publishes_only_the_aggregates_published_cells_to_every_reader(seed):
    """The sector inflow's cells are the aggregates' cells: a hidden cell (or one without a scored worker) shows no
    figure, an hr token only its own organisation's, and with them no combination isolates a few workers."""
    rng = np.random.default_rng(seed)
    rows = [(f"R{rng.integers(4)}", f"O{k % 4}", int(rng.integers(2, 30))) for k in range(7)]
    workers = sector(rows, seed=seed)
    workers["domain"] = rng.choice(["wmo", "jeugd", "participatie"], len(workers), p=[0.6, 0.35, 0.05])
    leavers = workers.sample(frac=0.4, random_state=seed)
    inflow = inflow_table(workers, extra={"organisation": "O-gone"})
    hidden = [(by, c.key) for by in GROUPINGS for c in aggregate_forecast(workers, by, 13, leavers=leavers)
              if c.suppressed]
    assert hidden  # the check below has a suppressed cell to keep hidden
    for by, key in hidden:
        cell = next(c for c in inflow_cells(inflow, workers, by, 52, leavers=leavers)["cells"] if c["key"] == key)
        assert cell["suppressed"] and cell["hires"] is None and cell["without_steady_worker"] is None
    gone = {c["key"]: c for c in inflow_cells(inflow, workers, "organisation", 104, leavers=leavers)["cells"]}
    assert gone["O-gone"]["suppressed"] and gone["O-gone"]["exits"] is None
    assert_inflow_keeps_the_aggregates_suppression(workers, leavers, inflow)
    assert_inflow_keeps_the_aggregates_suppression(workers, leavers, inflow, regions=frozenset({"R1", "R2"}))
    for queries in (("region", "organisation"), ("organisation", "domain")):
        assert_no_combination_isolates_a_few(workers, leavers, queries, inflow=inflow)


def test_an_inflow_measure_the_export_cannot_forecast_says_why():
    workers = sector(NESTED, seed=2)
    inflow = inflow_table(workers)
    inflow = inflow[inflow.measure != "without_steady_worker"]
    why = pd.DataFrame([{"grouping": "sector", "key": "sector", "measure": "without_steady_worker", "horizon_weeks": 52,
                         "expected": None, "low": None, "high": None, "past": None, "window_weeks": None,
                         "reason": "the export has no contacts"}])
    body = inflow_cells(pd.concat([inflow.astype(object), why.astype(object)], ignore_index=True), workers, "region", 52)
    assert body["unavailable"] == {"without_steady_worker": "the export has no contacts"}
    assert all(c["without_steady_worker"] is None and c["hires"] is not None for c in body["cells"] if not c["suppressed"])
