"""Per-horizon calibration: learnt on a held-out period, applied inside `predict_risk`."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from model_frames import default_frames, fitted

from continuity.models.calibration import HorizonCalibrator, calibrate_held_out
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.metrics import expected_calibration_error


def overstated(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A model that states twice the true probability of leaving within 13 weeks; nobody leaves within 4."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.01, 0.3, n)
    left = rng.random(n) < truth
    outcomes = pd.DataFrame({
        "duration": np.where(left, 6.0, 20.0),
        "event": left,
        "exit_reason": np.where(left, "voluntary", "censored"),
        "followed_weeks": 30.0,
    })
    risk = pd.DataFrame({"p_4w": np.full(n, 0.02), "p_13w": 2 * truth})
    return risk, outcomes, left


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_brings_overstated_probabilities_to_the_observed_rate(method):
    risk, outcomes, left = overstated()
    calibrator = HorizonCalibrator(method).fit(risk, outcomes, (4, 13))
    fresh, fresh_outcomes, fresh_left = overstated(seed=1)
    calibrated = calibrator.transform(fresh)
    before = expected_calibration_error(fresh["p_13w"], fresh_left)
    after = expected_calibration_error(calibrated["p_13w"], fresh_left)
    assert before > 0.1 and after < 0.02
    # No leaver within 4 weeks: that horizon is left as the model stated it, and never above the 13-week risk.
    assert calibrator.horizons == (13,)
    assert (calibrated["p_4w"] <= calibrated["p_13w"]).all()
    assert (calibrated["p_4w"] == np.minimum(0.02, calibrated["p_13w"])).all()


def test_held_out_calibration_only_reads_data_before_the_cutoff_and_rides_along_in_predict_risk():
    frames = default_frames()
    split, _ = fitted("gradient_boosting")
    candidate = GradientBoostingForecaster(n_jobs=1)
    cutoff = split.split_date
    held_out = calibrate_held_out(candidate, frames.snapshots, frames.labels, cutoff, calibration_weeks=4,
                                  horizons=(4, 8))
    assert held_out.period_start == cutoff - pd.Timedelta(weeks=12)
    assert held_out.calibrator.horizons == (4, 8)
    assert 0.5 < held_out.validation["c_index"] <= 1.0
    # Whatever is recorded from the cut-off on cannot change what was learnt.
    before = frames.labels[pd.to_datetime(frames.labels["snapshot_date"]) < cutoff]
    blind = calibrate_held_out(candidate, frames.snapshots, before, cutoff, calibration_weeks=4, horizons=(4, 8))
    probe = pd.DataFrame({"p_4w": np.linspace(0, 0.2, 9), "p_8w": np.linspace(0, 0.4, 9)})
    assert blind.calibrator.transform(probe).equals(held_out.calibrator.transform(probe))

    model = candidate.fit(split.train_snapshots, split.train_labels).calibrate(held_out.calibrator)
    test = split.test_snapshots
    served = model.predict_risk(test, (4, 8))
    assert not np.allclose(served, model.predict_risk(test, (4, 8), calibrated=False))
    assert pickle.loads(pickle.dumps(model)).predict_risk(test, (4, 8)).equals(served)
