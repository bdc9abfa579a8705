"""Held-out quality of a forecaster, and of the synthetic sector's true hazard (the oracle).

Ranking: Harrell's C-index over the held-out rows, voluntary leaving as the
event. Horizons: ROC AUC, Brier score and calibration-in-the-large for "left
voluntarily within h weeks" among rows whose status at h is known:

- a row only counts where the data could follow it for h weeks (snapshot date
  plus h weeks on or before the data end); otherwise the leavers of the last
  weeks would count and their colleagues who stayed would not;
- another exit (dismissal, retirement, contract end) before h is a known "no":
  that worker did not leave voluntarily within h;
- censoring for any other reason before h leaves the status unknown.

Forecasters state the cumulative incidence of voluntary leaving (other exits
compete), which is exactly what "left voluntarily within h weeks, where another
exit first is a no" measures. Calibration is also summarised as the expected
calibration error over risk deciles, the figure the champion gate compares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index
from sklearn.metrics import brier_score_loss, roc_auc_score

from continuity.models.base import HORIZONS, Forecaster, risk_column
from continuity.models.metrics import expected_calibration_error, horizon_status
from continuity.models.targets import attach_labels, snapshot_key

# Fewer rows than this make ten risk deciles too thin to say anything about calibration.
ECE_MIN_ROWS = 100


def evaluate(
    forecaster: Forecaster, test_snapshots: pd.DataFrame, test_labels: pd.DataFrame, horizons: Sequence[int] = HORIZONS
) -> dict:
    """C-index (on the longest horizon's probability) and per-horizon AUC, Brier, ECE, mean predicted and observed."""
    risk = forecaster.predict_risk(test_snapshots, horizons)
    outcomes = _outcomes(test_snapshots, test_labels)
    metrics = _ranking_metrics(
        risk[risk_column(max(horizons))], {h: risk[risk_column(h)] for h in horizons}, outcomes
    )
    for h in horizons:
        known, left = horizon_status(outcomes, h)
        p = risk.loc[known, risk_column(h)]
        metrics[f"brier_{h}w"] = float(brier_score_loss(left[known], p)) if known.any() else np.nan
        metrics[f"ece_{h}w"] = expected_calibration_error(p, left[known]) if known.sum() >= ECE_MIN_ROWS else np.nan
        metrics[f"predicted_{h}w"] = float(p.mean())
        metrics[f"observed_{h}w"] = float(left[known].mean())
    return metrics


def oracle_metrics(
    oracle_hazard: pd.DataFrame, test_snapshots: pd.DataFrame, test_labels: pd.DataFrame,
    horizons: Sequence[int] = HORIZONS,
) -> dict:
    """The same ranking metrics with the true weekly voluntary hazard as the score: the ceiling for any model."""
    hazard = true_hazard(oracle_hazard, test_snapshots)
    return _ranking_metrics(hazard, {h: hazard for h in horizons}, _outcomes(test_snapshots, test_labels))


def true_hazard(oracle_hazard: pd.DataFrame, snapshots: pd.DataFrame, column: str = "hazard_voluntary") -> pd.Series:
    """The generator's weekly hazard (voluntary, or `hazard_other`) for each snapshot row, on the snapshots' index."""
    key = snapshot_key(snapshots).reset_index(drop=True)
    oracle = pd.DataFrame(
        {
            "worker_id": oracle_hazard["worker_id"].astype(str),
            "snapshot_date": pd.to_datetime(oracle_hazard["week_start"]),
            "hazard": oracle_hazard[column],
        }
    )
    hazard = key.merge(oracle, on=["worker_id", "snapshot_date"], how="left", validate="one_to_one")["hazard"]
    if hazard.isna().any():
        raise ValueError(f"{int(hazard.isna().sum())} snapshot rows have no oracle hazard")
    hazard.index = snapshots.index
    return hazard


def _outcomes(snapshots: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Labels plus how long each row could be followed: up to the last date the labels reach."""
    outcomes = attach_labels(snapshots, labels)
    dates = snapshot_key(snapshots)["snapshot_date"]
    data_end = (dates + pd.to_timedelta(outcomes["duration"] * 7, unit="D")).max()
    return outcomes.assign(snapshot_date=dates, followed_weeks=(data_end - dates) / pd.Timedelta(weeks=1))


def _ranking_metrics(score: pd.Series, score_at: dict[int, pd.Series], outcomes: pd.DataFrame) -> dict:
    metrics = {
        "n_rows": len(outcomes),
        "n_events": int(outcomes["event"].sum()),
        # lifelines expects a score that is high for long survival, hence the minus.
        "c_index": float(concordance_index(outcomes["duration"], -score, outcomes["event"])),
    }
    for h, h_score in score_at.items():
        known, left = horizon_status(outcomes, h)
        metrics[f"n_known_{h}w"] = int(known.sum())
        both_classes = left[known].nunique() == 2
        metrics[f"auc_{h}w"] = float(roc_auc_score(left[known], h_score[known])) if both_classes else np.nan
    return metrics
