"""Evaluation rules, the oracle ceiling and honest model selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from model_frames import HOLDOUT_WEEKS, candidates, default_frames, fitted

from continuity.models.metrics import Oracle, evaluate
from continuity.models.split import thin
from continuity.models.training import train_and_select

MONDAY = pd.Timestamp("2024-01-01")
LATER = MONDAY + pd.Timedelta(weeks=22)


def _hand_built():
    """Seven rows whose status at 13 and 26 weeks is worked out by hand; the data end is MONDAY + 30 weeks."""
    rows = pd.DataFrame(
        [
            # worker, date, weeks, exit, true hazard
            ("a", MONDAY, 5, "voluntary", 0.5),  # left within 13 and 26
            ("b", MONDAY, 20, "voluntary", 0.02),  # stayed past 13, left within 26
            ("c", MONDAY, 3, "involuntary", 0.1),  # dismissed: a known "did not leave voluntarily"
            ("d", MONDAY, 30, "censored", 0.05),  # followed to the data end
            ("e", MONDAY, 2, "censored", 0.9),  # lost to follow-up early: unknown
            ("f", LATER, 8, "censored", 0.01),  # only 8 weeks of data left: not followed for 13
            ("g", LATER, 1, "voluntary", 0.001),  # a leaver, but colleagues like f cannot count: excluded
        ],
        columns=["worker_id", "snapshot_date", "duration_weeks", "exit_reason", "hazard_voluntary"],
    )
    oracle = rows.rename(columns={"snapshot_date": "week_start"}).assign(hazard_other=0.0)
    return rows[["worker_id", "snapshot_date"]], rows.drop(columns="hazard_voluntary"), oracle


def test_status_at_a_horizon_is_known_only_where_the_data_can_tell():
    snapshots, labels, oracle = _hand_built()
    metrics = evaluate(Oracle(oracle), snapshots, labels)
    assert metrics["n_rows"] == 7 and metrics["n_events"] == 3
    assert metrics["n_known_13w"] == 4 and metrics["n_known_26w"] == 4
    assert metrics["auc_13w"] == 1.0  # a over b, c, d; e and g would each spoil it
    assert metrics["auc_26w"] == 0.5  # a beats c and d, b beats neither


def test_oracle_needs_a_hazard_for_every_test_row():
    snapshots, labels, oracle = _hand_built()
    with pytest.raises(ValueError, match="no oracle hazard"):
        evaluate(Oracle(oracle.iloc[1:]), snapshots, labels)


@pytest.mark.parametrize("name", ["cox", "gradient_boosting"])
def test_models_approach_but_do_not_beat_the_oracle(name):
    split, forecaster = fitted(name)
    # The 12 test weeks follow no row for 13 weeks, so shorter horizons are scored here.
    model = evaluate(forecaster, split.test_snapshots, split.test_labels, horizons=(4, 8))
    truth = evaluate(Oracle(default_frames().oracle), split.test_snapshots, split.test_labels, horizons=(4, 8))
    assert model["n_rows"] == truth["n_rows"] == len(split.test_snapshots)
    assert model.keys() == truth.keys()  # the oracle is measured by the same code, figure for figure
    assert 0.7 < model["c_index"] <= truth["c_index"] + 0.01
    assert 0.7 < model["auc_8w"] <= truth["auc_8w"] + 0.01
    # Calibration in the large: the mean forecast is near the share that actually left.
    assert model["predicted_8w"] == pytest.approx(model["observed_8w"], abs=0.05)
    assert 0 < model["brier_8w"] < model["observed_8w"]


def test_the_candidate_is_chosen_on_validation_and_reported_on_test():
    frames = default_frames()
    selection = train_and_select(
        frames.snapshots, frames.labels, holdout_weeks=HOLDOUT_WEEKS, oracle=frames.oracle,
        candidates=candidates(), horizons=(4, 8),
    )
    assert set(selection.validation) == set(selection.test) == {"cox", "gradient_boosting"}
    assert selection.chosen == max(selection.validation, key=lambda n: selection.validation[n]["c_index"])
    assert selection.forecaster is selection.forecasters[selection.chosen]
    # The held-out stretch that chose and calibrated ends where the test weeks begin.
    assert selection.validation_date + pd.Timedelta(weeks=8 + 13) == selection.test_date
    assert all(f.calibrator_.horizons for f in selection.forecasters.values())
    # Refitted on the whole training period: every thinned week before the test date.
    dates = pd.to_datetime(frames.snapshots["snapshot_date"])
    training = thin(frames.snapshots[dates < selection.test_date], 4)
    assert all(f.n_training_rows_ == len(training) for f in selection.forecasters.values())
    assert selection.oracle["c_index"] >= max(m["c_index"] for m in selection.test.values()) - 0.01
    assert all(np.isfinite(m["auc_8w"]) for m in selection.test.values())
