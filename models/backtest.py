"""Rolling-origin backtest: would last year's system have warned us, in rank, size and time?

At each origin t (one per quarter, the latest one a full observation window
before the data end) every candidate is trained on everything before t, with
labels censored at t, with the intervals of a calibration learnt on a held-out period
ending at t (`continuity.models.calibration`: a map learnt for the fit before that period is
not applied to the refit). The active workers at t are scored and
observed for the longest horizon; every week of that window is also scored to
see when each leaver first made the weekly top-decile list (the early-warning
lead time). The oracle, the generator's true weekly hazards (voluntary and
other exits) held constant over the horizon, is scored on the same rows: every
figure has its ceiling beside it.

`chosen` is the candidate the system itself would deploy: the best validation
C-index on the latest origin's held-out period (`promotion.choose`: the simpler
candidate on a near-tie), never the backtest figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.base import clone

from continuity.horizons import LIST_HORIZON, horizons_in, risk_column
from continuity.models.base import Forecaster
from continuity.models.calibration import CALIBRATED_HORIZONS, calibrate_held_out
from continuity.models.cox import CoxForecaster
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.metrics import (
    Oracle,
    calibration_table,
    data_end,
    expected_calibration_error,
    forecast_metrics,
    horizon_status,
    lead_times,
    observed_outcomes,
    top_share_flags,
)
from continuity.models.promotion import choose
from continuity.models.split import censor_at
from continuity.models.targets import snapshot_key

ORACLE = Oracle.name
CALIBRATION_WEEKS = 13
"""The held-out weeks before an origin that its calibration is learnt on."""


@dataclass(frozen=True)
class Scored:
    """One source's forecasts for one origin's rows, with what happened to them."""

    outcomes: pd.DataFrame
    risk: pd.DataFrame  # p_<h>w as served (calibrated for models)
    raw_risk: pd.DataFrame  # before calibration; equal to `risk` for the oracle
    incidence: np.ndarray  # P(left voluntarily within w weeks) as served, w = 1 .. the longest horizon
    cause_specific_survival: np.ndarray  # exp(-H_vol(w)), other exits censored, for the IPCW Brier score
    lead_weeks: pd.Series  # per voluntary leaver in the window; NaN if never listed


@dataclass(frozen=True)
class Origin:
    date: pd.Timestamp
    chosen: str
    validation: dict[str, dict]
    scored: dict[str, Scored]  # candidate name, and ORACLE when known
    forecasters: dict[str, Forecaster]  # fitted before `date`, calibrated

    @property
    def metrics(self) -> dict[str, dict]:
        return {name: summarise([s]) for name, s in self.scored.items()}


@dataclass(frozen=True)
class Backtest:
    origins: tuple[Origin, ...]
    horizons: tuple[int, ...]
    calibration_weeks: int = CALIBRATION_WEEKS

    @property
    def chosen(self) -> str:
        return self.origins[-1].chosen

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.origins[-1].scored)

    @cached_property
    def pooled(self) -> dict[str, dict]:
        """Every origin's rows together, per source."""
        return {name: summarise([o.scored[name] for o in self.origins]) for name in self.sources}

    def calibration_tables(self, horizon: int) -> dict[str, pd.DataFrame]:
        """Observed and expected leaving per risk decile at `horizon`, pooled over origins, per source."""
        return {name: _pooled_calibration_table([o.scored[name] for o in self.origins], horizon)
                for name in self.sources}


def rolling_backtest(
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    origins: int = 4,
    spacing_weeks: int = 13,
    calibration_weeks: int = CALIBRATION_WEEKS,
    horizons: Sequence[int] = CALIBRATED_HORIZONS,
    candidates: Sequence[Forecaster] | None = None,
    oracle: pd.DataFrame | None = None,
) -> Backtest:
    """Backtest `candidates` (default: Cox and gradient boosting) at `origins` dates `spacing_weeks` apart."""
    candidates = candidates or (CoxForecaster(), GradientBoostingForecaster())
    horizons = tuple(sorted(horizons))
    dates = origin_dates(snapshots, labels, origins, spacing_weeks, max(horizons))
    return Backtest(
        tuple(_run_origin(t, snapshots, labels, candidates, oracle, calibration_weeks, horizons) for t in dates),
        horizons,
        calibration_weeks,
    )


def origin_dates(
    snapshots: pd.DataFrame, labels: pd.DataFrame, origins: int, spacing_weeks: int, observe_weeks: int
) -> list[pd.Timestamp]:
    """Snapshot dates `spacing_weeks` apart, the latest leaving `observe_weeks` + 1 weeks of data after it.

    The extra week keeps the longest horizon strictly inside the follow-up, which the IPCW metrics need.
    """
    weeks = np.sort(snapshot_key(snapshots)["snapshot_date"].unique())
    latest = weeks[weeks <= data_end(labels) - pd.Timedelta(weeks=observe_weeks + 1)]
    if not len(latest):
        raise ValueError(f"no snapshot week is followed for {observe_weeks + 1} weeks")
    chosen = [pd.Timestamp(latest[-1]) - pd.Timedelta(weeks=spacing_weeks * k) for k in reversed(range(origins))]
    if chosen[0] <= pd.Timestamp(weeks[0]):
        raise ValueError(f"{origins} origins {spacing_weeks} weeks apart reach before the first snapshot week")
    return chosen


def summarise(scored: Sequence[Scored]) -> dict[str, float]:
    """The backtest figures of one source over one or more origins' rows."""
    outcomes = pd.concat([s.outcomes for s in scored], ignore_index=True)
    risk = pd.concat([s.risk for s in scored], ignore_index=True)
    raw = pd.concat([s.raw_risk for s in scored], ignore_index=True)
    survival = np.vstack([s.cause_specific_survival for s in scored])
    metrics = forecast_metrics(outcomes, risk, survival)
    for h in horizons_in(risk.columns):
        known, left = horizon_status(outcomes, h)
        metrics[f"ece_uncalibrated_{h}w"] = expected_calibration_error(raw.loc[known, risk_column(h)], left[known])
    lead = pd.concat([s.lead_weeks for s in scored], ignore_index=True)
    metrics["median_lead_weeks"] = float(lead.median())
    metrics["leavers_listed_share"] = float(lead.notna().mean()) if len(lead) else np.nan
    return metrics


def _run_origin(
    t: pd.Timestamp,
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    candidates: Sequence[Forecaster],
    oracle: pd.DataFrame | None,
    calibration_weeks: int,
    horizons: tuple[int, ...],
) -> Origin:
    dates = snapshot_key(snapshots)["snapshot_date"]
    window_end = t + pd.Timedelta(weeks=max(horizons))
    at_origin = snapshots[dates == t]
    window = snapshots[(dates >= t) & (dates < window_end)]
    outcomes = observed_outcomes(at_origin, labels, window_end + pd.Timedelta(weeks=1))
    exits = _voluntary_exits(window, labels, window_end)

    validation, scored, forecasters = {}, {}, {}
    for candidate in candidates:
        fitted, validation[candidate.name] = fit_at(candidate, snapshots, labels, t, calibration_weeks, horizons)
        forecasters[candidate.name] = fitted
        scored[candidate.name] = _scored(fitted, at_origin, window, outcomes, exits, horizons)
    if oracle is not None:
        scored[ORACLE] = _scored(Oracle(oracle), at_origin, window, outcomes, exits, horizons)
    chosen = choose(validation)
    return Origin(t, chosen, validation, scored, forecasters)


def fit_at(candidate: Forecaster, snapshots: pd.DataFrame, labels: pd.DataFrame, t: pd.Timestamp,
           calibration_weeks: int = CALIBRATION_WEEKS,
           horizons: Sequence[int] = CALIBRATED_HORIZONS) -> tuple[Forecaster, dict]:
    """`candidate` as a weekly run at `t` publishes it, and its validation figures: fitted on the weeks before `t`
    (labels as known at `t`), with the intervals of the calibration learnt on the held-out weeks before `t`."""
    dates = snapshot_key(snapshots)["snapshot_date"]
    held_out = calibrate_held_out(candidate, snapshots, labels, t, calibration_weeks, horizons)
    train_labels = censor_at(labels[pd.to_datetime(labels["snapshot_date"]) < t], t)
    fitted = clone(candidate).fit(snapshots[dates < t], train_labels).calibrate(
        held_out.calibrator.for_refitted_model())
    return fitted, held_out.validation


def _scored(source, at_origin, window, outcomes, exits, horizons) -> Scored:
    """A fitted forecaster's or the oracle's forecasts for one origin, each scored the same way."""
    return Scored(
        outcomes,
        source.predict_risk(at_origin, horizons),
        source.predict_risk(at_origin, horizons, calibrated=False),
        source.predict_incidence(at_origin, _weeks(horizons)),
        source.predict_cause_specific_survival(at_origin, _weeks(horizons)),
        _lead(window, source.predict_risk(window, (LIST_HORIZON,))[risk_column(LIST_HORIZON)], exits),
    )


def _weeks(horizons: Sequence[int]) -> np.ndarray:
    return np.arange(1, max(horizons) + 1)


def _voluntary_exits(window: pd.DataFrame, labels: pd.DataFrame, window_end: pd.Timestamp) -> pd.Series:
    """Exit date of each worker in the window who left voluntarily before its end, by worker_id."""
    first_week = window.loc[snapshot_key(window).groupby("worker_id")["snapshot_date"].idxmin()]
    outcomes = observed_outcomes(first_week, labels, window_end)
    leavers = outcomes[outcomes["event"]]
    exit_date = leavers["snapshot_date"] + pd.to_timedelta(leavers["duration"] * 7, unit="D")
    return pd.Series(exit_date.to_numpy(), index=first_week.loc[leavers.index, "worker_id"].astype(str).to_numpy())


def _lead(window: pd.DataFrame, risk: pd.Series, exits: pd.Series) -> pd.Series:
    key = snapshot_key(window)
    flags = key.assign(flagged=top_share_flags(risk, key["snapshot_date"]))
    return lead_times(flags, exits).reset_index(drop=True)


def _pooled_calibration_table(scored: Sequence[Scored], horizon: int) -> pd.DataFrame:
    outcomes = pd.concat([s.outcomes for s in scored], ignore_index=True)
    risk = pd.concat([s.risk for s in scored], ignore_index=True)[risk_column(horizon)]
    known, left = horizon_status(outcomes, horizon)
    return calibration_table(risk[known], left[known])
