"""The fairness audit's figures and the champion gate's fairness bars, on a population with known probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairness_frames import HORIZON, PEOPLE, audit, distorted, population
from sklearn.metrics import roc_auc_score

from continuity.models.fairness import MIN_LEAVERS, fairness_audit, proxy_check, weighted_auc
from continuity.models.promotion import fairness_refusals, promotion_allowed, refusals

CURRENT = {"c_index": 0.64, "ece_26w": 0.015}


@pytest.fixture(scope="module")
def honest() -> pd.DataFrame:
    return audit(population()[2])


def test_the_bootstrap_auc_with_unit_weights_is_roc_auc():
    rng = np.random.default_rng(1)
    score = np.round(rng.random(500), 2)  # ties, which count half
    left = (rng.random(500) < score).astype(float)
    order = np.argsort(score, kind="stable")
    levels = np.searchsorted(np.unique(score), score[order])
    positive = np.bincount(levels, left[order])[None, :]
    negative = np.bincount(levels, 1 - left[order])[None, :]
    assert weighted_auc(positive, negative)[0] == pytest.approx(roc_auc_score(left, score), abs=1e-12)


def test_a_calibrated_model_is_judged_ok_in_every_group_and_its_intervals_hold_the_truth(honest):
    outcomes, groups, p = population()
    assert set(honest["attribute"]) == {"gender", "age_band", "contract_type", "occupation"}
    assert (honest["status"] == "ok").all()
    assert ((honest["oe_low"] < 1) & (honest["oe_high"] > 1)).all()
    assert ((honest["auc_low"] < honest["auc"]) & (honest["auc"] < honest["auc_high"])).all()
    women = groups["gender"].eq("f")
    row = honest.query("attribute == 'gender' and group == 'f'").iloc[0]
    assert row["n"] == women.sum() and row["leavers"] == outcomes["event"][women].sum()
    assert row["auc"] == pytest.approx(roc_auc_score(outcomes["event"][women], p[women]))
    assert row["observed_expected"] == pytest.approx(outcomes["event"][women].sum() / p[women].sum())
    flagged = p >= p.quantile(0.9, interpolation="higher")  # one week: the list is the top decile of everyone
    assert row["flag_rate"] == pytest.approx(flagged[women].mean(), abs=1e-3)
    assert row["recall"] == pytest.approx(flagged[women & outcomes["event"]].mean(), abs=1e-2)


def test_a_group_with_too_few_leavers_is_insufficient_not_judged():
    outcomes, groups, p = population()
    groups["gender"] = np.where(np.arange(PEOPLE) < 100, "x", groups["gender"])
    result = fairness_audit(outcomes, pd.DataFrame({f"p_{HORIZON}w": 3 * p}), groups, pd.Series(range(PEOPLE)))
    x = result.query("attribute == 'gender' and group == 'x'").iloc[0]
    assert x["leavers"] < MIN_LEAVERS and x["status"] == "insufficient"
    assert (result.query("attribute == 'gender' and group != 'x'")["status"] == "unreliable").all()


def test_a_candidate_overstating_one_gender_is_refused_and_its_undistorted_twin_passes(honest):
    p = population()[2]
    doubled = audit(distorted(p, "gender", "f", 2.0))
    found = refusals(CURRENT, CURRENT, fairness=doubled, incumbent_fairness=honest)
    assert any("gender 'f' at 26 weeks: observed/expected 0.5" in reason for reason in found), found
    assert not promotion_allowed(CURRENT, CURRENT, fairness=doubled, incumbent_fairness=honest)
    assert promotion_allowed(CURRENT, CURRENT, fairness=honest, incumbent_fairness=honest)
    assert fairness_refusals(honest, None) == []


def test_age_band_and_occupation_are_judged_against_the_champion_only(honest):
    p = population()[2]
    skewed = audit(distorted(p, "age_band", "45-54", 1.6))
    assert fairness_refusals(skewed, None) == []  # no absolute bar: age drives hazards without being an input
    found = fairness_refusals(skewed, honest)
    assert found and all(reason.startswith("age_band '45-54'") for reason in found), found
    assert fairness_refusals(skewed, skewed) == []  # no worse than a champion as skewed


def test_a_wide_auc_gap_is_refused_unless_the_champion_was_as_wide(honest):
    outcomes, groups, p = population()
    rng = np.random.default_rng(5)
    noisy = p.where(groups["contract_type"].eq("permanent"), pd.Series(rng.permutation(p.to_numpy())))
    blurred = audit(noisy * p.sum() / noisy.sum())  # temporary contracts ranked at random, sizes kept
    found = fairness_refusals(blurred, honest)
    assert any(reason.startswith("contract_type at 26 weeks: AUC gap") for reason in found), found
    assert not any("AUC gap" in reason for reason in fairness_refusals(blurred, blurred))


def test_the_proxy_check_finds_an_input_standing_in_for_gender():
    rng = np.random.default_rng(0)
    n = 600
    gender = rng.choice(["f", "m"], n)
    snapshots = pd.DataFrame({
        "worker_id": [f"W{i}" for i in range(n)], "snapshot_date": pd.Timestamp("2024-01-01"),
        "gender": gender, "age_band": rng.choice(["<25", "25-34", "35-44"], n),
        "fte": np.where(gender == "f", 0.7, 1.0) + rng.normal(0, 0.05, n), "caseload": rng.normal(12, 3, n),
    })
    proxies = proxy_check(snapshots, ["fte", "caseload"])
    assert proxies["gender"] > 0.95
    assert abs(proxies["age_band"] - 0.5) < 0.1
