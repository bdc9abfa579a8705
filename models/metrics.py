"""Forecast quality in rank, size and time, on rows whose outcome was observed.

Every function takes `outcomes`: one row per scored snapshot row with
`duration` (weeks from the snapshot to the exit or the end of follow-up),
`event` (left voluntarily), `exit_reason` and `followed_weeks` (how long the
data could follow the row at most: data end minus snapshot date).

Voluntary leaving is the event. Where a metric needs a censoring model
(Uno's C, time-dependent AUC, Brier score: scikit-survival's IPCW with a
Kaplan-Meier censoring distribution estimated on the scored rows themselves),
other exits count as censoring: the cause-specific view, so the integrated
Brier score judges each model's cause-specific survival exp(-H_vol). Horizon
metrics on "left within h weeks" (calibration, top-decile list) use
`horizon_status` instead, where another exit before h is a known "no": they
judge the cumulative incidence the forecasters publish.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_ipcw, cumulative_dynamic_auc, integrated_brier_score
from sksurv.util import Surv

from continuity.models.split import censor_at
from continuity.models.targets import CENSORED, attach_labels, snapshot_key

TOP_SHARE = 0.1


def horizon_status(outcomes: pd.DataFrame, horizon: float) -> tuple[pd.Series, pd.Series]:
    """(status known at the horizon, left voluntarily within it) per row.

    Known: the data could follow the row for `horizon` weeks (else the last
    weeks' leavers would count and their colleagues who stayed would not), and
    the row was not censored before the horizon for want of data. Another exit
    before the horizon is a known "did not leave voluntarily".
    """
    within = outcomes["duration"] <= horizon
    censored_early = outcomes["exit_reason"].eq(CENSORED) & within
    known = (outcomes["followed_weeks"] >= horizon) & ~censored_early
    return known, (outcomes["event"] & within).astype(int)


def concordance(outcomes: pd.DataFrame, risk: pd.Series | np.ndarray, tau: float) -> dict[str, float]:
    """Harrell's C (lifelines) and Uno's C truncated at `tau` weeks (scikit-survival); `risk` is high for early leaving."""
    risk = np.asarray(risk, dtype=float)
    survival = _surv(outcomes)
    return {
        # lifelines expects a score that is high for long survival, hence the minus.
        "c_index": float(concordance_index(outcomes["duration"], -risk, outcomes["event"])),
        "c_index_uno": float(concordance_index_ipcw(survival, survival, risk, tau=tau)[0]),
    }


def time_dependent_auc(outcomes: pd.DataFrame, risk_at: np.ndarray, horizons: Sequence[int]) -> dict[str, float]:
    """Cumulative/dynamic AUC at each horizon; `risk_at[:, j]` is the risk for `horizons[j]`.

    NaN where no voluntary leaver falls before the horizon or the follow-up does not reach past it.
    """
    survival = _surv(outcomes)
    auc = {}
    for j, h in enumerate(horizons):
        defined = outcomes["event"].to_numpy()[outcomes["duration"].to_numpy() <= h].any() and (
            outcomes["duration"].max() > h
        )
        auc[f"auc_{h}w"] = (
            float(cumulative_dynamic_auc(survival, survival, risk_at[:, j], [h])[0][0]) if defined else np.nan
        )
    return auc


def integrated_brier(outcomes: pd.DataFrame, survival_at: np.ndarray, weeks: Sequence[float]) -> float:
    """Integrated Brier score of the survival curves `survival_at[:, j]` = S(weeks[j]) (lower is better)."""
    survival = _surv(outcomes)
    return float(integrated_brier_score(survival, survival, survival_at, np.asarray(weeks, dtype=float)))


def calibration_table(p: pd.Series, left: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Per risk decile (quantile bin of the prediction): rows, expected and observed leaving, and their ratio."""
    frame = pd.DataFrame({"p": np.asarray(p, dtype=float), "left": np.asarray(left, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    table = frame.groupby("bin").agg(n=("p", "size"), expected=("p", "mean"), observed=("left", "mean"))
    return table.assign(observed_over_expected=table["observed"] / table["expected"])


def expected_calibration_error(p: pd.Series, left: pd.Series, bins: int = 10) -> float:
    """Row-weighted mean |observed - expected| over the risk deciles."""
    table = calibration_table(p, left, bins)
    return float(np.average((table["observed"] - table["expected"]).abs(), weights=table["n"]))


def top_share_flags(risk: pd.Series, snapshot_date: pd.Series, share: float = TOP_SHARE) -> pd.Series:
    """True for the rows on each week's list of the highest `share` of risk (ties broken by row order)."""
    pct = risk.groupby(snapshot_date.to_numpy()).rank(method="first", ascending=False, pct=True)
    return pct <= share


def top_list_precision_recall(flagged: pd.Series, known: pd.Series, left: pd.Series) -> dict[str, float]:
    """Share of the listed who left, and share of the leavers who were listed, among rows with a known status."""
    flagged, left = flagged[known].astype(bool), left[known].astype(bool)
    return {
        "precision": float(left[flagged].mean()) if flagged.any() else np.nan,
        "recall": float(flagged[left].mean()) if left.any() else np.nan,
    }


def lead_times(flags: pd.DataFrame, exits: pd.Series) -> pd.Series:
    """Weeks from first being on the list to leaving, per voluntary leaver; NaN for a leaver never listed.

    `flags` holds one row per worker and week scored (`worker_id`, `snapshot_date`,
    `flagged`); `exits` is the voluntary exit date indexed by worker_id. Only
    weeks before the exit count: a list made after someone left warns nobody.
    """
    exit_date = pd.to_datetime(exits)
    rows = flags.assign(snapshot_date=pd.to_datetime(flags["snapshot_date"]))
    rows = rows[rows["flagged"] & rows["worker_id"].isin(exit_date.index)]
    rows = rows[rows["snapshot_date"] < rows["worker_id"].map(exit_date)]
    first = rows.groupby("worker_id")["snapshot_date"].min()
    return ((exit_date - first.reindex(exit_date.index)).dt.days / 7).rename("lead_weeks")


def forecast_metrics(
    outcomes: pd.DataFrame,
    risk: pd.DataFrame,
    horizons: Sequence[int],
    survival_at: np.ndarray,
    weeks: Sequence[float],
    snapshot_date: pd.Series,
) -> dict[str, float]:
    """Rank, time and size of one set of forecasts: every figure of a backtest except lead time.

    `risk` has a column `p_<h>w` per horizon; `survival_at[:, j]` is S(weeks[j]).
    C-indices rank on the longest horizon's risk; the top-decile list is made per snapshot date.
    """
    columns = [f"p_{h}w" for h in horizons]
    metrics: dict[str, float] = {"n_rows": len(outcomes), "n_events": int(outcomes["event"].sum())}
    metrics |= concordance(outcomes, risk[columns[-1]], tau=max(horizons))
    metrics |= time_dependent_auc(outcomes, risk[columns].to_numpy(), horizons)
    metrics["ibs"] = integrated_brier(outcomes, survival_at, weeks)
    for h, column in zip(horizons, columns):
        known, left = horizon_status(outcomes, h)
        metrics[f"ece_{h}w"] = expected_calibration_error(risk.loc[known, column], left[known])
        metrics[f"predicted_{h}w"] = float(risk.loc[known, column].mean())
        metrics[f"observed_{h}w"] = float(left[known].mean())
        listed = top_list_precision_recall(top_share_flags(risk[column], snapshot_date), known, left)
        metrics[f"top_decile_precision_{h}w"] = listed["precision"]
        metrics[f"top_decile_recall_{h}w"] = listed["recall"]
    return metrics


def _surv(outcomes: pd.DataFrame) -> np.ndarray:
    return Surv.from_arrays(outcomes["event"].to_numpy(bool), outcomes["duration"].to_numpy(float))


def observed_outcomes(snapshots: pd.DataFrame, labels: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """The `outcomes` frame for `snapshots` as the data stood on `until`: later exits are censoring there."""
    before = labels[pd.to_datetime(labels["snapshot_date"]) < until]
    outcomes = attach_labels(snapshots, censor_at(before, until))
    dates = snapshot_key(snapshots)["snapshot_date"]
    return outcomes.assign(snapshot_date=dates, followed_weeks=(until - dates) / pd.Timedelta(weeks=1))
