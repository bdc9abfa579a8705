"""The weekly flow on a Dask cluster (CONTINUITY_TASK_RUNNER=dask) publishes the week the single-machine run does.

Tolerance: gradient boosting on the cluster forms its Cox risk sets within each worker's rows (a Cox model
stratified by partition, models/gradient_boosting.py), so its trees differ a little from the one-process fit's
(measured: rank correlation 0.998 of the two fits' relative hazards); every other step is the same code on the
same warehouse. A published probability may therefore move by up to 0.02 and the ranking must keep a rank
correlation of 0.98: far more than the cluster changes (on the tiny sector both runs chose the Cox model and
published the same probabilities to 1e-16), far less than a run that dropped rows, mixed up workers or trained
on other data would move them.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from continuity.publication import Publications

MAX_PROBABILITY_CHANGE = 0.02
MIN_RANK_CORRELATION = 0.98


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def test_gradient_boosting_on_the_cluster_grows_the_trees_of_one_machine_within_the_tolerance(cluster):
    from distributed import Client

    from model_frames import default_frames
    from continuity.models.gradient_boosting import GradientBoostingForecaster

    frames = default_frames()
    here = GradientBoostingForecaster(n_jobs=1).fit(frames.snapshots, frames.labels)
    with Client(cluster):
        there = GradientBoostingForecaster(n_jobs=1, distributed=True).fit(frames.snapshots, frames.labels)
    a, b = (m.relative_hazard(frames.snapshots) for m in (here, there))
    assert spearmanr(a, b).statistic >= MIN_RANK_CORRELATION
    assert not np.allclose(a, b)  # the cluster did grow its own trees


def test_the_weekly_flow_on_dask_scores_the_workers_of_the_single_machine_run(cluster, weekly_run, tiny_sector,
                                                                              tmp_path):
    from continuity.config import Settings
    from continuity.flows.weekly import weekly_for

    local_settings, local_result = weekly_run
    settings = Settings(home=tmp_path, export_dir=tiny_sector / "exports", task_runner="dask",
                        dask_address=cluster.scheduler_address)
    result = weekly_for(settings)(settings=settings, retrain=True)

    assert result.score_date == local_result.score_date and result.chosen == local_result.chosen
    week, local_week = (Publications(s.home / "published").current().table("risk_scores").set_index("worker_id")
                        for s in (settings, local_settings))
    assert sorted(week.index) == sorted(local_week.index)
    both = week.join(local_week, rsuffix="_local")
    shown = both.p_26w.notna() & both.p_26w_local.notna()
    assert shown.sum() > 100
    assert (both.p_26w[shown] - both.p_26w_local[shown]).abs().max() <= MAX_PROBABILITY_CHANGE
    assert spearmanr(both.p_26w[shown], both.p_26w_local[shown]).statistic >= MIN_RANK_CORRELATION
