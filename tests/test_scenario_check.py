"""The quality benchmark's scenario check, end to end on the tiny sector the weekly flow ran on."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pandas as pd
import pytest

from continuity.benchmarks.scenario_check import _frame, scenario_check
from continuity.forecasts.scenarios import LABEL, SCENARIOS, run_scenario
from continuity.models.registry import load_champion
from continuity.warehouse import connect

HORIZONS = (13, 26)


@pytest.fixture(scope="module")
def checked(weekly_run, tiny_sector):
    settings, _ = weekly_run
    # the tiny sector as generated: the re-simulations must be the same sector
    sector = json.loads((tiny_sector / "sector.json").read_text())
    workers, years, seed = sector["workers"], sector["years"], sector["seed"]
    with connect(settings.warehouse, read_only=True) as con:
        snapshots = con.table("snapshots").df()
    forecaster = load_champion(settings).forecaster
    dates = pd.to_datetime(snapshots.snapshot_date)
    t = dates[dates <= pd.Timestamp(date(2020, 1, 6) + timedelta(weeks=52 * years - 30))].max()
    result = scenario_check({t: forecaster}, snapshots, workers=workers, years=years, seed=seed,
                            horizons=HORIZONS, replicates=2)
    return t, forecaster, snapshots[dates == t], result


def test_every_scenario_has_finite_figures_per_horizon(checked):
    t, _, _, result = checked
    assert result["label"] == LABEL and result["origins"] == [str(t.date())] and result["replicates"] == 2
    assert set(result["scenarios"]) == set(SCENARIOS)
    for figures in result["scenarios"].values():
        assert set(figures["horizons"]) == {str(h) for h in HORIZONS}
        for h in figures["horizons"].values():
            # no relative error where the policy changes nothing within the horizon (a division by 0)
            assert all(math.isfinite(v) for k, v in h.items() if k != "relative_error"), h
            assert math.isfinite(h["relative_error"]) if h["resimulated_expected"] else h["relative_error"] is None
            assert h["error"] == pytest.approx(h["model_based"] - h["resimulated_expected"])
            assert h["resimulated_baseline"] > 0 and h["model_baseline"] > 0


def test_the_model_based_figure_is_run_scenario_on_the_week_at_the_origin(checked):
    t, forecaster, rows, result = checked
    for name in SCENARIOS:
        expected = run_scenario(forecaster, _frame(rows, t.date()), name, 26)["change"]["expected_leavers"]
        assert result["scenarios"][name]["horizons"]["26"]["model_based"] == pytest.approx(expected)


def test_the_simulated_workers_are_the_snapshots_workers(checked):
    t, _, rows, result = checked
    counts = result["workers"][str(t.date())]
    assert counts["snapshot"] == len(rows)
    assert abs(counts["simulated"] - counts["snapshot"]) <= 0.05 * counts["snapshot"]
