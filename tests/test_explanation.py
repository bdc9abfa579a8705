"""Drivers people can act on: sentences with the worker's figure, hazard ratios that multiply exactly, health flagged."""

from __future__ import annotations

import itertools
import json
import math
import re
from math import factorial

import numpy as np
import pytest
import xgboost as xgb
from model_frames import fitted

from continuity.features.feature_spec import DERIVED, MODEL_FEATURES
from continuity.models.attribution import linear_group_effects, tree_group_effects
from continuity.models.explanation import BY_DRIVER, MATERIAL, WEEKS_CAP

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


def _shapley_by_definition(margin, worker, reference, groups, n_groups):
    """Each group's Shapley value from every coalition of groups at the worker's values, the rest at the reference."""
    values = np.zeros(n_groups)
    for coalition in itertools.product([False, True], repeat=n_groups):
        size, value = sum(coalition), margin(np.where(np.array(coalition)[groups], worker, reference)[None, :])[0]
        for i, member in enumerate(coalition):
            if member:
                values[i] += value * factorial(size - 1) * factorial(n_groups - size) / factorial(n_groups)
            else:
                values[i] -= value * factorial(size) * factorial(n_groups - size - 1) / factorial(n_groups)
    return values


@pytest.mark.parametrize("depth", [2, 4])  # 4: more splits than one lookup pattern takes, so leaf by leaf
def test_tree_attributions_are_the_shapley_values_of_groups_against_the_reference(depth):
    rng = np.random.default_rng(5)
    design = rng.normal(size=(600, 6)).astype(np.float32)
    design[rng.random(600) < 0.2, 3] = np.nan  # missing values take the split's default way
    target = design[:, 0] * design[:, 2] + np.where(np.isnan(design[:, 3]), 1.0, design[:, 3]) + (design[:, 5] > 0)
    booster = xgb.train({"max_depth": depth, "eta": 0.3, "nthread": 1, "seed": 0},
                        xgb.DMatrix(design, label=target), num_boost_round=20)
    groups, n_groups = np.array([0, 0, 1, 2, 2, 3]), 4  # a group of two columns is moved as one
    references, weights = design[[7, 8]], np.array([0.25, 0.75])  # a reference worker as a mix of two points
    workers = design[:6]

    def margin(rows):
        return booster.predict(xgb.DMatrix(rows), output_margin=True).astype("float64")

    effects = tree_group_effects(booster, workers, references, weights, groups, n_groups)
    for worker, found in zip(workers, effects):
        expected = sum(w * _shapley_by_definition(margin, worker, r, groups, n_groups) for w, r in zip(weights, references))
        assert np.allclose(found, expected, atol=1e-5)
    assert np.allclose(effects.sum(axis=1), margin(workers) - weights @ margin(references), atol=1e-5)
    # A worker who shares a group with every reference point owes nothing to it.
    references[:, :2] = workers[0, :2]
    shared = workers.copy()
    shared[:, :2] = workers[0, :2]
    assert np.all(tree_group_effects(booster, shared, references, weights, groups, n_groups)[:, 0] == 0)


def test_the_linear_attribution_is_each_groups_share_of_the_linear_predictor():
    delta = np.array([[1.0, 2.0, -1.0], [0.0, 0.5, 3.0]])
    effects = linear_group_effects(delta, np.array([0.5, 0.25, 2.0]), np.array([1, 1, 0]), 2)
    assert np.allclose(effects, [[-2.0, 1.0], [6.0, 0.125]])


@pytest.mark.parametrize("name", NAMES)
def test_a_driver_the_worker_does_not_have_is_never_shown(name):
    """Against the reference worker a cause the worker is not exposed to has ratio 1 exactly, whatever
    the model learnt from its columns elsewhere: permanent staff are never told about their contract,
    workers without any sick leave in the year never about sick leave."""
    split, forecaster = fitted(name)
    rows = split.test_snapshots.head(400)
    # As a snapshot records it (features/snapshot_sql.py), a permanent contract ends in WEEKS_CAP weeks.
    rows = rows.assign(weeks_to_contract_end=rows.weeks_to_contract_end.fillna(WEEKS_CAP))
    explained = forecaster.explain(rows, actionable=30, others=30)
    unexposed = {
        "contract": ~rows.is_temporary.astype(bool).to_numpy(),
        "sick_leave": (rows[["sick_weeks_13w", "sick_weeks_52w", "sick_spells_52w"]] == 0).all(axis=1).to_numpy(),
    }
    for driver, mask in unexposed.items():
        assert mask.any() and (~mask).any()
        shown = np.array([any(d["feature"] == driver for d in e.drivers) for e in explained])
        assert not shown[mask].any(), driver
        assert shown[~mask].any(), f"{driver} is shown to some exposed worker"


@pytest.mark.parametrize("name", NAMES)
def test_published_drivers_are_the_drivers_as_json(name):
    split, forecaster = fitted(name)
    explained = forecaster.explain(split.test_snapshots.head(300))
    published = explained.drivers_json()
    assert [json.loads(text) for text in published] == [e.drivers for e in explained]
    assert explained == forecaster.explain(split.test_snapshots.head(300))


@pytest.mark.parametrize("name", NAMES)
def test_each_sentence_is_its_message_with_its_figures_so_a_page_can_translate_it(name):
    split, forecaster = fitted(name)
    drivers = [d for e in forecaster.explain(split.test_snapshots.head(300)) for d in e.drivers]

    assert len({d["message"] for d in drivers}) >= 8  # many kinds of sentence, not one
    assert all(d["label"] == d["message"] % d["values"] for d in drivers)
    # every placeholder of the message has its figure, and no figure is left over
    assert all(set(re.findall(r"%\((\w+)\)s", d["message"])) == set(d["values"]) for d in drivers)
    assert not any(figure in d["message"] for d in drivers for figure in d["values"].values() if figure.isdigit()
                   and len(figure) > 1)  # the worker's own figures are not baked into the message
