"""The published drivers name the synthetic sector's true causes (benchmarks/quality.py `causal_drivers`),
checked on the weekly run over the tiny sector; `continuity bench quality` reports the same on the default one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from continuity.benchmarks.quality import causal_drivers
from continuity.publication import Publications

# The tiny sector (160 positions, 3 years, seed 7) has too few leavers for the targets (>= 70% per
# cause, <= 10% not causes; `continuity bench quality` reports them on the default sector). Measured on it
# with the ridge prior (`cox.RIDGE_PRIOR`, at its most, 0.1, on these rows): sick leave 0.75, a temporary
# contract 1.00, starter with complex cases 1.00, not causes 0.33. No scale step, 0.94 with the fixed 0.01
# penalty before, is 0.00 there as on the default sector, whose true hazards without age give it no raise
# (`test_cause_ratios_recover_the_hazard_with_age_and_show_what_age_hides`). The bars sit below the figures
# so that only a real loss of cause-following drivers fails.
NAMED_AT_LEAST = {"sick_leave_13w": 0.5, "temporary_contract": 0.8, "starter_complex_cases": 0.8}
NOT_CAUSES_AT_MOST = 0.5


def test_published_drivers_name_the_true_causes_of_exposed_workers(weekly_run):
    settings, result = weekly_run
    week = Publications(settings.home / "published").current()
    risk = week.table("risk_scores")
    snapshot = week.table("worker_snapshot").set_index("worker_id").loc[risk.worker_id].reset_index()
    report = causal_drivers([json.loads(d) for d in risk.drivers], snapshot)
    for cause, least in NAMED_AT_LEAST.items():
        assert report["causes"][cause]["exposed"] > 0
        assert report["causes"][cause]["named"] >= least, cause
    assert report["not_causes"] <= NOT_CAUSES_AT_MOST


def test_the_share_counts_exposed_workers_whose_drivers_raise_the_cause_and_drivers_naming_none():
    snapshot = pd.DataFrame({
        "weeks_since_manager_change": [5.0, 5.0, 400.0], "is_temporary": [0, 1, 0], "caseload_ratio": [1.2, 0.8, 0.9],
        "sick_weeks_13w": [0.0, 0.0, 2.0], "weeks_since_scale_step": [10.0, 10.0, 200.0], "team_leavers_26w": [0, 0, 0],
        "months_to_funding_end": [60.0, 60.0, 60.0], "lost_tender": [0, 0, 0], "tenure_weeks": [300.0] * 3,
        "complex_share_starter": [0.0] * 3,
    })
    drivers = [
        [{"feature": "manager", "direction": "raises"}, {"feature": "caseload", "direction": "raises"}],
        [{"feature": "manager", "direction": "lowers"}, {"feature": "occupation", "direction": "raises"}],
        [{"feature": "sick_leave", "direction": "raises"}, {"feature": "overtime", "direction": "lowers"}],
    ]
    report = causal_drivers(drivers, snapshot)
    causes = report["causes"]
    assert (causes["new_manager_13w"]["exposed"], causes["new_manager_13w"]["named"]) == (2, 0.5)  # "lowers" is no hit
    assert (causes["caseload_above_norm"]["exposed"], causes["caseload_above_norm"]["named"]) == (1, 1.0)
    assert (causes["temporary_contract"]["exposed"], causes["temporary_contract"]["named"]) == (1, 0.0)
    assert causes["sick_leave_13w"]["named"] == 1.0 and causes["no_scale_step_3y"]["named"] == 0.0
    assert causes["funding_insecure"] == {"driver": "funding", "exposed": 0, "named": None}
    assert report["not_causes"] == pytest.approx(2 / 6)  # occupation and overtime
    assert report["shown"] == {"occupation": pytest.approx(1 / 3), "pay_scale": 0.0}


def test_cause_ratios_recover_the_hazard_with_age_and_show_what_age_hides():
    """Older workers leave less and more often lack a scale step: with age the fit finds the step's 1.15,
    without age (as a model sees the inputs) the step looks protective; a cause unrelated to age keeps its ratio."""
    from continuity.benchmarks.quality import cause_ratios

    rng = np.random.default_rng(3)
    n = 4000
    old = rng.random(n) < 0.4
    overdue = rng.random(n) < np.where(old, 0.8, 0.1)
    temporary = rng.random(n) < 0.2
    snapshot = pd.DataFrame({
        "worker_id": [f"w{i}" for i in range(n)], "snapshot_date": pd.Timestamp("2024-01-01"),
        "weeks_since_manager_change": 400.0, "is_temporary": temporary.astype(int), "caseload_ratio": 0.9,
        "sick_weeks_13w": 0.0, "weeks_since_scale_step": np.where(overdue, 200.0, 20.0), "team_leavers_26w": 0,
        "months_to_funding_end": 60.0, "lost_tender": 0, "tenure_weeks": 300.0, "complex_share_starter": 0.0,
        "age_band": np.where(old, "55+", "25-34"),
    })
    hazard = 0.002 * np.where(overdue, 1.15, 1.0) * np.where(old, 0.5, 1.0) * np.where(temporary, 1.3, 1.0)
    oracle = pd.DataFrame({"worker_id": snapshot.worker_id, "week_start": snapshot.snapshot_date,
                           "hazard_voluntary": hazard, "hazard_other": 0.0003})

    ratios = cause_ratios(snapshot, oracle)

    assert set(ratios) == {"temporary_contract", "no_scale_step_3y"}  # no one is exposed to the others
    assert ratios["no_scale_step_3y"]["with_age"] == pytest.approx(1.15)
    assert ratios["no_scale_step_3y"]["without_age"] < 1.0
    assert ratios["temporary_contract"]["with_age"] == pytest.approx(1.3)
    assert ratios["temporary_contract"]["without_age"] == pytest.approx(1.3, abs=0.02)
