"""Forecast quality in rank, size and time: the one definition of every figure.

The weekly run's held-out report, the champion gate, the backtest, the benchmark
and the demo summary all read figures made here, so a name such as `auc_26w`
means the same number wherever it appears. Models and the synthetic sector's true
hazard (`Oracle`) go through the same code, so every figure has its ceiling.

Every figure is computed on `outcomes`: one row per scored snapshot row with
`snapshot_date`, `duration` (weeks from the snapshot to the exit or the end of
follow-up), `event` (left voluntarily), `exit_reason` and `followed_weeks` (how
long the data could follow the row at most).

Horizon figures judge what is published, the cumulative incidence of voluntary
leaving, on "left voluntarily within h weeks" among the rows whose status at h is
known (`horizon_status`): another exit before h is a known "no", and a row the
data could not follow for h weeks does not count (else the last weeks' leavers
would count and their colleagues who stayed would not). These are `auc_<h>w`
(ROC AUC), `brier_<h>w`, `ece_<h>w` (the gate's calibration figure), the mean
predicted and observed rate, and the top-decile list's precision and recall.

The 90% intervals of a calibrated forecaster (``continuity.models.calibration``) are judged
on the same rows: `interval_width_<h>w`, the median width over the scored rows, and
`interval_coverage_<h>w`, in how many of the ten risk deciles of the rows known at h the
observed rate lies within the decile's mean interval widened by `INTERVAL_SLACK`.

Figures over the whole follow-up need a censoring model: Uno's C (`c_index_uno`)
and the integrated Brier score (`ibs`) use scikit-survival's IPCW with a
Kaplan-Meier censoring distribution estimated on the scored rows themselves, with
other exits as censoring (the cause-specific view: `ibs` judges exp(-H_vol)).
Harrell's `c_index`, the gate's rank figure, ranks on the longest horizon's risk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index
from sklearn.metrics import brier_score_loss, roc_auc_score
from sksurv.metrics import concordance_index_ipcw, integrated_brier_score
from sksurv.util import Surv

from continuity.horizons import HORIZONS, horizons_in, risk_column
from continuity.models.split import censor_at
from continuity.models.targets import CENSORED, attach_labels, snapshot_key

TOP_SHARE = 0.1
# Fewer rows than this make ten risk deciles too thin to say anything about calibration.
ECE_MIN_ROWS = 100
# A decile's observed rate is itself an estimate: at a few hundred rows and rates near 10% its own
# sampling noise is about 0.02, which the coverage check allows for beyond the interval.
INTERVAL_SLACK = 0.02
# Uno's C compares every event with every row at risk after it (scikit-survival holds events x rows in
# memory): above this many rows it is computed on a fixed random subset of them. 20,000 rows keep about a
# thousand voluntary leavers at the sector's weekly rate, which puts the figure's sampling error near 0.01,
# below the gaps it is read for, at a fraction of a gigabyte.
UNO_MAX_ROWS = 20_000
# Held-out rows are scored this many at a time: a block's weekly curves (53 weeks x two causes x a few
# copies) then stay near a hundred megabytes, however many rows the test weeks hold.
PREDICT_BLOCK_ROWS = 50_000


def evaluate(forecaster, snapshots: pd.DataFrame, labels: pd.DataFrame, horizons: Sequence[int] = HORIZONS) -> dict:
    """Every figure of a fitted forecaster (or the `Oracle`) on held-out rows followed as far as the labels reach,
    its intervals' figures included where it states intervals (the `Oracle`, the true hazard, has none)."""
    outcomes = held_out_outcomes(snapshots, labels)
    blocks = _blocks(snapshots)
    stated = hasattr(forecaster, "predict_incidence_and_interval")
    if stated:  # probabilities and intervals from one computation of the hazards per block
        scored = [forecaster.predict_incidence_and_interval(block, horizons, horizons) for block in blocks]
        risk = pd.concat([pd.DataFrame(incidence, index=block.index, columns=[risk_column(h) for h in horizons])
                          for block, (incidence, _) in zip(blocks, scored)])
        bounds = pd.concat([b for _, b in scored])
    else:
        risk = pd.concat([forecaster.predict_risk(block, horizons) for block in blocks])
    weeks = np.arange(1, max(horizons) + 1)
    survival = np.vstack([forecaster.predict_cause_specific_survival(block, weeks) for block in blocks])
    metrics = forecast_metrics(outcomes, risk, survival)
    if stated:
        metrics |= interval_metrics(outcomes, risk, bounds)
    return metrics


def _blocks(snapshots: pd.DataFrame) -> list[pd.DataFrame]:
    """The rows in blocks of `PREDICT_BLOCK_ROWS`, in order (one block, possibly empty, for a small frame)."""
    return [snapshots.iloc[i:i + PREDICT_BLOCK_ROWS] for i in range(0, max(len(snapshots), 1), PREDICT_BLOCK_ROWS)]


def forecast_metrics(outcomes: pd.DataFrame, risk: pd.DataFrame, survival_at: np.ndarray) -> dict[str, float]:
    """Rank, size and the weekly list of one set of forecasts.

    `risk` has a column `p_<h>w` per horizon, as published; `survival_at[:, j]` is
    the cause-specific survival at week j + 1, for the integrated Brier score.
    """
    horizons = horizons_in(risk.columns)
    longest = max(horizons)
    metrics: dict[str, float] = {"n_rows": len(outcomes), "n_events": int(outcomes["event"].sum())}
    metrics |= concordance(outcomes, risk[risk_column(longest)], tau=longest)
    metrics["ibs"] = integrated_brier(outcomes, survival_at)
    for h in horizons:
        metrics |= _at_horizon(outcomes, risk[risk_column(h)], h)
    return metrics


def _at_horizon(outcomes: pd.DataFrame, p: pd.Series, h: int) -> dict[str, float]:
    known, left = horizon_status(outcomes, h)
    p_known, left_known = p[known], left[known]
    listed = top_list_precision_recall(top_share_flags(p, outcomes["snapshot_date"]), known, left)
    return {
        f"n_known_{h}w": int(known.sum()),
        f"auc_{h}w": float(roc_auc_score(left_known, p_known)) if left_known.nunique() == 2 else np.nan,
        f"brier_{h}w": float(brier_score_loss(left_known, p_known)) if known.any() else np.nan,
        f"ece_{h}w": expected_calibration_error(p_known, left_known),
        f"predicted_{h}w": float(p_known.mean()),
        f"observed_{h}w": float(left_known.mean()),
        f"top_decile_precision_{h}w": listed["precision"],
        f"top_decile_recall_{h}w": listed["recall"],
    }


def interval_metrics(outcomes: pd.DataFrame, risk: pd.DataFrame, bounds: pd.DataFrame) -> dict[str, float]:
    """Per horizon with an interval (`bounds`: `p_<h>w_low`, `p_<h>w_high`, as `predict_interval` gives them):
    `interval_width_<h>w`, the median width over every row, as the published intervals are read; and
    `interval_coverage_<h>w`, the deciles (of 10) of the rows known at h whose observed rate lies within their
    mean interval widened by `INTERVAL_SLACK`, NaN on fewer than `ECE_MIN_ROWS` known rows.

    The coverage is judged per decile rather than per row: an interval is for the rate among workers
    scored alike, not for one person's yes or no, which no interval short of 0-1 would hold."""
    metrics: dict[str, float] = {}
    for h in horizons_in(risk.columns):
        column = risk_column(h)
        low, high = bounds[f"{column}_low"], bounds[f"{column}_high"]
        if low.isna().all():  # a horizon the calibrator could not learn states no interval
            continue
        known, left = horizon_status(outcomes, h)
        metrics[f"interval_width_{h}w"] = float((high - low).median())
        metrics[f"interval_coverage_{h}w"] = np.nan
        if known.sum() >= ECE_MIN_ROWS:
            rows = pd.DataFrame({"p": risk[column].to_numpy(), "low": low.to_numpy(), "high": high.to_numpy(),
                                 "left": left.to_numpy()})[known.to_numpy()]
            deciles = rows.groupby(pd.qcut(rows["p"].rank(method="first"), 10, labels=False)).mean()
            within = deciles["left"].between(deciles["low"] - INTERVAL_SLACK, deciles["high"] + INTERVAL_SLACK)
            metrics[f"interval_coverage_{h}w"] = int(within.sum())
    return metrics


def horizon_status(outcomes: pd.DataFrame, horizon: float) -> tuple[pd.Series, pd.Series]:
    """(status known at the horizon, left voluntarily within it) per row.

    Known: the data could follow the row for `horizon` weeks, and the row was not
    censored before the horizon for want of data. Another exit before the horizon
    is a known "did not leave voluntarily".
    """
    within = outcomes["duration"] <= horizon
    censored_early = outcomes["exit_reason"].eq(CENSORED) & within
    known = (outcomes["followed_weeks"] >= horizon) & ~censored_early
    return known, (outcomes["event"] & within).astype(int)


def concordance(outcomes: pd.DataFrame, risk: pd.Series | np.ndarray, tau: float) -> dict[str, float]:
    """Harrell's C (lifelines) and Uno's C truncated at `tau` weeks (scikit-survival), the latter on at most
    `UNO_MAX_ROWS` rows (the same rows for every forecaster scored on `outcomes`); `risk` is high for early leaving."""
    risk = np.asarray(risk, dtype=float)
    survival = _surv(outcomes)
    bounded = np.arange(len(outcomes))
    if len(bounded) > UNO_MAX_ROWS:
        bounded = np.sort(np.random.default_rng(0).choice(len(bounded), UNO_MAX_ROWS, replace=False))
    return {
        # lifelines expects a score that is high for long survival, hence the minus.
        "c_index": float(concordance_index(outcomes["duration"], -risk, outcomes["event"])),
        "c_index_uno": float(concordance_index_ipcw(survival, survival[bounded], risk[bounded], tau=tau)[0]),
    }


def integrated_brier(outcomes: pd.DataFrame, survival_at: np.ndarray) -> float:
    """Integrated Brier score of the curves `survival_at[:, j]` = S(week j + 1) (lower is better).

    NaN unless the rows' follow-up spans the weeks (the shortest no longer than the first week,
    the longest past the last one): outside it the IPCW weights are undefined.
    """
    weeks = np.arange(1, survival_at.shape[1] + 1, dtype=float)
    if not outcomes["duration"].min() <= weeks[0] < weeks[-1] < outcomes["duration"].max():
        return np.nan
    survival = _surv(outcomes)
    return float(integrated_brier_score(survival, survival, survival_at, weeks))


def calibration_table(p: pd.Series, left: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Per risk decile (quantile bin of the prediction): rows, expected and observed leaving, and their ratio."""
    frame = pd.DataFrame({"p": np.asarray(p, dtype=float), "left": np.asarray(left, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    table = frame.groupby("bin").agg(n=("p", "size"), expected=("p", "mean"), observed=("left", "mean"))
    return table.assign(observed_over_expected=table["observed"] / table["expected"])


def expected_calibration_error(p: pd.Series, left: pd.Series, bins: int = 10) -> float:
    """Row-weighted mean |observed - expected| over the risk deciles; NaN on fewer than `ECE_MIN_ROWS` rows."""
    if len(p) < ECE_MIN_ROWS:
        return np.nan
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


def data_end(labels: pd.DataFrame) -> pd.Timestamp:
    """The last day the labels follow anyone to: the end of the data."""
    dates = pd.to_datetime(labels["snapshot_date"])
    return (dates + pd.to_timedelta(labels["duration_weeks"] * 7, unit="D")).max()


def held_out_outcomes(snapshots: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The `outcomes` of held-out rows whose labels run to the end of the data."""
    return _followed_until(snapshots, attach_labels(snapshots, labels), data_end(labels))


def observed_outcomes(snapshots: pd.DataFrame, labels: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """The `outcomes` for `snapshots` as the data stood on `until`: later exits are censoring there."""
    before = labels[pd.to_datetime(labels["snapshot_date"]) < until]
    return _followed_until(snapshots, attach_labels(snapshots, censor_at(before, until)), until)


def _followed_until(snapshots: pd.DataFrame, outcomes: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    dates = snapshot_key(snapshots)["snapshot_date"]
    return outcomes.assign(snapshot_date=dates, followed_weeks=(end - dates) / pd.Timedelta(weeks=1))


def _surv(outcomes: pd.DataFrame) -> np.ndarray:
    return Surv.from_arrays(outcomes["event"].to_numpy(bool), outcomes["duration"].to_numpy(float))


class Oracle:
    """The synthetic sector's true weekly hazards, voluntary v and other o, held constant over the horizon.

    It answers like a forecaster so that every figure is computed for it by the
    same code as for the models: P(leaving voluntarily within w weeks) =
    v / (v + o) * (1 - (1 - v - o)^w), as each week a worker still there leaves
    voluntarily with probability v, otherwise with o.
    """

    name = "oracle"

    def __init__(self, hazard: pd.DataFrame):
        self.hazard = hazard  # worker_id, week_start, hazard_voluntary, hazard_other

    def predict_incidence(self, snapshots: pd.DataFrame, weeks: Sequence[int], calibrated: bool = True) -> np.ndarray:
        voluntary, other = self._hazards(snapshots)
        weeks = np.asarray(weeks, dtype=float)[None, :]
        return voluntary / (voluntary + other) * (1 - (1 - voluntary - other) ** weeks)

    def predict_risk(
        self, snapshots: pd.DataFrame, horizons: Sequence[int] = HORIZONS, calibrated: bool = True
    ) -> pd.DataFrame:
        incidence = self.predict_incidence(snapshots, horizons)
        return pd.DataFrame(incidence, index=snapshots.index, columns=[risk_column(h) for h in horizons])

    def predict_cause_specific_survival(self, snapshots: pd.DataFrame, weeks: Sequence[float]) -> np.ndarray:
        voluntary, _ = self._hazards(snapshots)
        return (1 - voluntary) ** np.asarray(weeks, dtype=float)[None, :]

    def _hazards(self, snapshots: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return (true_hazard(self.hazard, snapshots).to_numpy()[:, None],
                true_hazard(self.hazard, snapshots, "hazard_other").to_numpy()[:, None])


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
