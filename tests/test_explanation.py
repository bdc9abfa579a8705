"""Drivers people can act on: sentences with the worker's figure, hazard ratios that multiply exactly, health flagged."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_frames import fitted

from continuity.features.feature_spec import DERIVED, MODEL_FEATURES
from continuity.models.explanation import BY_DRIVER, MATERIAL

NAMES = ["cox", "gradient_boosting"]


@pytest.mark.parametrize("name", NAMES)
def test_hazard_ratios_multiply_to_the_relative_hazard(name):
    split, forecaster = fitted(name)
    rows = split.test_snapshots.head(400)
    explained = forecaster.explain(rows)
    relative = forecaster.relative_hazard(rows)
    product = np.array([math.prod(d["hazard_ratio"] for d in e.drivers) * e.other_factors for e in explained])
    assert np.allclose(product, relative, rtol=1e-6, atol=0)
    assert np.allclose([e.relative_hazard for e in explained], relative, rtol=1e-6, atol=0)
    # Each ratio is its contribution's exp, and the other factors are no dumping ground: the
    # contributions alone come within float precision of the relative hazard.
    for e in explained:
        assert all(math.isclose(d["hazard_ratio"], math.exp(d["contribution"])) for d in e.drivers)
    # The relative hazard is the model's own: between two workers it is the ratio of their voluntary hazards.
    cumulative = -np.log(forecaster.predict_cause_specific_survival(rows, [26])[:, 0])
    assert np.allclose(relative / relative[0], cumulative / cumulative[0], rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_three_actionable_drivers_then_up_to_two_others_each_material(name):
    split, forecaster = fitted(name)
    explained = forecaster.explain(split.test_snapshots.head(400))
    for e in explained:
        flags = [d["actionable"] for d in e.drivers]
        assert flags == sorted(flags, reverse=True), "actionable drivers come first"
        assert sum(flags) <= 3 and len(flags) - sum(flags) <= 2
        for group in (True, False):
            sizes = [abs(d["contribution"]) for d in e.drivers if d["actionable"] is group]
            assert sizes == sorted(sizes, reverse=True)
        assert all(abs(d["contribution"]) >= math.log(MATERIAL) for d in e.drivers)
        assert all(d["actionable"] == BY_DRIVER[d["feature"]].actionable for d in e.drivers)
        assert all(d["health"] == (d["feature"] == "sick_leave") for d in e.drivers)
        assert all(d["direction"] == ("raises" if d["contribution"] > 0 else "lowers") for d in e.drivers)
    assert sum(len(e.drivers) for e in explained) >= 3 * len(explained), "most workers have several drivers"


def test_a_driver_says_the_workers_own_figure_against_a_reference():
    split, forecaster = fitted("cox")
    rows = split.test_snapshots
    busy = rows[(rows.caseload_ratio.round(2) == 1.5)].head(5)
    assert len(busy)
    for (_, row), e in zip(busy.iterrows(), forecaster.explain(busy, actionable=20, others=20)):
        caseload = next(d for d in e.drivers if d["feature"] == "caseload")
        assert caseload["label"].startswith("caseload 50% above the norm of 12 per fte")
        assert f"{row.caseload:.0f} clients at {row.fte:g} fte" in caseload["label"]
        assert caseload["direction"] == "raises" and caseload["hazard_ratio"] > 1
    temporary = rows[rows.is_temporary & rows.weeks_to_contract_end.between(2, 8)].head(3)
    for (_, row), e in zip(temporary.iterrows(), forecaster.explain(temporary, actionable=20, others=20)):
        contract = next(d for d in e.drivers if d["feature"] == "contract")
        assert contract["label"] == f"a temporary contract that ends in {row.weeks_to_contract_end:.0f} weeks"


def test_indicators_follow_their_source_so_a_changed_snapshot_changes_them():
    split, forecaster = fitted("cox")
    assert {"caseload_above_norm", "manager_changed_13w", "scale_step_overdue", "sick_leave_13w"} <= set(MODEL_FEATURES)
    rows = split.test_snapshots.head(200)
    raw = forecaster.encoder_.raw(rows)
    assert (raw.caseload_above_norm == (rows.caseload_ratio > 1)).all()
    at_norm = forecaster.encoder_.raw(rows.assign(caseload_ratio=rows.caseload_ratio.clip(upper=1.0)))
    assert not at_norm.caseload_above_norm.any()
    # A snapshot never stores an indicator; a stale one it happened to carry is recomputed, not trusted.
    stale = forecaster.encoder_.raw(rows.assign(caseload_above_norm=1.0))
    assert (stale.caseload_above_norm == raw.caseload_above_norm).all()
    assert set(forecaster.example().columns).isdisjoint(DERIVED)
