"""Rolling-origin backtest on small frames with a known hazard, its MLflow record and the champion gate."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from model_frames import candidates, default_frames

from continuity.config import Settings
from continuity.models.backtest import ORACLE, origin_dates, rolling_backtest
from continuity.benchmarks.quality import REPORTED, log_backtest
from continuity.models.promotion import promotion_allowed

HORIZONS = (4, 8)


@pytest.fixture(scope="module")
def backtest():
    frames = default_frames()
    return rolling_backtest(frames.snapshots, frames.labels, origins=2, spacing_weeks=4, calibration_weeks=4,
                            horizons=HORIZONS, candidates=candidates(), oracle=frames.oracle)


def test_origins_are_a_quarter_apart_and_the_latest_is_followed_for_the_longest_horizon(backtest):
    frames = default_frames()
    dates = [o.date for o in backtest.origins]
    assert dates[1] - dates[0] == pd.Timedelta(weeks=4)
    assert dates[1] + pd.Timedelta(weeks=9) <= pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=60)
    with pytest.raises(ValueError, match="reach before the first snapshot week"):
        origin_dates(frames.snapshots, frames.labels, origins=20, spacing_weeks=4, observe_weeks=8)


def test_models_train_only_on_weeks_before_their_origin(backtest):
    frames = default_frames()
    dates = pd.to_datetime(frames.snapshots["snapshot_date"])
    for origin in backtest.origins:
        for forecaster in origin.forecasters.values():
            weeks_before = dates[dates < origin.date].nunique()
            assert forecaster.n_training_rows_ == (dates[dates < origin.date].groupby(dates).size()
                                                   .iloc[::-1].iloc[::forecaster.thin_every].sum())
            assert weeks_before > 30


def test_every_source_has_every_figure_per_origin_and_pooled_with_the_oracle_on_top(backtest):
    pooled = backtest.pooled
    assert set(pooled) == {"cox", "gradient_boosting", ORACLE}
    assert backtest.chosen in {"cox", "gradient_boosting"}
    rows_at_origins = sum(o.metrics[ORACLE]["n_rows"] for o in backtest.origins)
    for name, figures in pooled.items():
        assert figures["n_rows"] == rows_at_origins == 600
        assert {"c_index", "c_index_uno", "auc_4w", "auc_8w", "ibs", "ece_8w", "ece_uncalibrated_8w",
                "top_decile_recall_8w", "median_lead_weeks"} <= figures.keys()
        assert 0.0 <= figures["ibs"] <= 0.25
    # The true hazard ranks better than any model trained on 40 weeks of 300 posts.
    assert pooled[ORACLE]["c_index"] >= max(pooled[n]["c_index"] for n in ("cox", "gradient_boosting")) - 0.02
    assert pooled[ORACLE]["c_index"] > 0.7


def test_the_champion_gate_needs_both_rank_and_calibration(backtest):
    pooled = backtest.pooled
    assert promotion_allowed(pooled["cox"], pooled["cox"], horizon=8)  # a refit of the same model may replace it
    for new, current in (("cox", "gradient_boosting"), ("gradient_boosting", "cox")):
        no_worse = (pooled[new]["c_index"] >= pooled[current]["c_index"]
                    and pooled[new]["ece_8w"] <= pooled[current]["ece_8w"])
        assert promotion_allowed(pooled[new], pooled[current], horizon=8) == no_worse


def test_a_backtest_is_logged_with_its_figures_and_plots(backtest, tmp_path):
    settings = Settings(home=tmp_path)
    run_id = log_backtest(backtest, settings, tags={"test": "yes"})
    run = mlflow.get_run(run_id)
    assert run.data.metrics["oracle.c_index"] == pytest.approx(backtest.pooled[ORACLE]["c_index"])
    first = f"cox.c_index.{backtest.origins[0].date:%Y%m%d}"
    assert run.data.metrics[first] == pytest.approx(backtest.origins[0].metrics["cox"]["c_index"])
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "plots")}
    assert artifacts == {"plots/calibration_4w.png", "plots/calibration_8w.png", "plots/survival_curves.png",
                         "plots/lead_time.png"}
    assert all(np.isfinite(backtest.pooled["cox"][k]) for k in REPORTED if k in backtest.pooled["cox"])


def test_the_quality_benchmark_audits_the_chosen_model_over_every_origins_workers(backtest):
    from continuity.benchmarks.quality import pooled_fairness

    frames = default_frames()
    section = pooled_fairness(backtest, frames.snapshots)
    groups = pd.DataFrame(section["groups"])
    assert section["model"] == backtest.chosen
    assert set(groups["attribute"]) == {"gender", "age_band", "contract_type", "occupation"}
    assert set(groups["horizon"]) == set(HORIZONS)
    workers = sum(len(o.scored[backtest.chosen].outcomes) for o in backtest.origins)
    per_gender = groups.query("attribute == 'gender' and horizon == 4")
    assert per_gender["n"].sum() <= workers and per_gender["n"].sum() > workers / 2  # people, some at both origins
    assert set(groups["status"]) <= {"ok", "insufficient", "unreliable"}
    # the oracle's audit beside: the same figures of the true probabilities, not of the model
    assert set(section["oracle"]) == set(section["summary"])
    assert section["oracle"] != section["summary"]


def test_the_coverage_origins_before_the_backtests_are_fitted_as_a_run_then_would_have(backtest):
    from sklearn.base import clone

    from continuity.benchmarks.sector import origin_forecasters
    from continuity.models.backtest import fit_at

    frames = default_frames()
    first = backtest.origins[0].date
    earlier = first - pd.Timedelta(weeks=4)
    fitted = origin_forecasters(backtest, frames.snapshots, frames.labels, [earlier, first])
    assert list(fitted) == [earlier, first]
    assert fitted[first] is backtest.origins[0].forecasters[backtest.chosen]
    dates = pd.to_datetime(frames.snapshots["snapshot_date"])
    at_earlier = frames.snapshots[dates == earlier]
    expected, _ = fit_at(clone(backtest.origins[-1].forecasters[backtest.chosen]), frames.snapshots, frames.labels,
                         earlier, backtest.calibration_weeks, HORIZONS)
    assert fitted[earlier].n_training_rows_ == expected.n_training_rows_ < backtest.origins[0].forecasters[
        backtest.chosen].n_training_rows_
    pd.testing.assert_frame_equal(fitted[earlier].predict_risk(at_earlier, HORIZONS),
                                  expected.predict_risk(at_earlier, HORIZONS))
    assert backtest.calibration_weeks == 4


def test_past_cohorts_carry_what_the_run_of_their_week_published(backtest):
    from sklearn.base import clone

    from continuity.benchmarks.sector import PUBLISHED_HISTORY_WEEKS, published_risk
    from continuity.models.backtest import fit_at

    frames = default_frames()
    template = backtest.origins[-1].forecasters[backtest.chosen]
    dates = pd.to_datetime(frames.snapshots["snapshot_date"])
    weeks = sorted(dates.unique())
    needed = pd.Timedelta(weeks=max(HORIZONS) + backtest.calibration_weeks + PUBLISHED_HISTORY_WEEKS)
    early = max(w for w in weeks if w - weeks[0] < needed)
    late = min(w for w in weeks if w - weeks[0] >= needed)
    rows = frames.snapshots[dates.isin([early, late])]
    at_late = rows[(dates[rows.index] == late).to_numpy()]
    published = published_risk(template, frames.snapshots, frames.labels, backtest.calibration_weeks, HORIZONS)
    origin = backtest.origins[-1].date
    p = published(origin, rows, 8)
    # a week with too little history before its calibration weeks was not published
    assert p[dates[rows.index] == early].isna().all()
    # the others as a run at their own week fitted them, with that run's intervals, not the origin's model
    run, _ = fit_at(clone(template), frames.snapshots, frames.labels, late, backtest.calibration_weeks, HORIZONS)
    np.testing.assert_allclose(p[at_late.index], run.predict_risk(at_late, (8,))["p_8w"])
    at_origin = backtest.origins[-1].forecasters[backtest.chosen].predict_risk(at_late, (8,))["p_8w"]
    assert not np.allclose(p[at_late.index], at_origin)
    assert run.calibrator_.horizons == HORIZONS


def test_the_sector_coverage_counts_every_cell_of_every_origin_and_the_frailty_widens_the_intervals(backtest):
    from continuity.benchmarks.sector import GROUPINGS, coverage
    from continuity.horizons import risk_column

    frames = default_frames()
    fitted = {o.date: o.forecasters[backtest.chosen] for o in backtest.origins}
    result = coverage(frames.snapshots, frames.labels, list(fitted), HORIZONS,
                      lambda t, rows, h: fitted[t].predict_risk(rows, (h,))[risk_column(h)],
                      lambda t, rows: pd.Series("wmo", index=rows.index))
    assert set(result["groupings"]) == set(GROUPINGS)
    dates = pd.to_datetime(frames.snapshots["snapshot_date"])
    teams = sum(frames.snapshots.loc[dates == t, "team_id"].nunique() for t in fitted)
    for h in map(str, HORIZONS):
        assert result["groupings"]["domain"][h]["cells"] == len(fitted)  # one domain per origin
        assert result["groupings"]["team"][h]["cells"] == teams >= 20
        assert result["groupings"]["team"][h]["meets_target"] is None  # no figure is published per team
        for figures in result["groupings"].values():
            assert 0.0 <= figures[h]["before"] <= 1.0 and figures[h]["after"] >= figures[h]["before"] - 0.05
        assert [f["origin"] for f in result["frailty"][h]] == [f"{t:%Y-%m-%d}" for t in fitted]
        assert all(f["team"] >= 0 and f["organisation"] >= 0 for f in result["frailty"][h])


def test_a_near_tie_keeps_the_simpler_candidate_and_a_clear_lead_wins():
    from continuity.models.promotion import CHOICE_MARGIN, choose

    assert choose({"cox": {"c_index": 0.6207}, "gradient_boosting": {"c_index": 0.6212}}) == "cox"
    assert choose({"cox": {"c_index": 0.62}, "gradient_boosting": {"c_index": 0.62 + 2 * CHOICE_MARGIN}}) \
        == "gradient_boosting"
    assert choose({"cox": {"c_index": 0.63}, "gradient_boosting": {"c_index": 0.62}}) == "cox"
    assert choose({"gradient_boosting": {"c_index": 0.6212}, "cox": {"c_index": 0.6207}}) == "gradient_boosting"
