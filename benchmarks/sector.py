"""The sector section of the quality benchmark: do the aggregates' 90% intervals hold?

At quarterly origins (the quality backtest's and those before them, ``MODEL_ORIGINS``), the chosen
model's probabilities of the workers active then, as a run at the origin published them, are
summed per cell of each grouping (region, organisation, main domain, occupation, and team, the
unit whose shared fate the frailty models), and the realised voluntary leavers within each
horizon are counted from the labels. A cell is covered when
its realised count lies inside its 90% interval; coverage is the share of cells covered,
pooled over origins, once for the independent Poisson-binomial ("before") and once for the
shared-frailty interval the aggregates publish ("after", ``continuity.forecasts.intervals``).

The frailty of an origin is estimated as the weekly run estimates it (``forecasts.dispersion``):
from past cohorts, a quarter apart, whose horizon had passed by the origin, with the
probabilities *published* for them. The weekly run published each of those weeks with the model
it had then, trained and calibrated before that week, so the residuals it learns from are
out-of-sample ones: correlated leaving and the model's own errors on new weeks (an organisation it
keeps over-forecasting, a calibration that moved the level), which is what a forecast's interval
must hold. The bench re-creates them (``published_risk``): the chosen candidate fitted and
calibrated at each past cohort week as a run then would have (``fit_at``). Calibrating them with
the origin's map instead, learnt on held-out weeks that hold the past cohorts' own outcomes, took
part of their residuals away. Scoring the past cohorts with the origin's own model
(``published=False``) puts them inside its training data, where it fits them closely: the
estimated frailty is then about 0 and the "after" interval the Poisson-binomial.

Past cohorts need ``PUBLISHED_HISTORY_WEEKS`` of data before their calibration's held-out weeks, and their
whole horizon observed by the origin (``origin_frailty``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import clone

from continuity.forecasts.aggregates import GROUPINGS as AGGREGATE_GROUPINGS
from continuity.forecasts.dispersion import COHORT_SPACING_WEEKS, PAST_COHORTS
from continuity.forecasts.intervals import Frailty, estimate_frailty, frailty_intervals_with_content
from continuity.horizons import risk_column
from continuity.models.backtest import Backtest, fit_at, origin_dates
from continuity.models.base import Forecaster
from continuity.models.metrics import Oracle, horizon_status, observed_outcomes
from continuity.models.targets import snapshot_key

LEVEL = 0.90
COVERAGE_TARGET = (0.85, 0.95)
"""The issue's band for 90% intervals."""
MIN_CELLS = 20
"""The target holds for groupings with at least this many cells (over every origin): with fewer, one
cell moves the coverage by more than the band is wide."""
MODEL_ORIGINS = 8
"""Quarterly origins for the chosen model's coverage: the backtest's four and those before them, back to the first
whose held-out model still trains on half a year of the bench sector's five (``fit_at``). Over the backtest's four
alone, domains and organisations gave 16-20 cells, where one cell moves the coverage by 5-6 points, as much as
half the target band: a right interval then misses the band by chance as often as not."""
ORACLE_ORIGINS = 12
"""Quarterly origins for the oracle's coverage: three years of the bench sector's five, each with past
cohorts before it."""
PUBLISHED_HISTORY_WEEKS = 13
"""Weeks of data a past cohort week needs before its calibration's held-out weeks (the longest horizon and the
calibration weeks before it) to have a published forecast: a quarter for the model its calibration is learnt on
(the first model origin's has 24 weeks)."""
GROUPINGS = {**AGGREGATE_GROUPINGS, "team": "team_id"}
"""The aggregates' groupings and the team, each with its snapshot column."""
JUDGED = tuple(AGGREGATE_GROUPINGS)
"""The groupings the target is for: those the aggregates publish. The team is reported beside them, as the unit
whose shared fate the frailty models; no figure is published per team, and a team's whole-count interval
promises well over 90% (``promised_after``), against which its coverage is read."""


Predict = Callable[[pd.Timestamp, pd.DataFrame, int], pd.Series]
"""(origin, snapshot rows, horizon) -> each row's probability of leaving within the horizon, as forecast at the origin."""
Domains = Callable[[pd.Timestamp, pd.DataFrame], pd.Series]
"""(origin, snapshot rows) -> each row's main domain at the origin."""


def sector_coverage(backtest: Backtest, snapshots: pd.DataFrame, labels: pd.DataFrame,
                    warehouse: duckdb.DuckDBPyConnection, oracle: pd.DataFrame | None = None,
                    published: bool = True, model_origins: int = MODEL_ORIGINS,
                    oracle_origins: int = ORACLE_ORIGINS) -> dict:
    """``sector.coverage`` of the quality JSON: per grouping and horizon, the cells and the coverage before
    (Poisson-binomial) and after (shared frailty) of the chosen model at ``model_origins`` quarterly origins
    ending with the backtest's (``origin_forecasters``), with each origin's estimated frailty. With the oracle's
    hazards, the same for the true probabilities at ``oracle_origins`` origins: whether the intervals hold when
    the probabilities are right.

    ``published``: the past cohorts the frailty is estimated from carry the probabilities a weekly run
    would have published for them (``published_risk``: a fit and a calibration per past cohort week, a few
    seconds each on the bench sector); False scores them with the origin's model, inside its training data
    (quick, but the estimated frailty is then about 0)."""
    from continuity.features.situation import NO_CASELOAD, main_domains

    def domains(t: pd.Timestamp, rows: pd.DataFrame) -> pd.Series:
        main = main_domains(warehouse, pd.DataFrame({"worker_id": rows.worker_id, "at": t.date()}))
        return rows.worker_id.map(main).fillna(NO_CASELOAD)

    origins = origin_dates(snapshots, labels, model_origins, COHORT_SPACING_WEEKS, max(backtest.horizons))
    fitted = origin_forecasters(backtest, snapshots, labels, origins)

    def predict(t: pd.Timestamp, rows: pd.DataFrame, h: int) -> pd.Series:
        return fitted[t].predict_risk(rows, (h,))[risk_column(h)]

    past = published_risk(_latest_chosen(backtest), snapshots, labels, backtest.calibration_weeks,
                          backtest.horizons) if published else predict
    result = {"model": backtest.chosen,
              "past_cohorts": "published: fitted and calibrated at each past week" if published else "origin's model",
              **coverage(snapshots, labels, list(fitted), backtest.horizons, predict, domains, past)}
    if oracle is not None:
        truth = Oracle(oracle)
        truth_origins = origin_dates(snapshots, labels, oracle_origins, COHORT_SPACING_WEEKS, max(backtest.horizons))
        result["oracle"] = coverage(snapshots, labels, truth_origins, backtest.horizons,
                                    lambda t, rows, h: truth.predict_risk(rows, (h,))[risk_column(h)], domains)
    return result


def origin_forecasters(backtest: Backtest, snapshots: pd.DataFrame, labels: pd.DataFrame,
                       origins: Sequence[pd.Timestamp]) -> dict[pd.Timestamp, Forecaster]:
    """The chosen model as a weekly run at each origin published it: the backtest's own where it has that origin,
    else fitted and calibrated at the origin as the backtest fits its origins (``fit_at``)."""
    chosen = {o.date: o.forecasters[backtest.chosen] for o in backtest.origins}
    template = _latest_chosen(backtest)
    return {t: chosen[t] if t in chosen else fit_at(clone(template), snapshots, labels, t, backtest.calibration_weeks,
                                                    backtest.horizons)[0] for t in origins}


def _latest_chosen(backtest: Backtest) -> Forecaster:
    """The chosen candidate as fitted at the backtest's latest origin: the template every other run clones."""
    return backtest.origins[-1].forecasters[backtest.chosen]


def published_risk(template: Forecaster, snapshots: pd.DataFrame, labels: pd.DataFrame, calibration_weeks: int,
                   horizons: Sequence[int]) -> Predict:
    """(origin, past cohort rows, horizon) -> each row's probability as the weekly run of its week published it:
    ``template`` fitted and calibrated at that week (``fit_at``: data and labels as known then); NaN for a week
    with less than ``PUBLISHED_HISTORY_WEEKS`` of data before its calibration's held-out weeks. One run per week,
    kept for every origin and horizon that asks for it."""
    dates = snapshot_key(snapshots)["snapshot_date"]
    needed = pd.Timedelta(weeks=max(horizons) + calibration_weeks + PUBLISHED_HISTORY_WEEKS)
    first = dates.min()
    runs: dict[pd.Timestamp, Forecaster] = {}

    def run(week: pd.Timestamp) -> Forecaster:
        if week not in runs:
            runs[week] = fit_at(clone(template), snapshots, labels, week, calibration_weeks, horizons)[0]
        return runs[week]

    def predict(t: pd.Timestamp, rows: pd.DataFrame, h: int) -> pd.Series:
        weeks = dates[rows.index]
        p = pd.Series(np.nan, index=rows.index)
        for week in map(pd.Timestamp, weeks.unique()):
            if week - first >= needed:
                at_week = rows[(weeks == week).to_numpy()]
                p[at_week.index] = run(week).predict_risk(at_week, (h,))[risk_column(h)]
        return p

    return predict


def coverage(snapshots: pd.DataFrame, labels: pd.DataFrame, origins: Sequence[pd.Timestamp],
             horizons: Sequence[int], predict: Predict, domains: Domains, past: Predict | None = None) -> dict:
    """Coverage per grouping and horizon over ``origins``, each origin's frailty estimated from its past cohorts,
    scored by ``past`` (by default as the origin's cells, by ``predict``)."""
    dates = snapshot_key(snapshots)["snapshot_date"]
    cells, frailties = [], {}
    for t in origins:
        at_origin = snapshots[dates == t]
        at_origin = at_origin.assign(domain=domains(t, at_origin))
        outcomes = observed_outcomes(at_origin, labels, t + pd.Timedelta(weeks=max(horizons) + 1))
        for h in horizons:
            frailty = origin_frailty(t, snapshots, labels, h, past or predict)
            frailties.setdefault(str(h), []).append({"origin": f"{t:%Y-%m-%d}", "team": frailty.team,
                                                     "organisation": frailty.organisation,
                                                     "sector": frailty.sector})
            known, left = horizon_status(outcomes, h)
            cells.append(_cells(at_origin[known.to_numpy()], predict(t, at_origin, h)[known].to_numpy(),
                                left[known].to_numpy(), h, frailty))
    cells = pd.concat(cells, ignore_index=True)
    groupings = {}
    for (grouping, h), group in cells.groupby(["grouping", "horizon"], sort=False):
        before, after = float(group.before.mean()), float(group.after.mean())
        groupings.setdefault(grouping, {})[str(h)] = {
            "cells": len(group), "before": before, "after": after,
            # the coverage each interval's own distribution gives it, 0.9 or more: whole counts in small cells
            "promised_before": float(group.promised_before.mean()), "promised_after": float(group.promised_after.mean()),
            "meets_target": (COVERAGE_TARGET[0] <= after <= COVERAGE_TARGET[1])
                            if grouping in JUDGED and len(group) >= MIN_CELLS else None}
    return {"level": LEVEL, "target": list(COVERAGE_TARGET), "min_cells": MIN_CELLS,
            "origins": [f"{t:%Y-%m-%d}" for t in origins],
            "method": "shared gamma frailty of team, organisation and sector, variances by the method of moments "
                      "on past cohorts (binomial variance subtracted)",
            "frailty": frailties, "groupings": groupings}


def origin_frailty(t: pd.Timestamp, snapshots: pd.DataFrame, labels: pd.DataFrame, horizon: int,
                   predict: Predict) -> Frailty:
    """The frailty the weekly run would have estimated at origin ``t``: past cohorts whose horizon had passed,
    scored as at ``t``, their outcomes as the data stood at ``t``.

    The newest cohort lies ``horizon`` + 1 weeks before ``t``, as ``origin_dates`` leaves a week: one exactly
    ``horizon`` weeks before has its stayers censored at the horizon itself (an exit dated ``t`` is not yet
    known at ``t``), which ``horizon_status`` counts as unknown while its leavers stay known. That cohort
    would be its leavers alone (on the bench sector about 94 leavers against 10 expected among its 134
    known rows at 13 weeks), and it made the whole of the estimated frailty.
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    newest = t - pd.Timedelta(weeks=horizon + 1)
    cohorts = [newest - pd.Timedelta(weeks=COHORT_SPACING_WEEKS * k) for k in range(PAST_COHORTS)]
    rows = snapshots[dates.isin(cohorts)]
    if rows.empty:
        return Frailty()
    known, left = horizon_status(observed_outcomes(rows, labels, t), horizon)
    p = predict(t, rows, horizon)
    past = pd.DataFrame({"cohort": dates[rows.index], "organisation_id": rows.organisation_id,
                         "team_id": rows.team_id, "p": p, "left": left.astype(bool)})
    return estimate_frailty(past[(known & p.notna()).to_numpy()])


def _cells(rows: pd.DataFrame, p: np.ndarray, left: np.ndarray, horizon: int, frailty: Frailty) -> pd.DataFrame:
    """One row per cell of every grouping: realised leavers and whether each interval holds them."""
    keys = {grouping: rows[column].astype(str).to_numpy() for grouping, column in GROUPINGS.items()}
    team, organisation = rows.team_id.to_numpy(), rows.organisation_id.to_numpy()
    after = frailty_intervals_with_content(p, keys, team, organisation, frailty, LEVEL)
    before = frailty_intervals_with_content(p, keys, team, organisation, Frailty(), LEVEL)
    out = []
    for grouping, key in keys.items():
        for cell, count in pd.Series(left).groupby(key).sum().items():
            out.append({"grouping": grouping, "horizon": horizon, "realised": int(count),
                        "before": _holds(before[(grouping, cell)], count), "after": _holds(after[(grouping, cell)], count),
                        "promised_before": before[(grouping, cell)][2], "promised_after": after[(grouping, cell)][2]})
    return pd.DataFrame(out)


def _holds(interval: tuple[int, int, float], count: int) -> bool:
    return interval[0] <= count <= interval[1]
