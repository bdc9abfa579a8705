"""Per-horizon calibration: learnt on a held-out period, applied inside `predict_risk`."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from model_frames import default_frames, fitted
from scipy.special import logit

from continuity.models.calibration import HorizonCalibrator, calibrate_held_out
from continuity.models.cox import CoxForecaster
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


def curves(p_4w: np.ndarray, p_13w: np.ndarray) -> np.ndarray:
    """Incidence curves over weeks 0..20 through the given points, linear between them and flat after 13."""
    weeks = np.arange(21)
    return np.column_stack([
        np.interp(weeks, [0, 4, 13, 20], [0, a, b, b]) for a, b in zip(p_4w, p_13w)
    ]).T


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_brings_overstated_probabilities_to_the_observed_rate(method):
    risk, outcomes, left = overstated()
    calibrator = HorizonCalibrator(method).fit(risk, outcomes, (4, 13))
    fresh, fresh_outcomes, fresh_left = overstated(seed=1)
    calibrated = calibrator.warp(curves(fresh["p_4w"].to_numpy(), fresh["p_13w"].to_numpy()))
    before = expected_calibration_error(fresh["p_13w"], fresh_left)
    after = expected_calibration_error(calibrated[:, 13], fresh_left)
    assert before > 0.1 and after < 0.02
    # No leaver within 4 weeks: only 13 weeks is calibrated; week 4 is carried along the model's own curve.
    assert calibrator.horizons == (13,)
    raw = curves(fresh["p_4w"].to_numpy(), fresh["p_13w"].to_numpy())
    assert np.allclose(calibrated[:, 4], raw[:, 4] / raw[:, 13] * calibrated[:, 13])


def test_warped_curves_pass_through_the_calibrated_points_and_never_fall():
    rng = np.random.default_rng(3)
    p_4w = rng.uniform(0.0, 0.1, 500)
    raw = curves(p_4w, p_4w + rng.uniform(0.0, 0.2, 500))
    raw[:7, 4:] = raw[:7, [4]]  # flat from week 4 on: no baseline hazard there
    outcomes = pd.DataFrame({"duration": 30.0, "event": False, "exit_reason": "censored", "followed_weeks": 30.0},
                            index=range(500))
    leaves = rng.random(500) < 2 * raw[:, 13]
    outcomes.loc[leaves, ["event", "exit_reason"]] = [True, "voluntary"]
    outcomes.loc[leaves, "duration"] = rng.choice([3.0, 10.0], leaves.sum())
    risk = pd.DataFrame({"p_4w": raw[:, 4], "p_13w": raw[:, 13]})
    calibrator = HorizonCalibrator("platt").fit(risk, outcomes, (4, 13))
    assert calibrator.horizons == (4, 13)
    warped = calibrator.warp(raw)
    assert (warped[:, 0] == 0).all()
    assert (np.diff(warped, axis=1) >= -1e-12).all() and (warped <= 1).all()
    assert np.allclose(warped[:, 4], np.minimum(calibrator._apply(calibrator.maps_[4], raw[:, 4]), warped[:, 13]))
    assert np.allclose(warped[:, 13], np.maximum.accumulate(
        [calibrator._apply(calibrator.maps_[h], raw[:, h]) for h in (4, 13)])[1])
    # Past the last horizon the model's own increments carry on (flat here).
    assert np.allclose(warped[:, 20], warped[:, 13])


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
    probe = curves(np.linspace(0, 0.2, 9), np.linspace(0, 0.4, 9))
    assert np.array_equal(blind.calibrator.warp(probe), held_out.calibrator.warp(probe))

    model = candidate.fit(split.train_snapshots, split.train_labels).calibrate(held_out.calibrator)
    test = split.test_snapshots
    served = model.predict_risk(test, (4, 8))
    assert not np.allclose(served, model.predict_risk(test, (4, 8), calibrated=False))
    assert pickle.loads(pickle.dumps(model)).predict_risk(test, (4, 8)).equals(served)


def test_a_refitted_model_keeps_its_own_probabilities_and_takes_only_their_intervals_from_the_map():
    frames = default_frames()
    split, _ = fitted("cox")
    held_out = calibrate_held_out(CoxForecaster(), frames.snapshots, frames.labels, split.split_date,
                                  calibration_weeks=4, horizons=(4, 8))
    refit = CoxForecaster().fit(split.train_snapshots, split.train_labels)
    mapped = pickle.loads(pickle.dumps(refit)).calibrate(held_out.calibrator)
    own = pickle.loads(pickle.dumps(refit.calibrate(held_out.calibrator.for_refitted_model())))
    test = split.test_snapshots
    p, q = own.predict_risk(test, (4, 8)), mapped.predict_risk(test, (4, 8))
    pd.testing.assert_frame_equal(p, own.predict_risk(test, (4, 8), calibrated=False))
    assert not np.allclose(p, q)  # the map, learnt for the held-out fit, would have moved them
    np.testing.assert_array_equal(own.predict_incidence(test, range(13)),
                                  own.predict_incidence(test, range(13), calibrated=False))
    ours, theirs = own.predict_interval(test, (4, 8)), mapped.predict_interval(test, (4, 8))
    for h in (4, 8):
        column = f"p_{h}w"
        low, high = ours[f"{column}_low"], ours[f"{column}_high"]
        assert ((low <= p[column]) & (p[column] <= high)).all() and ((high - low) > 0).mean() > 0.99
        # the map's interval moved with it: as far below and above the own probability, on the logit scale
        for bound in ("low", "high"):
            np.testing.assert_allclose(logit(ours[f"{column}_{bound}"]) - logit(p[column]),
                                       logit(theirs[f"{column}_{bound}"]) - logit(q[column]), atol=2e-3)
    assert held_out.calibrator.maps_.keys() == own.calibrator_.maps_.keys()  # the held-out calibrator unchanged
    np.testing.assert_array_equal(held_out.calibrator.calibrated(q)["p_4w"], mapped.calibrator_.calibrated(q)["p_4w"])


def test_horizons_longer_than_the_held_out_training_followed_are_left_uncalibrated():
    """A model fitted on 10 weeks cannot tell 26 weeks from 10: a map lifting its 26-week probability to the
    held-out rate would then lift the refitted model's, which does follow 26 weeks, far above it."""
    frames = default_frames()
    first = pd.to_datetime(frames.labels["snapshot_date"]).min()
    cutoff = first + pd.Timedelta(weeks=10 + 4 + 26)
    held_out = calibrate_held_out(CoxForecaster(), frames.snapshots, frames.labels, cutoff, calibration_weeks=4,
                                  horizons=(4, 8, 26))
    assert held_out.period_start == first + pd.Timedelta(weeks=10)
    assert held_out.calibrator.horizons == (4, 8)
    longer = calibrate_held_out(CoxForecaster(), frames.snapshots, frames.labels,
                                cutoff + pd.Timedelta(weeks=20), calibration_weeks=4, horizons=(4, 8, 26))
    assert longer.calibrator.horizons == (4, 8, 26)


def test_a_large_weeks_platt_intervals_taken_on_a_grid_equal_the_exact_percentiles():
    from continuity.models.calibration import INTERVAL_GRID, INTERVAL_LEVEL

    risk, outcomes, _ = overstated()
    calibrator = HorizonCalibrator("platt").fit(risk, outcomes, (13,))
    raw = np.random.default_rng(2).beta(0.8, 6, 5 * INTERVAL_GRID)
    calibrated = calibrator.calibrated(pd.DataFrame({"p_13w": raw}))["p_13w"].to_numpy()

    low, high = calibrator.interval(raw, calibrated, 13)

    tail = (1 - INTERVAL_LEVEL) / 2
    exact = np.quantile(calibrator._apply_each(calibrator.resampled_[13], raw), [tail, 1 - tail], axis=1)
    assert np.abs(low - np.minimum(exact[0], calibrated)).max() < 1e-4
    assert np.abs(high - np.maximum(exact[1], calibrated)).max() < 1e-4
    assert (high - low).mean() > 0.005  # intervals with a width to be wrong about
