"""The sector section of the quality benchmark: do the aggregates' 90% intervals hold?

At every origin of the quality backtest, the chosen model's probabilities of the workers
active then are summed per cell of each grouping (region, organisation, main domain,
occupation, and team, the unit whose shared fate the frailty models), and the realised
voluntary leavers within each horizon are counted from the labels. A cell is covered when
its realised count lies inside its 90% interval; coverage is the share of cells covered,
pooled over origins, once for the independent Poisson-binomial ("before") and once for the
shared-frailty interval the aggregates publish ("after", ``continuity.forecasts.intervals``).

The frailty of an origin is estimated as the weekly run estimates it (``forecasts.dispersion``):
from past cohorts, a quarter apart, whose horizon had passed by the origin, scored by the
model the origin fitted. Those weeks lie in its training period, where a model fits a little
better than on new weeks, so the estimate leans low, not high: the "after" coverage is not
flattered by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd

from continuity.forecasts.dispersion import COHORT_SPACING_WEEKS, PAST_COHORTS
from continuity.forecasts.intervals import Frailty, estimate_frailty, frailty_intervals
from continuity.horizons import risk_column
from continuity.models.backtest import Backtest, origin_dates
from continuity.models.metrics import Oracle, horizon_status, observed_outcomes
from continuity.models.targets import snapshot_key

LEVEL = 0.90
COVERAGE_TARGET = (0.85, 0.95)
"""The issue's band for 90% intervals."""
MIN_CELLS = 20
"""The target holds for groupings with at least this many cells (over every origin): with fewer, one
cell moves the coverage by more than the band is wide."""
ORACLE_ORIGINS = 12
"""Quarterly origins for the oracle's coverage: three years of the bench sector's five, each with past
cohorts before it."""
GROUPINGS = {"region": "region", "organisation": "organisation_id", "domain": "domain",
             "occupation": "occupation", "team": "team_id"}
"""The aggregates' groupings and the team, each with its snapshot column."""


Predict = Callable[[pd.Timestamp, pd.DataFrame, int], pd.Series]
"""(origin, snapshot rows, horizon) -> each row's probability of leaving within the horizon, as forecast at the origin."""
Domains = Callable[[pd.Timestamp, pd.DataFrame], pd.Series]
"""(origin, snapshot rows) -> each row's main domain at the origin."""


def sector_coverage(backtest: Backtest, snapshots: pd.DataFrame, labels: pd.DataFrame,
                    warehouse: duckdb.DuckDBPyConnection, oracle: pd.DataFrame | None = None) -> dict:
    """``sector.coverage`` of the quality JSON: per grouping and horizon, the cells and the coverage before
    (Poisson-binomial) and after (shared frailty) of the chosen model at the backtest's origins, with each
    origin's estimated frailty. With the oracle's hazards, the same for the true probabilities at
    ``ORACLE_ORIGINS`` origins: whether the intervals hold when the probabilities are right, over more cells
    than the backtest's few origins give."""
    from continuity.features.situation import NO_CASELOAD, main_domains

    def domains(t: pd.Timestamp, rows: pd.DataFrame) -> pd.Series:
        main = main_domains(warehouse, pd.DataFrame({"worker_id": rows.worker_id, "at": t.date()}))
        return rows.worker_id.map(main).fillna(NO_CASELOAD)

    fitted = {o.date: o.forecasters[backtest.chosen] for o in backtest.origins}
    result = {"model": backtest.chosen, **coverage(
        snapshots, labels, list(fitted), backtest.horizons,
        lambda t, rows, h: fitted[t].predict_risk(rows, (h,))[risk_column(h)], domains)}
    if oracle is not None:
        truth = Oracle(oracle)
        origins = origin_dates(snapshots, labels, ORACLE_ORIGINS, COHORT_SPACING_WEEKS, max(backtest.horizons))
        result["oracle"] = coverage(snapshots, labels, origins, backtest.horizons,
                                    lambda t, rows, h: truth.predict_risk(rows, (h,))[risk_column(h)], domains)
    return result


def coverage(snapshots: pd.DataFrame, labels: pd.DataFrame, origins: Sequence[pd.Timestamp],
             horizons: Sequence[int], predict: Predict, domains: Domains) -> dict:
    """Coverage per grouping and horizon over ``origins``, each origin's frailty estimated from its past cohorts."""
    dates = snapshot_key(snapshots)["snapshot_date"]
    cells, frailties = [], {}
    for t in origins:
        at_origin = snapshots[dates == t]
        at_origin = at_origin.assign(domain=domains(t, at_origin))
        outcomes = observed_outcomes(at_origin, labels, t + pd.Timedelta(weeks=max(horizons) + 1))
        for h in horizons:
            frailty = origin_frailty(t, snapshots, labels, h, predict)
            frailties.setdefault(str(h), []).append({"origin": f"{t:%Y-%m-%d}", "team": frailty.team,
                                                     "organisation": frailty.organisation})
            known, left = horizon_status(outcomes, h)
            cells.append(_cells(at_origin[known.to_numpy()], predict(t, at_origin, h)[known].to_numpy(),
                                left[known].to_numpy(), h, frailty))
    cells = pd.concat(cells, ignore_index=True)
    groupings = {}
    for (grouping, h), group in cells.groupby(["grouping", "horizon"], sort=False):
        before, after = float(group.before.mean()), float(group.after.mean())
        groupings.setdefault(grouping, {})[str(h)] = {
            "cells": len(group), "before": before, "after": after,
            "meets_target": (COVERAGE_TARGET[0] <= after <= COVERAGE_TARGET[1]) if len(group) >= MIN_CELLS else None}
    return {"level": LEVEL, "target": list(COVERAGE_TARGET), "min_cells": MIN_CELLS,
            "origins": [f"{t:%Y-%m-%d}" for t in origins],
            "method": "shared gamma frailty of team and organisation, variances by the method of moments on past cohorts",
            "frailty": frailties, "groupings": groupings}


def origin_frailty(t: pd.Timestamp, snapshots: pd.DataFrame, labels: pd.DataFrame, horizon: int,
                   predict: Predict) -> Frailty:
    """The frailty the weekly run would have estimated at origin ``t``: past cohorts whose horizon had passed,
    scored as at ``t``, their outcomes as the data stood at ``t``."""
    dates = snapshot_key(snapshots)["snapshot_date"]
    newest = t - pd.Timedelta(weeks=horizon)
    cohorts = [newest - pd.Timedelta(weeks=COHORT_SPACING_WEEKS * k) for k in range(PAST_COHORTS)]
    rows = snapshots[dates.isin(cohorts)]
    if rows.empty:
        return Frailty()
    known, left = horizon_status(observed_outcomes(rows, labels, t), horizon)
    past = pd.DataFrame({"cohort": dates[rows.index], "organisation_id": rows.organisation_id,
                         "team_id": rows.team_id, "p": predict(t, rows, horizon), "left": left.astype(bool)})
    return estimate_frailty(past[known.to_numpy()])


def _cells(rows: pd.DataFrame, p: np.ndarray, left: np.ndarray, horizon: int, frailty: Frailty) -> pd.DataFrame:
    """One row per cell of every grouping: realised leavers and whether each interval holds them."""
    keys = {grouping: rows[column].astype(str).to_numpy() for grouping, column in GROUPINGS.items()}
    team, organisation = rows.team_id.to_numpy(), rows.organisation_id.to_numpy()
    after = frailty_intervals(p, keys, team, organisation, frailty, LEVEL)
    before = frailty_intervals(p, keys, team, organisation, Frailty(), LEVEL)
    out = []
    for grouping, key in keys.items():
        for cell, count in pd.Series(left).groupby(key).sum().items():
            out.append({"grouping": grouping, "horizon": horizon, "realised": int(count),
                        "before": _holds(before[(grouping, cell)], count), "after": _holds(after[(grouping, cell)], count)})
    return pd.DataFrame(out)


def _holds(interval: tuple[int, int], count: int) -> bool:
    return interval[0] <= count <= interval[1]
