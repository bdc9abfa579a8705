"""Forecasters against a synthetic sector whose true hazard is known."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from model_frames import default_frames, fitted

from continuity.models.cox import CoxForecaster, ridge_penalizer
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.metrics import evaluate
from continuity.models.split import thin, time_split
from continuity.models.targets import attach_labels

NAMES = ["cox", "gradient_boosting"]
# The drivers (continuity.models.explanation) that carry the generator's true causes: caseload ratio,
# sick weeks and temporary contracts.
TRUE_DRIVERS = {"caseload", "sick_leave", "contract"}


@pytest.mark.parametrize("name", NAMES)
def test_held_out_ranking_recovers_true_hazard(name):
    split, forecaster = fitted(name)
    assert evaluate(forecaster, split.test_snapshots, split.test_labels)["c_index"] > 0.7


@pytest.mark.parametrize("name", NAMES)
def test_probabilities_are_probabilities_and_grow_with_horizon(name):
    split, forecaster = fitted(name)
    risk = forecaster.predict_risk(split.test_snapshots, horizons=(4, 13, 26))
    assert list(risk.columns) == ["p_4w", "p_13w", "p_26w"]
    assert risk.notna().all().all()
    assert ((risk >= 0) & (risk <= 1)).all().all()
    assert (risk["p_4w"] <= risk["p_13w"]).all() and (risk["p_13w"] <= risk["p_26w"]).all()
    # Not a constant: the spread must be wide enough to rank a team.
    assert risk["p_13w"].quantile(0.9) > 2 * risk["p_13w"].quantile(0.1)


@pytest.mark.parametrize("name", NAMES)
def test_incidence_curves_start_at_zero_never_fall_and_match_the_risk_columns(name):
    split, forecaster = fitted(name)
    rows = split.test_snapshots.head(200)
    incidence = forecaster.predict_incidence(rows, weeks=range(0, 53))
    assert incidence.shape == (200, 53)
    assert (incidence[:, 0] == 0).all()
    assert (np.diff(incidence, axis=1) >= -1e-12).all()
    risk = forecaster.predict_risk(rows, horizons=(13, 26))
    assert np.allclose(risk.to_numpy(), incidence[:, [13, 26]])


@pytest.mark.parametrize("name", NAMES)
def test_other_exits_compete_instead_of_being_censored(name):
    """A dismissed worker cannot resign: the incidence stays below the cause-specific probability."""
    split, forecaster = fitted(name)
    rows = split.test_snapshots.head(200)
    assert forecaster.other_ is not None and forecaster.n_other_exits_ > 0
    incidence = forecaster.predict_incidence(rows, weeks=[26])[:, 0]
    cause_specific = 1 - forecaster.predict_cause_specific_survival(rows, weeks=[26])[:, 0]
    assert (incidence < cause_specific).all()
    # With the other hazard's baseline removed, the two coincide up to the weekly grid.
    lone = copy.deepcopy(forecaster)
    lone.other_ = None
    assert np.allclose(lone.predict_incidence(rows, weeks=[26])[:, 0], cause_specific, rtol=1e-9)


def test_only_voluntary_leavers_make_no_other_hazard():
    frames = default_frames()
    labels = frames.labels.assign(exit_reason=frames.labels["exit_reason"].replace("involuntary", "censored"))
    split = time_split(frames.snapshots, labels, 12)
    forecaster = CoxForecaster().fit(split.train_snapshots, split.train_labels)
    assert forecaster.other_ is None and forecaster.n_other_exits_ == 0
    assert (forecaster.predict_risk(split.test_snapshots.head(50)) > 0).all().all()


@pytest.mark.parametrize("name", NAMES)
def test_risk_rows_follow_the_input_index(name):
    split, forecaster = fitted(name)
    rows = split.test_snapshots.sample(50, random_state=1)
    shuffled = forecaster.predict_risk(rows)
    assert shuffled.index.equals(rows.index)
    pd.testing.assert_frame_equal(shuffled.sort_index(), forecaster.predict_risk(rows.sort_index()))


@pytest.mark.parametrize("name", NAMES)
def test_explanations_name_the_true_drivers_of_high_risk_rows(name):
    split, forecaster = fitted(name)
    oracle = default_frames().oracle.loc[split.test_snapshots.index, "hazard_voluntary"]
    high_risk = split.test_snapshots[oracle >= oracle.quantile(0.9)]
    drivers = [e.drivers for e in forecaster.explain(high_risk)]
    assert len(drivers) == len(high_risk) and all(row for row in drivers)
    strongest = [max(row, key=lambda d: abs(d["contribution"])) for row in drivers]
    named = np.mean([d["feature"] in TRUE_DRIVERS and d["direction"] == "raises" for d in strongest])
    assert named >= 0.9


def test_explanation_labels_are_plain_words():
    split, forecaster = fitted("gradient_boosting")
    rows = split.test_snapshots
    busy = rows[(rows["caseload_ratio"] > 1.5) & (rows["sick_weeks_13w"] == 0) & ~rows["is_temporary"]]
    caseload = [d for e in forecaster.explain(busy) for d in e.drivers if d["feature"] == "caseload"]
    assert caseload and all(d["direction"] == "raises" for d in caseload)
    assert all(" above the norm of 12 per fte (" in d["label"] for d in caseload)
    temporary = forecaster.explain(rows[rows["is_temporary"]].head(20), actionable=30, others=30)
    labels = {d["label"].split(" that ends")[0] for e in temporary for d in e.drivers if d["feature"] == "contract"}
    assert labels == {"a temporary contract"}


@pytest.mark.parametrize("name", NAMES)
def test_protected_attributes_do_not_move_the_forecast(name):
    split, forecaster = fitted(name)
    rows = split.test_snapshots.head(100)
    other = rows.assign(gender="x", age_band="55+")
    pd.testing.assert_frame_equal(forecaster.predict_risk(rows), forecaster.predict_risk(other))
    explained = {d["feature"] for e in forecaster.explain(rows, actionable=30, others=30) for d in e.drivers}
    assert not explained & {"gender", "age_band"}


@pytest.mark.parametrize("name", NAMES)
def test_unseen_occupation_is_scored_not_refused(name):
    split, forecaster = fitted(name)
    rows = split.test_snapshots.head(5).assign(occupation="kwartiermaker")
    risk = forecaster.predict_risk(rows)
    assert risk.notna().all().all()


def test_training_refuses_snapshots_without_labels():
    frames = default_frames()
    with pytest.raises(ValueError, match="no label"):
        CoxForecaster().fit(frames.snapshots, frames.labels.iloc[:-100])  # the latest week is always kept


def test_thinning_trains_on_fewer_rows():
    frames = default_frames()
    rows = frames.snapshots[pd.to_datetime(frames.snapshots["snapshot_date"]) < "2023-04-01"]
    every_week = CoxForecaster(thin_every=1).fit(rows, frames.labels)
    every_fourth = CoxForecaster(thin_every=4).fit(rows, frames.labels)
    assert every_week.n_training_rows_ == len(rows)
    assert every_fourth.n_training_rows_ < len(rows) / 3



def test_cox_keeps_its_coefficients_not_the_fitter_and_scores_as_lifelines_does():
    split, forecaster = fitted("cox")
    learner = forecaster.voluntary_.learner
    assert not isinstance(learner, CoxPHFitter)  # the fitter would keep every training row
    rows = thin(split.train_snapshots, forecaster.thin_every)
    labels = attach_labels(rows, split.train_labels)
    design = forecaster.encoder_.transform(rows)
    window = forecaster.follow_up_weeks  # the learner sees each row's first weeks (Forecaster._fit_cause)
    duration, event = labels["duration"].to_numpy(), labels["event"].to_numpy()
    full = CoxPHFitter(penalizer=ridge_penalizer(forecaster.penalizer, len(design))).fit(
        design.assign(_duration=np.minimum(duration, window), _event=event & (duration <= window)),
        duration_col="_duration", event_col="_event")
    scored = forecaster.encoder_.transform(split.test_snapshots)
    np.testing.assert_allclose(forecaster._log_hazard(learner, scored), full.predict_log_partial_hazard(scored),
                               rtol=1e-9, atol=1e-12)


def test_the_ridge_penalty_is_a_fixed_prior_so_it_weighs_less_as_the_rows_grow():
    assert ridge_penalizer(None, 24_000) == pytest.approx(0.05)
    assert ridge_penalizer(None, 80_000) == pytest.approx(0.015)
    assert ridge_penalizer(None, 600_000) == 0.01  # at least RIDGE_MIN on a sector
    assert ridge_penalizer(None, 3_000) == 0.1  # at most RIDGE_MAX on a few hundred workers
    assert ridge_penalizer(0.3, 10) == 0.3  # a penalizer given is used as given
    # the gradient boosting's linear start is the same penalised Cox fit
    split, forecaster = fitted("gradient_boosting")
    rows = thin(split.train_snapshots, forecaster.thin_every)
    labels = attach_labels(rows, split.train_labels)
    design = forecaster.encoder_.transform(rows)
    window = forecaster.follow_up_weeks
    duration, event = labels["duration"].to_numpy(), labels["event"].to_numpy()
    penalizer = ridge_penalizer(None, len(design))
    starts = {given: GradientBoostingForecaster(penalizer=given)._linear_start(
        design, np.minimum(duration, window), event & (duration <= window)).coefficients for given in (penalizer, 0.01)}
    np.testing.assert_allclose(forecaster.voluntary_.learner.start.coefficients, starts[penalizer])
    assert np.abs(starts[0.01]).sum() > np.abs(starts[penalizer]).sum()  # the old fixed 0.01 shrank these rows less
