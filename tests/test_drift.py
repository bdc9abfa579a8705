"""The weekly drift check: PSI and tests of inputs against the training weeks, realised against expected leavers."""

from __future__ import annotations

import json
import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from continuity.models.drift import (
    FLOOR, PSI_ALERT, REFERENCE_FILE, feature_drift, oe_interval, outcome_drift, psi, reference,
)
from continuity.models.encoding import FeatureEncoder
from continuity.models.registry import load_champion, logged_text
from continuity.publication import Publications

FEATURES = ("caseload", "fte", "is_temporary", "occupation", "weeks_to_contract_end")


def test_the_psi_of_two_hand_made_histograms_equals_the_formula():
    # shares 0.25/0.25/0.5 against 0.5/0.25/0.25: 0.25 ln 2 + 0 + (-0.25) ln(1/2) = 0.5 ln 2
    assert psi(np.array([25, 25, 50]), np.array([50, 25, 25])) == pytest.approx(0.5 * math.log(2), abs=1e-12)
    # an empty bin counts as FLOOR, not as zero (which would make the index infinite)
    e, a = np.array([0.5, 0.5, FLOOR]), np.array([0.4, 0.4, 0.2])
    assert psi(np.array([1, 1, 0]), a) == pytest.approx(float(np.sum((a - e) * np.log(a / e))), abs=1e-12)
    assert psi(np.array([3, 1]), np.array([3, 1])) == 0.0


def _workers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    temporary = rng.random(n) < 0.2
    fte = rng.choice([0.6, 0.8, 1.0], size=n)
    return pd.DataFrame({
        "caseload": rng.poisson(12 * fte).astype(float), "fte": fte, "is_temporary": temporary,
        "occupation": rng.choice(["maatschappelijk werker", "Wmo-consulent", "jongerenwerker"], size=n),
        "weeks_to_contract_end": np.where(temporary, rng.integers(1, 52, size=n), np.nan),
    })


@pytest.fixture(scope="module")
def training_reference() -> tuple[FeatureEncoder, dict]:
    training = _workers(20_000, seed=1)
    encoder = FeatureEncoder(FEATURES).fit(training)
    return encoder, reference(encoder, training)


def test_an_unchanged_week_raises_no_alert(training_reference):
    encoder, summary = training_reference
    checks = feature_drift(summary, encoder.raw(_workers(1_500, seed=2)))
    assert set(checks["feature"]) == set(FEATURES)
    assert dict(zip(checks["feature"], checks["test"])) == {
        "caseload": "ks", "fte": "ks", "weeks_to_contract_end": "ks", "is_temporary": "chi2", "occupation": "chi2"}
    assert not checks["alert"].any(), checks
    assert (checks["psi"] < 0.05).all()


def test_shifting_caseload_by_30_percent_raises_a_drift_alert(training_reference):
    encoder, summary = training_reference
    week = _workers(1_500, seed=2)
    checks = feature_drift(summary, encoder.raw(week.assign(caseload=week.caseload * 1.3))).set_index("feature")
    assert checks.loc["caseload", "alert"] and checks.loc["caseload", "psi"] >= PSI_ALERT
    assert checks.loc["caseload", "p_value"] < 1e-6
    assert "caseload" in checks.loc["caseload", "reason"]
    assert not checks.drop(index="caseload")["alert"].any()


def test_a_category_the_training_never_saw_counts_as_drift(training_reference):
    encoder, summary = training_reference
    week = _workers(1_500, seed=3).assign(occupation="opbouwwerker")
    checks = feature_drift(summary, encoder.raw(week)).set_index("feature")
    assert checks.loc["occupation", "alert"] and checks.loc["occupation", "p_value"] < 1e-6


def test_realised_against_expected_leavers_per_horizon_once_the_horizon_has_passed():
    con = duckdb.connect()
    weeks = [date(2024, 1, 1), date(2024, 1, 8), date(2024, 6, 3)]
    risk = pd.DataFrame([{"score_date": t, "worker_id": f"W{i}", "p_13w": 0.05, "p_26w": 0.1, "p_52w": 0.2}
                         for t in weeks for i in range(40)])
    # W0-W2 left voluntarily within 13 weeks of 8 January, W3 within 26 weeks, W4 was dismissed
    workers = pd.DataFrame({
        "worker_id": [f"W{i}" for i in range(40)],
        "termination_date": [date(2024, 2, 1)] * 3 + [date(2024, 5, 1), date(2024, 2, 1)] + [None] * 35,
        "termination_reason": ["voluntary"] * 4 + ["involuntary"] + [None] * 35,
    })
    con.register("r", risk)
    con.register("w", workers)
    con.execute("create table risk_scores as select * from r")
    con.execute("create table workers as select * from w")
    checks = outcome_drift(con, data_end=date(2024, 7, 15)).set_index("horizon")
    # 13 weeks: the 8 January week is the latest one covered (3 June is not)
    assert checks.loc[13, "cohort_date"] == pd.Timestamp("2024-01-08")
    assert checks.loc[13, "expected"] == pytest.approx(40 * 0.05)
    assert checks.loc[13, "realised"] == 3
    assert checks.loc[13, "observed_expected"] == pytest.approx(1.5)
    # 3 leavers where 2 were expected is chance: the interval (Garwood's 0.818-7.754 over 2) holds 0.8-1.25
    assert (checks.loc[13, "oe_low"], checks.loc[13, "oe_high"]) == pytest.approx((0.818 / 2, 7.754 / 2), abs=1e-3)
    assert not checks.loc[13, "alert"] and checks.loc[13, "reason"] is None
    assert checks.loc[26, "realised"] == 4 and checks.loc[26, "observed_expected"] == pytest.approx(1.0)
    assert not checks.loc[26, "alert"]
    assert 52 not in checks.index  # no published week is a year old yet


def _cohort(con: duckdb.DuckDBPyConnection, n: int, p: float, leavers: int) -> pd.DataFrame:
    """One published week of `n` workers at probability `p` (all horizons), `leavers` of whom left voluntarily
    within 13 weeks; the 13-week outcome check of it."""
    risk = pd.DataFrame({"score_date": date(2024, 1, 1), "worker_id": [f"W{i}" for i in range(n)],
                         "p_13w": p, "p_26w": p, "p_52w": p})
    workers = pd.DataFrame({"worker_id": risk.worker_id, "termination_date": [date(2024, 2, 1)] * leavers
                            + [None] * (n - leavers), "termination_reason": ["voluntary"] * leavers + [None] * (n - leavers)})
    con.register("r", risk)
    con.register("w", workers)
    con.execute("create or replace table risk_scores as select * from r")
    con.execute("create or replace table workers as select * from w")
    return outcome_drift(con, data_end=date(2024, 4, 15)).set_index("horizon").loc[13]


def test_an_outcome_alerts_only_when_its_o_e_interval_lies_wholly_outside_the_range():
    con = duckdb.connect()
    # The same point O/E of 1.5: chance with 3 leavers against 2, a miscalibration with 150 against 100.
    few, many = _cohort(con, 40, 0.05, 3), _cohort(con, 1000, 0.1, 150)
    assert few["observed_expected"] == pytest.approx(many["observed_expected"]) == pytest.approx(1.5)
    assert few["oe_low"] < 0.8 and not few["alert"]
    assert many["oe_low"] > 1.25 and many["alert"]
    assert "90% interval 1.30-1.72, wholly outside 0.8-1.25" in many["reason"]
    # Too few leavers: 10 against 40 expected, the whole interval below 0.8.
    too_few = _cohort(con, 400, 0.1, 10)
    assert too_few["oe_high"] < 0.8 and too_few["alert"]
    # The interval straddling a bound does not alert: 48 against 40 (O/E 1.2, interval about 0.94-1.52).
    straddling = _cohort(con, 400, 0.1, 48)
    assert straddling["oe_low"] < 1.25 < straddling["oe_high"] and not straddling["alert"]


def test_the_o_e_interval_covers_a_calibrated_models_ratio_of_one_at_least_nine_times_in_ten():
    """Leavers drawn at the published probabilities (Poisson-binomial): the exact Poisson interval errs wide."""
    rng = np.random.default_rng(11)
    for p in (rng.beta(2, 30, size=60), rng.beta(2, 12, size=2_000)):  # a few leavers, and many
        realised = (rng.random((4_000, len(p))) < p).sum(axis=1)
        bounds = np.array([oe_interval(r, p.sum()) for r in realised])
        covered = ((bounds[:, 0] <= 1.0) & (1.0 <= bounds[:, 1])).mean()
        assert 0.9 <= covered <= 0.99, covered
    assert oe_interval(0, 3.0)[0] == 0.0 and all(math.isnan(b) for b in oe_interval(0, 0.0))


def test_a_large_training_set_is_summarised_from_a_fixed_sample_that_keeps_its_shares(weekly_run, monkeypatch):
    import continuity.models.drift as drift
    from continuity.warehouse import connect

    settings, _ = weekly_run
    encoder = load_champion(settings).forecaster.encoder_
    with connect(settings.warehouse, read_only=True) as con:
        whole = drift.reference_rows(con, None)
        monkeypatch.setattr(drift, "REFERENCE_ROWS", len(whole) // 5)
        sample, again = drift.reference_rows(con, None), drift.reference_rows(con, None)
    assert 0.1 * len(whole) < len(sample) < 0.3 * len(whole) and sample.equals(again)
    full = reference(encoder, whole)
    drifted = feature_drift(full, encoder.raw(sample)).set_index("feature")
    assert (drifted.psi < 0.02).all(), drifted.psi.sort_values().tail()


def test_the_weekly_run_publishes_its_drift_check_from_the_reference_logged_with_the_model(weekly_run):
    settings, result = weekly_run
    champion = load_champion(settings)
    summary = json.loads(logged_text(settings, champion.run_id, REFERENCE_FILE))
    assert set(summary) == set(champion.forecaster.features)
    publication = Publications(settings.published).current()
    published = publication.table("monitoring")
    features = published[published.kind == "feature"]
    assert sorted(features.feature) == sorted(champion.forecaster.features)
    assert result.alerts == published.loc[published.alert, "reason"].tolist()
    # the published week's own inputs, caseload unchanged and then 30% higher
    week = champion.forecaster.encoder_.raw(publication.table("worker_snapshot"))
    unchanged = feature_drift(summary, week).set_index("feature")
    shifted = feature_drift(summary, week.assign(caseload=week.caseload * 1.3)).set_index("feature")
    assert unchanged.loc["caseload", "psi"] == pytest.approx(features.set_index("feature").loc["caseload", "psi"])
    assert not unchanged.loc["caseload", "alert"]
    assert shifted.loc["caseload", "alert"]


def test_the_ks_test_against_the_logged_quantiles_agrees_with_scipys_on_all_training_rows():
    from scipy import stats

    from continuity.models.drift import _ks

    rng = np.random.default_rng(5)
    training = rng.poisson(12, size=50_000).astype(float)  # counts: many ties
    week = rng.poisson(13, size=1_000).astype(float)
    encoder = FeatureEncoder(("caseload",)).fit(pd.DataFrame({"caseload": training}))
    grid = np.asarray(reference(encoder, pd.DataFrame({"caseload": training}))["caseload"]["quantiles"])
    statistic, p_value = _ks(grid, week)
    exact = stats.ks_2samp(training, week)
    assert statistic == pytest.approx(exact.statistic, abs=0.01)
    assert p_value < 1e-6 and exact.pvalue < 1e-6
