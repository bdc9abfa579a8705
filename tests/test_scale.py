"""The sector-scale data path: training rows from SQL, warehouse limits, progress lines, bounded metrics."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from continuity.benchmarks.scale import TreeMemory
from continuity.config import Settings
from continuity.features.feature_spec import DERIVED, MODEL_FEATURES
from continuity.features.snapshots import AUDIT_COLUMNS, build_snapshots, training_rows
from continuity.models import metrics
from continuity.progress import observe, quiet, stage
from continuity.warehouse import SPILL_FOLDER, large_build, open_warehouse

from contract_frames import load, random_sector

KEY = ["worker_id", "snapshot_date"]


@pytest.fixture
def built(con):
    load(con, **random_sector(11, n_workers=60, start=date(2019, 1, 1), end=date(2022, 6, 1)))
    build_snapshots(con)
    return con


def test_training_rows_without_sample_or_thinning_are_the_tables_themselves(built):
    snapshots, labels, oracle = training_rows(built, MODEL_FEATURES, workers=None, every_weeks=1)
    table = built.table("snapshots").df()
    assert_frame_equal(snapshots.reset_index(drop=True), table[list(snapshots.columns)])
    assert_frame_equal(labels.reset_index(drop=True), built.table("labels").df())
    assert oracle is None  # no oracle_hazard table
    assert not set(snapshots.columns) & set(DERIVED), "derived inputs come from the recorded columns they threshold"
    assert {threshold.source for threshold in DERIVED.values()} <= set(snapshots.columns)
    assert set(AUDIT_COLUMNS) <= set(snapshots.columns) and "team_id" not in snapshots.columns


def test_a_sample_keeps_whole_workers_every_other_week_and_is_the_same_every_time(built):
    table = built.table("snapshots").df()
    snapshots, labels, _ = training_rows(built, MODEL_FEATURES, workers=10, every_weeks=2, seed=3)
    again, _, _ = training_rows(built, MODEL_FEATURES, workers=10, every_weeks=2, seed=3)
    other, _, _ = training_rows(built, MODEL_FEATURES, workers=10, every_weeks=2, seed=4)
    assert snapshots["worker_id"].nunique() == 10
    assert_frame_equal(snapshots, again)
    assert set(other["worker_id"]) != set(snapshots["worker_id"])
    weeks_back = (table["snapshot_date"].max() - table["snapshot_date"]).dt.days // 7
    expected = table[table["worker_id"].isin(set(snapshots["worker_id"])) & (weeks_back % 2 == 0)]
    assert_frame_equal(snapshots[KEY].reset_index(drop=True), expected[KEY].reset_index(drop=True))
    assert_frame_equal(labels[KEY].reset_index(drop=True), snapshots[KEY].reset_index(drop=True))
    stored = built.table("labels").df().merge(snapshots[KEY], on=KEY)
    assert_frame_equal(labels.reset_index(drop=True), stored)


def test_the_oracle_is_joined_to_the_same_rows(built):
    keys = built.execute("select worker_id, snapshot_date as week_start from snapshots").df()
    hazard = keys.assign(hazard_voluntary=np.linspace(0.001, 0.01, len(keys)), hazard_other=0.0005)
    built.register("_oracle", hazard)
    built.execute("create table oracle_hazard as select * from _oracle")
    snapshots, _, oracle = training_rows(built, MODEL_FEATURES, workers=20, every_weeks=3, oracle=True)
    assert list(oracle.columns) == ["worker_id", "week_start", "hazard_voluntary", "hazard_other"]
    expected = snapshots[KEY].rename(columns={"snapshot_date": "week_start"}).merge(
        hazard.assign(week_start=pd.to_datetime(hazard["week_start"])), on=["worker_id", "week_start"])
    assert_frame_equal(oracle.reset_index(drop=True), expected)


def test_training_rows_refuse_a_thinning_below_one(built):
    with pytest.raises(ValueError, match="every_weeks"):
        training_rows(built, MODEL_FEATURES, every_weeks=0)


def test_the_warehouse_keeps_to_its_memory_limit_threads_and_spill_folder(tmp_path):
    settings = Settings(home=tmp_path, warehouse_memory_limit="512MB", warehouse_threads=1)
    with open_warehouse(settings) as con:
        limit, threads, spill = con.execute(
            "select current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('temp_directory')").fetchall()[0]
        with large_build(con):
            assert con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0] is False
        assert con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0] is True
    assert limit.startswith("488") and threads == 1  # DuckDB states 512 MB in MiB
    assert spill == str(tmp_path / SPILL_FOLDER)


def test_a_stage_prints_rows_and_seconds_reaches_listeners_and_quiet_silences_it(capsys):
    seen = []
    with observe(seen.append):
        with stage("features") as built:
            built.rows = 1234
        with quiet(), stage("train", rows=5):
            pass
    out = capsys.readouterr()
    assert "features: 1,234 rows in" in out.err and "train" not in out.err and out.out == ""
    assert [(s.name, s.rows) for s in seen] == [("features", 1234), ("train", 5)]
    assert all(s.seconds >= 0 for s in seen)
    with stage("evaluate"):
        pass
    assert [s.name for s in seen] == ["features", "train"], "a listener hears only inside its block"


def test_a_failed_stage_prints_nothing_and_reaches_no_listener(capsys):
    seen = []
    with observe(seen.append), pytest.raises(RuntimeError):
        with stage("score"):
            raise RuntimeError("broken")
    assert seen == [] and "score" not in capsys.readouterr().err


def test_tree_memory_sees_this_process_while_a_stage_runs():
    with TreeMemory(interval=0.01) as memory:
        started = time.monotonic()
        held = np.ones(40 * 2**20 // 8)  # 40 MiB, touched
        time.sleep(0.1)
        ended = time.monotonic()
    assert held.sum() > 0
    assert memory.peak_gib(started, ended) >= 40 / 1024
    assert memory.peak_gib(ended + 10, ended + 20) == 0  # no sample that late


def test_uno_on_a_bounded_sample_stays_close_to_all_rows(monkeypatch):
    rng = np.random.default_rng(0)
    n = 6000
    risk = rng.normal(size=n)
    duration = rng.exponential(30 * np.exp(-0.7 * risk)).clip(0.2, 60)
    event = (duration < 60) & (rng.random(n) < 0.8)
    outcomes = pd.DataFrame({"duration": duration, "event": event,
                             "exit_reason": np.where(event, "voluntary", "censored")})
    whole = metrics.concordance(outcomes, risk, tau=52)
    monkeypatch.setattr(metrics, "UNO_MAX_ROWS", 2000)
    bounded = metrics.concordance(outcomes, risk, tau=52)
    assert bounded["c_index"] == whole["c_index"]  # Harrell's C always takes every row
    assert bounded["c_index_uno"] != whole["c_index_uno"]
    assert abs(bounded["c_index_uno"] - whole["c_index_uno"]) < 0.02


def test_the_bench_sector_is_generated_once_in_a_child_process_and_then_reused(tmp_path):
    from continuity.benchmarks.scale import cached_sector

    settings = Settings(home=tmp_path)
    folder, first = cached_sector(settings, workers=40, years=2, seed=3)
    assert folder == tmp_path / "bench" / "sector-40x2-seed3"
    assert (folder / "sector.json").exists() and (folder / "oracle" / "oracle_hazard.parquet").exists()
    assert not first["cached"] and first["seconds"] > 0 and first["peak_rss_gib"] > 0
    again, second = cached_sector(settings, workers=40, years=2, seed=3)
    assert again == folder and second == {"workers": 40, "years": 2, "seed": 3, "cached": True}
    assert [p.name for p in (tmp_path / "bench").iterdir()] == [folder.name], "no partial folder left behind"


def test_serving_load_reads_the_published_week_in_a_fresh_process(weekly_run):
    from continuity.benchmarks.scale import serving_load

    settings, result = weekly_run
    load = serving_load(settings)
    assert load["workers"] == result.scored_workers > 0
    assert load["seconds"] > 0 and load["peak_rss_gib"] > 0.05, "a Python process with the app loaded"


def test_a_week_the_service_loads_too_slowly_is_reported_not_waited_for(weekly_run):
    from continuity.benchmarks.scale import serving_load

    settings, _ = weekly_run
    load = serving_load(settings, timeout=1.0)  # a fresh process takes longer to import the app alone
    assert load["seconds"] is None and load["error"].startswith("_load_week did not finish in 1 s (peak ")


def test_a_child_that_fails_is_an_error_naming_what_it_ran():
    import sys

    from continuity.benchmarks.scale import in_child

    with pytest.raises(RuntimeError, match=r"exit failed in its child process \(exit code 3\)"):
        in_child(sys.exit, 3)


def test_bench_scale_writes_its_json_under_home_and_quiet_silences_the_stage_lines(monkeypatch, tmp_path):
    import json

    import continuity.benchmarks.scale
    from typer.testing import CliRunner

    from continuity.cli import app

    calls = []

    def fake(settings, workers, years, seed, sample_curve):
        calls.append((settings.home, workers, years, seed, sample_curve))
        with stage("features", rows=7):
            pass
        return {"total_seconds": 1.0}

    monkeypatch.setattr(continuity.benchmarks.scale, "scale_benchmark", fake)
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path))
    runner = CliRunner()
    loud = runner.invoke(app, ["bench", "scale", "--workers", "300", "--years", "3", "--sample-curve"])
    quiet_run = runner.invoke(app, ["bench", "scale", "--workers", "300", "--quiet", "--json",
                                    str(tmp_path / "out.json")])
    assert loud.exit_code == quiet_run.exit_code == 0
    assert calls == [(tmp_path, 300, 3, 0, True), (tmp_path, 300, 5, 0, False)]
    assert json.loads((tmp_path / "scale-300x3.json").read_text()) == {"total_seconds": 1.0}
    assert (tmp_path / "out.json").exists()
    assert "features: 7 rows in" in loud.output and "features" not in quiet_run.output
