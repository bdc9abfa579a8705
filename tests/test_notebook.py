"""The analyst notebook runs, top to bottom, on the tiny sector the weekly flow has just served."""

from __future__ import annotations

import runpy
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "backtest_walkthrough.py"


def test_backtest_walkthrough_runs_on_the_flows_warehouse_and_draws_its_plots(weekly_run, monkeypatch, tmp_path):
    settings, _ = weekly_run
    monkeypatch.setenv("CONTINUITY_HOME", str(settings.home))
    monkeypatch.setenv("CONTINUITY_EXPORT_DIR", str(settings.exports))
    monkeypatch.setenv("CONTINUITY_BACKTEST_ORIGINS", "2")
    monkeypatch.setenv("CONTINUITY_BACKTEST_HORIZONS", "13,26")
    monkeypatch.setenv("CONTINUITY_NOTEBOOK_OUT", str(tmp_path))
    namespace = runpy.run_path(str(NOTEBOOK), run_name="__main__")
    assert len(namespace["backtest"].origins) == 2
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "survival.png", "calibration_13w.png", "calibration_26w.png", "lead_time.png"}
