"""Forecast-quality metrics on hand-made cases whose right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from continuity.models.metrics import (
    INTERVAL_SLACK,
    calibration_table,
    concordance,
    expected_calibration_error,
    forecast_metrics,
    horizon_status,
    integrated_brier,
    interval_metrics,
    lead_times,
    top_list_precision_recall,
    top_share_flags,
)


def outcomes(duration, reason, followed=100.0) -> pd.DataFrame:
    reason = pd.Series(reason)
    return pd.DataFrame(
        {
            "duration": np.asarray(duration, dtype=float),
            "event": reason.eq("voluntary").to_numpy(),
            "exit_reason": reason.to_numpy(),
            "followed_weeks": np.broadcast_to(np.asarray(followed, dtype=float), len(reason)),
        }
    )


def survival_cohort(n: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    """Leavers at weeks 1..n/2 with a risk that falls with their duration, then stayers censored at 60."""
    duration = np.r_[np.linspace(1, 50, n // 2), np.full(n // 2, 60.0)]
    reason = ["voluntary"] * (n // 2) + ["censored"] * (n // 2)
    return outcomes(duration, reason), 100.0 - duration


def test_horizon_status_counts_other_exits_as_known_no_and_drops_the_unfollowed():
    rows = outcomes(
        [5, 5, 5, 40, 40], ["voluntary", "retirement", "censored", "censored", "censored"], [60, 60, 60, 60, 10]
    )
    known, left = horizon_status(rows, 13)
    assert known.tolist() == [True, True, False, True, False]
    assert left.tolist() == [1, 0, 0, 0, 0]


def test_concordance_is_one_for_a_perfect_ranking_and_zero_for_the_reverse():
    rows, risk = survival_cohort()
    assert concordance(rows, risk, tau=52) == pytest.approx({"c_index": 1.0, "c_index_uno": 1.0})
    assert concordance(rows, -risk, tau=52)["c_index"] == pytest.approx(0.0)


def test_auc_judges_the_published_incidence_so_another_exit_is_a_known_no():
    # A retiree ranked above the one leaver: as a known "did not leave voluntarily" she costs
    # the leaver one of four comparisons; censoring her (the cause-specific view) would give 1.0.
    rows = outcomes([5, 6, 40, 40, 40], ["voluntary", "retirement", "censored", "censored", "censored"])
    risk = pd.DataFrame({"p_13w": [0.5, 0.9, 0.3, 0.2, 0.1]})
    metrics = forecast_metrics(rows.assign(snapshot_date=pd.Timestamp("2024-01-01")), risk, np.ones((5, 13)))
    assert metrics["n_known_13w"] == 5
    assert metrics["auc_13w"] == pytest.approx(0.75)


def test_integrated_brier_rewards_curves_that_drop_when_the_worker_leaves():
    rows, _ = survival_cohort()
    weeks = np.arange(1, 53)
    sharp = (weeks[None, :] < rows["duration"].to_numpy()[:, None]).astype(float)
    vague = np.full_like(sharp, 0.5)
    assert integrated_brier(rows, sharp) < 0.01
    assert integrated_brier(rows, vague) == pytest.approx(0.25, abs=0.01)
    # The follow-up must reach past the last week for the censoring weights to exist.
    assert np.isnan(integrated_brier(rows, np.ones((len(rows), 60))))


def test_calibration_error_is_zero_when_each_decile_leaves_at_its_predicted_rate_and_the_offset_otherwise():
    p = np.repeat(np.arange(1, 11) / 20, 20)  # deciles predicting 5%, 10%, ... 50%
    left = np.concatenate([np.r_[np.ones(k), np.zeros(20 - k)] for k in range(1, 11)])
    assert expected_calibration_error(p, left) == pytest.approx(0.0)
    assert expected_calibration_error(p + 0.03, left) == pytest.approx(0.03)
    assert np.isnan(expected_calibration_error(p[:99], left[:99]))  # too few rows for ten deciles
    table = calibration_table(p * 2, left)
    assert table["observed_over_expected"].to_numpy() == pytest.approx(np.full(10, 0.5))


def test_top_share_flags_list_a_tenth_of_each_week_and_precision_recall_follow():
    dates = pd.Series(np.repeat(pd.to_datetime(["2024-01-01", "2024-01-08"]), 20))
    risk = pd.Series(np.tile(np.arange(20.0), 2))
    flags = top_share_flags(risk, dates)
    assert flags.sum() == 4 and set(risk[flags]) == {18.0, 19.0}
    left = pd.Series((risk >= 17).astype(int))  # three leavers a week, the top two listed
    known = pd.Series(True, index=risk.index)
    assert top_list_precision_recall(flags, known, left) == pytest.approx({"precision": 1.0, "recall": 2 / 3})


def test_lead_time_counts_from_the_first_listing_before_the_exit():
    weeks = pd.date_range("2024-01-01", periods=6, freq="7D")
    flags = pd.DataFrame(
        {
            "worker_id": ["a"] * 6 + ["b"] * 6 + ["c"] * 6,
            "snapshot_date": list(weeks) * 3,
            "flagged": [False, True, False, True, False, False]  # a: first listed in week 1
            + [False] * 6  # b: never listed
            + [False, False, False, False, True, True],  # c: listed only after leaving
        }
    )
    exits = pd.Series(pd.to_datetime(["2024-02-26", "2024-01-29", "2024-01-15"]), index=["a", "b", "c"])
    lead = lead_times(flags, exits)
    assert lead["a"] == pytest.approx(7.0)
    assert lead[["b", "c"]].isna().all()


def test_forecast_metrics_reports_every_figure_for_every_horizon():
    rows, risk = survival_cohort()
    p = pd.DataFrame({"p_13w": risk / 200, "p_26w": risk / 100})
    weeks = np.arange(1, 27)
    survival_at = np.exp(-np.outer(p["p_26w"], weeks / 26))
    metrics = forecast_metrics(rows.assign(snapshot_date=pd.Timestamp("2024-01-01")), p, survival_at)
    assert metrics["c_index"] == pytest.approx(1.0)
    assert metrics["top_decile_precision_26w"] == pytest.approx(1.0)
    assert metrics["auc_13w"] == metrics["auc_26w"] == pytest.approx(1.0)
    assert np.isfinite(metrics["ibs"]) and np.isfinite(metrics["ece_26w"])
    assert {"brier_13w", "n_known_26w", "predicted_26w", "observed_26w", "top_decile_recall_13w"} <= metrics.keys()


def test_interval_figures_are_the_median_width_and_the_deciles_whose_rate_lies_in_their_mean_interval():
    p = np.repeat(np.arange(1, 11) / 20, 20)  # deciles predicting 5%, 10%, ... 50%, each leaving at that rate
    left = np.concatenate([np.r_[np.ones(k), np.zeros(20 - k)] for k in range(1, 11)])
    rows = outcomes(np.where(left == 1, 5.0, 60.0), np.where(left == 1, "voluntary", "censored"))
    risk = pd.DataFrame({"p_13w": p / 2, "p_26w": p})
    width = np.where(p > 0.35, 0.06, 0.02)  # three deciles with wider intervals: the median stays 0.02
    shift = np.where(p > 0.35, 0.03 + INTERVAL_SLACK + 0.001, 0.0)  # their intervals lie above the rate, beyond the slack
    bounds = pd.DataFrame({"p_13w_low": np.nan, "p_13w_high": np.nan,  # 13 weeks not calibrated: no interval
                           "p_26w_low": p - width / 2 + shift, "p_26w_high": p + width / 2 + shift})
    metrics = interval_metrics(rows, risk, bounds)
    assert metrics == pytest.approx({"interval_width_26w": 0.02, "interval_coverage_26w": 7})
    # within the slack still counts; fewer rows than ten deciles can judge leave the coverage unknown
    assert interval_metrics(rows, risk, bounds.assign(p_26w_low=p + 0.019, p_26w_high=p + 0.03))["interval_coverage_26w"] == 10
    few = interval_metrics(rows.iloc[:99], risk.iloc[:99], bounds.iloc[:99])
    assert few["interval_width_26w"] == pytest.approx(0.02) and np.isnan(few["interval_coverage_26w"])
