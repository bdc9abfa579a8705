"""The weekly flow end to end on the tiny sector, through Prefect (ephemeral) and MLflow."""

from __future__ import annotations

import json
import math
import shutil
import threading
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from prefect import flow

from continuity.access import create_token
from continuity.config import Settings
from continuity.flows.weekly import finish_promotion, register, weekly
from continuity.models.registry import FORECASTER_FORMAT, FORMAT_TAG, IncompatibleChampion, comparable_champion, load_champion
from continuity.models.training import Selection
from continuity.publication import Publications, publish_week
from continuity.published import TABLES
from continuity.serving.app import create_app
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
    shown = scores["withheld"].isna()
    assert sorted(scores.loc[shown, "rank"]) == list(range(1, shown.sum() + 1))
    assert scores.loc[~shown, "rank"].isna().all()  # a withheld worker has no rank (models.scoring.rank_shown)
    assert ((scores["p_13w"] >= 0) & (scores["p_13w"] <= scores["p_26w"]) & (scores["p_26w"] <= scores["p_52w"])
            & (scores["p_52w"] <= 1)).all()
    drivers = [json.loads(d) for d in scores["drivers"]]
    assert all(0 < len(row) <= 5 and sum(d["actionable"] for d in row) <= 3 for row in drivers)
    product = [math.prod(d["hazard_ratio"] for d in row) for row in drivers] * scores["other_factors"]
    assert np.allclose(product, scores["relative_hazard"], rtol=1e-6, atol=0)
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
    # The curve a manager sees passes through the probabilities on the list, calibrated alike.
    at = curves.pivot(index="worker_id", columns="week", values="survival")
    risk = _table(settings, "select * from risk_scores where score_date = ?", week).set_index("worker_id")
    for h in (13, 26, 52):
        assert np.allclose(1 - at.loc[risk.index, h], risk[f"p_{h}w"])
    assert (at[0] == 1).all()


def test_the_first_run_promotes_its_candidate_with_nothing_to_compare(weekly_run):
    _, result = weekly_run
    assert result.promoted is True
    assert "incumbent" not in result.metrics


@pytest.fixture
def copied_home(weekly_run, tmp_path) -> Settings:
    """The weekly run's warehouse and MLflow store, copied so a test may change the registry."""
    settings, _ = weekly_run
    home = tmp_path / "home"
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("prefect"))
    return Settings(home=home, export_dir=settings.export_dir)


@flow
def _register(selection: Selection, settings: Settings) -> tuple[str, bool]:
    """The flow's register task, in a flow run of its own as in the weekly flow."""
    return register(selection, settings)


def _selection(settings: Settings, test: dict, incumbent: dict | None) -> Selection:
    champion = load_champion(settings)
    date = pd.Timestamp("2024-01-01")
    return Selection(chosen="cox", forecasters={"cox": champion.forecaster}, validation={"cox": {"c_index": 0.6}},
                     validation_date=date, test_date=date, test={"cox": test}, incumbent=incumbent)


def test_a_worse_candidate_is_registered_but_the_champion_stays(weekly_run, copied_home):
    _, first = weekly_run
    worse = _selection(copied_home, {"c_index": 0.60, "ece_26w": 0.05}, incumbent={"c_index": 0.62, "ece_26w": 0.02})
    version, promoted = _register(worse, copied_home)
    assert not promoted and int(version) == int(first.model_version) + 1
    assert load_champion(copied_home).version == first.model_version
    client = MlflowClient(copied_home.tracking_uri)
    assert client.get_model_version(copied_home.registered_model_name, version).tags["promoted"] == "false"

    better = _selection(copied_home, {"c_index": 0.63, "ece_26w": 0.02}, incumbent={"c_index": 0.62, "ece_26w": 0.02})
    version, promoted = _register(better, copied_home)
    # The gate passed it, but the alias moves only once a week scored by it is published.
    assert promoted and load_champion(copied_home).version == first.model_version
    assert client.get_model_version(copied_home.registered_model_name, version).tags["promoted"] == "true"


def test_a_candidate_without_test_weeks_of_its_own_does_not_replace_a_champion(weekly_run, copied_home):
    """A base model recalibrated on a one-year history (`split.plan_recalibration`) has no figures to hold
    against a champion's: it is registered, tagged with its source, and held back."""
    from continuity.models.registry import SOURCE_TAG

    untested = replace(_selection(copied_home, {}, incumbent=None), test={}, holdout_weeks=0,
                       source="base model continuity-base v1, recalibrated on this organisation's weeks")
    version, promoted = _register(untested, copied_home)
    assert not promoted
    client = MlflowClient(copied_home.tracking_uri)
    registered = client.get_model_version(copied_home.registered_model_name, version)
    assert registered.tags["gate_refusals"] == "no test weeks of its own to compare with the champion"
    assert client.get_run(registered.run_id).data.tags[SOURCE_TAG].startswith("base model continuity-base v1")
    assert "test_from" not in client.get_run(registered.run_id).data.params


def _published(settings: Settings):
    return Publications(settings.published).current()


def test_a_run_stopped_between_register_and_publish_leaves_alias_and_week_agreeing(copied_home, monkeypatch):
    before = _published(copied_home)

    def stopped(*args, **kwargs):
        raise RuntimeError("stopped before publishing")

    monkeypatch.setattr("continuity.publication.publish_week", stopped)
    with pytest.raises(RuntimeError, match="stopped before publishing"):
        weekly(settings=copied_home, retrain=True)

    client = MlflowClient(copied_home.tracking_uri)
    newest = max(int(v.version) for v in client.search_model_versions(f"name='{copied_home.registered_model_name}'"))
    assert newest > int(before.model_version)  # registered, never published
    assert _published(copied_home).folder == before.folder
    assert load_champion(copied_home).version == before.model_version


def test_a_run_stopped_between_publish_and_promotion_is_finished_by_the_next(copied_home):
    """The week is published by a version that passed the gate, the alias was not moved yet: the next run moves it."""
    before = _published(copied_home)
    better = _selection(copied_home, {"c_index": 0.63, "ece_26w": 0.02}, incumbent={"c_index": 0.62, "ece_26w": 0.02})
    version, _ = _register(better, copied_home)
    publish_week(copied_home, before.score_date, before.model_name, version,
                 {name: before.table(name) for name in TABLES})
    assert load_champion(copied_home).version == before.model_version != version

    finish_promotion.fn(copied_home)

    assert load_champion(copied_home).version == version == _published(copied_home).model_version


def test_the_service_reads_without_failing_or_mixing_weeks_while_the_flow_runs(copied_home):
    """A client reads continuously while two weekly runs publish: no failed run, no failed read, and
    every answer comes from one published week (its date and model as published together)."""
    app = create_app(copied_home)
    token = create_token(copied_home, "admin")
    worker_id = _published(copied_home).table("risk_scores").worker_id.iloc[0]
    answers, stop = [], threading.Event()

    def read() -> None:
        with TestClient(app) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            while not stop.is_set():
                for path in (f"/workers/{worker_id}", "/health"):
                    response = client.get(path)
                    body = response.json() if response.status_code == 200 else {}
                    answers.append((path, response.status_code, body.get("week"), body.get("model_version")))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        published = {(str(_published(copied_home).score_date), _published(copied_home).model_version)}
        for _ in range(2):
            result = weekly(settings=copied_home, retrain=False)
            published.add((str(result.score_date), result.model_version))
    finally:
        stop.set()
        reader.join(timeout=60)

    assert len(answers) > 20
    assert [a for a in answers if a[1] != 200] == []
    assert {(week, version) for _, _, week, version in answers} <= published


def test_a_champion_in_an_older_format_is_neither_compared_with_nor_scored_by(copied_home):
    champion = comparable_champion(copied_home)
    assert champion is not None and champion.version == load_champion(copied_home).version
    MlflowClient(copied_home.tracking_uri).set_tag(champion.run_id, FORMAT_TAG, "1")
    assert comparable_champion(copied_home) is None
    with pytest.raises(IncompatibleChampion, match=f"format 1, this release reads {FORECASTER_FORMAT}"):
        load_champion(copied_home)


def test_retraining_on_unchanged_data_measures_the_champion_on_the_same_weeks(weekly_run, copied_home):
    _, first = weekly_run
    again = weekly(settings=copied_home, retrain=True)
    # The same data give the same model: the gate lets an equal candidate replace the champion.
    assert again.metrics["incumbent"]["c_index"] == pytest.approx(again.metrics[again.chosen]["c_index"])
    assert again.metrics["incumbent"]["ece_26w"] == pytest.approx(again.metrics[again.chosen]["ece_26w"])
    assert again.promoted is True and int(again.model_version) == int(first.model_version) + 1


def test_scoring_again_without_retraining_does_not_duplicate(weekly_run):
    settings, first = weekly_run
    before = _table(settings, "select * from risk_scores order by score_date, worker_id")
    again = weekly(settings=settings, retrain=False)
    after = _table(settings, "select * from risk_scores order by score_date, worker_id")
    assert again.score_date == first.score_date
    assert again.model_version == first.model_version
    assert not after.duplicated(["score_date", "worker_id"]).any()
    pd.testing.assert_frame_equal(before, after)


def test_a_candidate_overstating_one_gender_is_held_back_and_its_twin_is_not(weekly_run, copied_home):
    """The gate's fairness bars in the flow: the champion stays, and the version says which group and figure failed."""
    from dataclasses import replace

    from fairness_frames import audit, distorted, population

    _, first = weekly_run
    honest, figures = audit(population()[2]), {"c_index": 0.62, "ece_26w": 0.02}
    doubled = audit(distorted(population()[2], "gender", "f", 2.0))
    selection = _selection(copied_home, figures, incumbent=figures)
    version, promoted = _register(replace(selection, fairness=doubled, incumbent_fairness=honest), copied_home)
    assert not promoted and load_champion(copied_home).version == first.model_version
    tags = MlflowClient(copied_home.tracking_uri).get_model_version(copied_home.registered_model_name, version).tags
    assert tags["promoted"] == "false" and "gender 'f' at 26 weeks: observed/expected 0.5" in tags["gate_refusals"]

    version, promoted = _register(replace(selection, fairness=honest, incumbent_fairness=honest), copied_home)
    assert promoted


def test_the_week_publishes_the_scoring_versions_fairness_audit(weekly_run):
    settings, result = weekly_run
    fairness = Publications(settings.published).current().table("fairness")
    logged = MlflowClient(settings.tracking_uri).get_run(load_champion(settings).run_id).data.metrics
    assert set(fairness["attribute"]) == {"gender", "age_band", "contract_type", "occupation"}
    assert set(fairness["horizon"]) <= {13, 26, 52} and (fairness["model_version"] == result.model_version).all()
    assert "proxy_auc_gender" in logged and 0 <= logged["proxy_auc_gender"] <= 1


def test_the_week_publishes_the_sector_inflow_forecast_at_the_data_end(weekly_run):
    """``sector_inflow``: the inflow forecasts at the published week's data end, from the warehouse's hires and exits."""
    from continuity.features.inflow import flows, records_from
    from continuity.forecasts.inflow import count_forecast

    settings, _ = weekly_run
    week = Publications(settings.published).current()
    inflow = week.table("sector_inflow").set_index(["grouping", "key", "measure", "horizon_weeks"])
    end = pd.Timestamp(week.data_end) + pd.Timedelta(days=1)
    with connect(settings.warehouse, read_only=True) as con:
        first = pd.Timestamp(records_from(con))
        hires = flows(con, first.date(), end.date()).query("kind == 'hire'").assign(sector="sector")
    for h in (52, 104, 156):
        expected = count_forecast(hires, "sector", first, end, h)["sector"]
        row = inflow.loc[("sector", "sector", "hires", h)]
        assert row["expected"] == pytest.approx(expected.expected) and (row["low"], row["high"]) == expected.interval
    assert set(inflow.index.get_level_values("measure")) == {"hires", "exits", "net_change", "moves", "leaves_sector",
                                                              "without_steady_worker"}
    assert inflow["reason"].isna().all()
    # the years before, for the page's charts: the latest year's hires of the whole sector, as the warehouse has them
    history = week.table("sector_history").set_index(["grouping", "key", "measure", "year_end"])["count"]
    latest = hires[hires["day"] >= end - pd.Timedelta(weeks=52)]
    assert history[("sector", "sector", "hires", pd.Timestamp(week.data_end))] == len(latest)
