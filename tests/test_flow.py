"""The weekly flow end to end on the tiny sector, through Prefect (ephemeral) and MLflow."""

from __future__ import annotations

import json

import pandas as pd

from continuity.flows.weekly import weekly
from continuity.models.registry import load_champion
from continuity.warehouse import connect


def _table(settings, sql, params=()):
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql, list(params)).df()


def test_flow_publishes_one_scored_row_per_active_worker(weekly_run):
    settings, result = weekly_run
    scores = _table(settings, "select * from risk_scores where score_date = ?", [result.score_date])
    snapshot_workers = _table(settings, "select count(*) n from snapshots where snapshot_date = ?",
                              [result.score_date])
    assert len(scores) == result.scored_workers > 0
    assert scores["worker_id"].is_unique
    assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
    assert ((scores["p_13w"] >= 0) & (scores["p_13w"] <= scores["p_26w"]) & (scores["p_26w"] <= 1)).all()
    assert all(len(json.loads(d)) == 3 for d in scores["drivers"])
    # the score week itself is not a snapshot date used in training, but every scored worker is active then
    assert snapshot_workers["n"].iloc[0] in (0, len(scores))


def test_flow_reports_models_and_oracle_on_held_out_weeks(weekly_run):
    _, result = weekly_run
    assert result.chosen in result.metrics
    assert "oracle" in result.metrics
    for name, metrics in result.metrics.items():
        assert 0.5 < metrics["c_index"] <= 1.0, (name, metrics)


def test_flow_registers_the_champion_that_scored(weekly_run):
    settings, result = weekly_run
    champion = load_champion(settings)
    assert str(champion.version) == result.model_version
    assert champion.name == result.model_name


def test_flow_publishes_exposure_and_curves_for_every_scored_worker(weekly_run):
    settings, result = weekly_run
    week = [result.score_date]
    workers = _table(settings, "select * from worker_exposure where score_date = ?", week)
    curves = _table(settings, "select * from survival_curves where score_date = ?", week)
    scores = _table(settings, "select worker_id, p_26w from risk_scores where score_date = ?", week)
    assert set(workers["worker_id"]) == set(scores["worker_id"])
    merged = workers.merge(scores, on="worker_id")
    assert (merged["expected_exposure_26w"] - merged["p_26w"] * merged["weighted_clients"]).abs().max() < 1e-9
    per_worker = curves.sort_values(["worker_id", "week"]).groupby("worker_id")["survival"]
    assert (per_worker.apply(lambda s: (s.diff().dropna() <= 1e-12).all())).all()


def test_scoring_again_without_retraining_does_not_duplicate(weekly_run):
    settings, first = weekly_run
    before = _table(settings, "select * from risk_scores order by score_date, worker_id")
    again = weekly(settings=settings, retrain=False)
    after = _table(settings, "select * from risk_scores order by score_date, worker_id")
    assert again.score_date == first.score_date
    assert again.model_version == first.model_version
    assert not after.duplicated(["score_date", "worker_id"]).any()
    pd.testing.assert_frame_equal(before, after)
