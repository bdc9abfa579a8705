"""90% intervals of the calibrated probabilities, and probabilities withheld where the fairness audit says so."""

from __future__ import annotations

import pickle
from datetime import date

import numpy as np
import pandas as pd
import pytest
from model_frames import default_frames, fitted

from continuity.models.calibration import calibrate_held_out
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.metrics import horizon_status, observed_outcomes
from continuity.models.scoring import interval_columns, score_week, withhold


@pytest.mark.parametrize("refitted", [True, False], ids=["own probabilities", "mapped"])
def test_observed_rates_on_held_out_weeks_lie_within_the_intervals_in_eight_of_ten_deciles(refitted):
    """As the weekly run publishes a model refitted after its calibration (its own probabilities, the map's
    intervals), and as it publishes a base model recalibrated on the organisation's weeks (the map applied)."""
    frames = default_frames()
    split, fitted_model = fitted("gradient_boosting")
    held_out = calibrate_held_out(GradientBoostingForecaster(n_jobs=1), frames.snapshots, frames.labels,
                                  split.split_date, calibration_weeks=4, horizons=(4, 8))
    calibrator = held_out.calibrator.for_refitted_model() if refitted else held_out.calibrator
    model = pickle.loads(pickle.dumps(fitted_model)).calibrate(calibrator)
    model = pickle.loads(pickle.dumps(model))  # the intervals ride along with the pickled forecaster
    test = split.test_snapshots
    data_end = pd.Timestamp(frames.labels["snapshot_date"].max()) + pd.Timedelta(weeks=1)
    outcomes = observed_outcomes(test, frames.labels, data_end)
    p, bounds = model.predict_risk(test, (4, 8)), model.predict_interval(test, (4, 8))
    assert ((bounds["p_8w_low"] <= p["p_8w"]) & (p["p_8w"] <= bounds["p_8w_high"])).all()
    # scoring reads curve and intervals from one computation of the hazards: the same figures
    curve, together = model.predict_incidence_and_interval(test, range(0, 13), (4, 8))
    assert np.array_equal(curve, model.predict_incidence(test, range(0, 13))) and together.equals(bounds)
    assert (bounds["p_8w_high"] - bounds["p_8w_low"] > 0).mean() > 0.99

    # Deciles of some 240 held-out rows each: their sampling noise is about what the 0.02 allows.
    known, left = horizon_status(outcomes, 4)
    rows = pd.DataFrame({"p": p["p_4w"], "low": bounds["p_4w_low"], "high": bounds["p_4w_high"],
                         "left": left})[known.to_numpy()]
    deciles = rows.groupby(pd.qcut(rows["p"].rank(method="first"), 10, labels=False)).mean()
    within = (deciles["left"] >= deciles["low"] - 0.02) & (deciles["left"] <= deciles["high"] + 0.02)
    assert len(rows) >= 2000 and within.sum() >= 8, deciles
    # Sparse data widens the interval: the top decile's is wider than the middle ones'.
    widths = deciles["high"] - deciles["low"]
    assert widths.iloc[-1] > widths.iloc[3:7].mean()


def test_a_horizon_without_calibration_has_no_interval():
    split, model = fitted("cox")
    assert model.predict_interval(split.test_snapshots.head(5), (4,)).isna().all().all()


def _scores() -> pd.DataFrame:
    split, model = fitted("cox")
    snapshot = split.test_snapshots.drop_duplicates("worker_id").head(6)
    scores, _ = score_week(model, snapshot, date(2024, 1, 1), "m", "7")
    # Hand-made bounds, as a calibrated model publishes them.
    for h in (13, 26, 52):
        scores[f"p_{h}w_low"], scores[f"p_{h}w_high"] = scores[f"p_{h}w"] * 0.8, scores[f"p_{h}w"] * 1.2
    return scores


def test_a_probability_is_withheld_with_its_reason_only_where_the_scoring_models_audit_says_unreliable():
    scores = _scores()
    ids = scores["worker_id"].tolist()
    groups = pd.DataFrame({"worker_id": ids, "gender": ["f", "m", "x", "f", "m", "x"],
                           "contract_type": ["permanent"] * 5 + ["temporary or flex"]})
    fairness = pd.DataFrame({
        "attribute": ["gender", "gender", "gender", "contract_type", "gender"],
        "group": ["x", "x", "m", "temporary or flex", "f"],
        "horizon": [13, 26, 26, 52, 26],
        "status": ["unreliable", "unreliable", "insufficient", "unreliable", "unreliable"],
        "model_version": ["7", "7", "7", "7", "6"],  # the last judges another model: not this week's
    })
    published = withhold(scores, groups, fairness).set_index("worker_id")

    reason = "the fairness audit found the model unreliable for gender x at 13, 26 weeks"
    assert published.loc[ids[2], "withheld"] == reason
    assert published.loc[ids[5], "withheld"] == ("the fairness audit found the model unreliable for gender x at 13, 26 "
                                                 "weeks; the fairness audit found the model unreliable for "
                                                 "contract_type temporary or flex at 52 weeks")
    withheld = published["withheld"].notna()
    assert withheld.loc[ids].tolist() == [False, False, True, False, False, True]
    # no rank, and after the ranked ones, who are ranked among themselves
    assert published.index[-2:].tolist() == sorted([ids[2], ids[5]]) and published.loc[withheld, "rank"].isna().all()
    assert published.loc[~withheld, "rank"].tolist() == [1, 2, 3, 4]
    assert published.loc[withheld, interval_columns()].isna().all().all()
    assert published.loc[~withheld, interval_columns()].notna().all().all()
    # The week keeps the probability itself for the sector's totals; the answers about the person hide it.
    assert published["p_26w"].notna().all()
    assert withhold(scores, groups, None).equals(scores)
