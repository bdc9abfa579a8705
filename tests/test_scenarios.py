"""Scenarios and the sector frame they re-score, on the real weekly flow's warehouse and champion model."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from continuity.models.registry import load_champion
from continuity.forecasts.aggregates import aggregate_forecast
from continuity.forecasts.scenarios import LABEL, SCENARIOS, run_scenario
from continuity.features.situation import NO_CASELOAD
from continuity.forecasts.frame import forecast_frame
from continuity.publication import Publications
from continuity.vocabulary import CASELOAD_NORM_PER_FTE
from continuity.warehouse import connect


@pytest.fixture(scope="module")
def settings(weekly_run):
    return weekly_run[0]


@pytest.fixture(scope="module")
def score_date(weekly_run):
    return weekly_run[1].score_date


@pytest.fixture(scope="module")
def frame(settings):
    return forecast_frame(Publications(settings.published).current())


@pytest.fixture(scope="module")
def forecaster(settings):
    return load_champion(settings).forecaster


def test_the_frame_holds_every_scored_worker_with_its_groupings(settings, frame, score_date):
    with connect(settings.warehouse, read_only=True) as con:
        scored = con.execute("select worker_id, p_26w from risk_scores where score_date = ?", [score_date]).df()
        cases = con.execute(
            "select worker_id, domain from assignments where role = 'primary' and start_date < $t "
            "and (end_date is null or end_date >= $t)", {"t": score_date}).df()
        left = con.execute("select worker_id, termination_reason, termination_date from workers "
                           "where termination_date is not null").df()

    assert sorted(frame.workers.worker_id) == sorted(scored.worker_id)
    assert frame.workers.set_index("worker_id").p_26w.sort_index().to_numpy() == \
           pytest.approx(scored.set_index("worker_id").p_26w.sort_index().to_numpy())
    assert frame.workers[["region", "organisation_id", "occupation", "domain"]].notna().all().all()
    for worker_id, domains in cases.groupby("worker_id").domain:
        counts = domains.value_counts()
        main = frame.workers.set_index("worker_id").domain.get(worker_id)
        if main is not None:
            assert counts[main] == counts.max()
    without = set(frame.workers.worker_id) - set(cases.worker_id)
    assert (frame.workers[frame.workers.worker_id.isin(without)].domain == NO_CASELOAD).all()

    window = (left.termination_date.dt.date < score_date) & \
             (left.termination_date.dt.date >= score_date - timedelta(days=364))
    voluntary = left[window & (left.termination_reason == "voluntary")]
    assert sorted(frame.leavers.worker_id) == sorted(voluntary.worker_id)
    assert len(frame.leavers) > 0


@pytest.mark.parametrize(("scenario", "holds"), [
    ("long_funding_contracts", lambda s: ((s.months_to_funding_end >= 72) | s.months_to_funding_end.isna()).all()
                                         and (s.lost_tender.fillna(0) == 0).all()),
    ("caseload_at_norm", lambda s: (s.caseload_ratio.fillna(0) <= 1).all()
                                   and (s.caseload <= CASELOAD_NORM_PER_FTE * s.fte + 1e-9).all()),
    ("regular_scale_steps", lambda s: (s.weeks_since_scale_step.fillna(0) <= 156).all()),
])
def test_each_scenario_changes_only_what_it_names_and_leaves_compliant_workers_alone(frame, scenario, holds):
    before = frame.snapshot
    after = SCENARIOS[scenario].change(before)
    touched = [c for c in before.columns if not before[c].equals(after[c])]

    assert holds(after)
    assert set(touched) <= {"months_to_funding_end", "lost_tender", "caseload", "caseload_ratio",
                            "weeks_since_scale_step"}
    assert touched, f"the tiny sector has workers {scenario} should change"
    compliant = before.index[[holds(before.loc[[i]]) for i in before.index]]
    pd.testing.assert_frame_equal(before.loc[compliant], after.loc[compliant], check_dtype=False)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_run_scenario_is_the_model_on_the_changed_snapshot(forecaster, frame, scenario):
    result = run_scenario(forecaster, frame, scenario, 26)
    snapshot = frame.snapshot.set_index("worker_id").loc[frame.workers.worker_id].reset_index()
    p = forecaster.predict_risk(SCENARIOS[scenario].change(snapshot), (26,)).p_26w.to_numpy()
    weighted = frame.workers.weighted_clients.to_numpy()

    assert result["label"] == LABEL == "model-based, not causal"
    assert result["with_scenario"]["expected_leavers"] == pytest.approx(p.sum())
    assert result["with_scenario"]["expected_clients_affected"] == pytest.approx((p * weighted).sum())
    assert result["baseline"]["expected_leavers"] == pytest.approx(frame.workers.p_26w.sum(), rel=1e-6)
    assert result["change"]["expected_leavers"] == pytest.approx(p.sum() - frame.workers.p_26w.sum(), rel=1e-6, abs=1e-9)
    assert 0 < result["workers_changed"] <= result["workers"] == len(frame.workers)


def test_organisation_cells_follow_the_aggregates_suppression_and_add_up(forecaster, frame):
    result = run_scenario(forecaster, frame, "caseload_at_norm", 13)
    pattern = aggregate_forecast(frame.workers, "organisation", 13, leavers=frame.leavers)

    assert [(c["key"], c["suppressed"]) for c in result["by_organisation"]] == [(c.key, c.suppressed) for c in pattern]
    published = [c for c in result["by_organisation"] if not c["suppressed"]]
    assert all(c["workers"] >= 10 for c in published)
    if len(published) == len(pattern):
        assert sum(c["change"]["expected_leavers"] for c in published) == \
               pytest.approx(result["change"]["expected_leavers"])
    assert all(c["baseline"] is None and c["change"] is None for c in result["by_organisation"] if c["suppressed"])


def test_an_unknown_scenario_is_refused(forecaster, frame):
    with pytest.raises(ValueError, match="caseload_at_norm"):
        run_scenario(forecaster, frame, "four_day_week", 26)


def test_horizons_order_the_expected_leavers(forecaster, frame):
    figures = [run_scenario(forecaster, frame, "regular_scale_steps", h)["baseline"]["expected_leavers"]
               for h in (13, 26, 52)]
    assert np.all(np.diff(figures) > 0)
