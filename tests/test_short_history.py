"""Short histories (issue 13): the windows shrink to the history there is, down to a stated minimum,
and a run that cannot go on stops with one sentence a person can act on."""

from __future__ import annotations

import pandas as pd
import pytest

import continuity.cli
from continuity.config import Settings
from continuity.models.split import (
    MIN_TEST_WEEKS,
    MIN_TRAINING_LEAVERS,
    MIN_TRAINING_WEEKS,
    InsufficientHistory,
    minimum_weeks,
    plan_windows,
)
from command_line import home, invoke  # noqa: F401 - home is a fixture


def _history(weeks: int, leaving_every: int | None = 3, workers: int = 60):
    """`workers` weekly rows over `weeks` weeks; from every `leaving_every`-th worker (None: nobody)
    a voluntary leaving 10 weeks after each snapshot date it is seen on in the first half."""
    dates = pd.date_range("2020-01-06", periods=weeks, freq="7D")
    snapshots = pd.DataFrame([(f"W{w:03d}", d) for w in range(workers) for d in dates],
                             columns=["worker_id", "snapshot_date"])
    number = snapshots["worker_id"].str[1:].astype(int)
    leaves = number % leaving_every == 0 if leaving_every else number < 0
    labels = snapshots.assign(duration_weeks=10.0, exit_reason="censored")
    labels.loc[leaves, "exit_reason"] = "voluntary"
    return snapshots, labels


def test_a_long_history_keeps_the_full_windows():
    windows = plan_windows(*_history(52 + 65 + MIN_TRAINING_WEEKS))

    assert (windows.holdout_weeks, windows.calibration_weeks, windows.horizons) == (52, 13, (13, 26, 52))


def test_a_short_history_shrinks_test_and_calibration_but_keeps_the_minimum_training():
    weeks = 76  # what a two-year export gives after the features' warm-up
    windows = plan_windows(*_history(weeks))

    stretch = windows.calibration_weeks + max(windows.horizons)
    assert MIN_TEST_WEEKS <= windows.holdout_weeks < 52 and stretch < 65
    assert weeks - windows.holdout_weeks - stretch == MIN_TRAINING_WEEKS
    assert windows.horizons == (13,)  # a 52-week horizon cannot be followed in a 28-week stretch


def test_too_short_a_history_says_what_it_needs_and_what_it_has():
    with pytest.raises(InsufficientHistory) as stopped:
        plan_windows(*_history(minimum_weeks() - 1))

    message = str(stopped.value)
    assert f"at least {minimum_weeks()} weekly snapshots" in message
    assert f"{MIN_TRAINING_LEAVERS} voluntary leavers" in message
    assert f"this export gives {minimum_weeks() - 1} weekly snapshots" in message
    plan_windows(*_history(minimum_weeks()))  # the minimum itself is enough


def test_an_export_of_current_staff_only_is_told_to_include_past_leavers():
    with pytest.raises(InsufficientHistory, match="include past leavers, not only current staff"):
        plan_windows(*_history(120, leaving_every=None))
    with pytest.raises(InsufficientHistory, match="only 2 voluntary leavers"):
        plan_windows(*_history(120, leaving_every=59))


def test_a_two_year_export_trains_and_publishes_through_the_weekly_flow(prefect_harness, tmp_path):
    from continuity.flows.weekly import weekly
    from continuity.publication import Publications
    from continuity.synth.generate import generate_sector

    generate_sector(tmp_path / "sector", workers=300, years=2, seed=3, fmt="parquet")
    settings = Settings(home=tmp_path)

    result = weekly(settings=settings, retrain=True)

    assert result.promoted and result.model_version == "1"
    assert result.scored_workers > 200
    assert 0 < result.metrics[result.chosen]["c_index"] < 1
    assert Publications(settings.published).current().score_date == result.score_date


def test_a_one_year_export_stops_in_train_with_the_sentence(prefect_harness, tmp_path):
    from continuity.flows.weekly import weekly
    from continuity.synth.generate import generate_sector

    generate_sector(tmp_path / "sector", workers=60, years=1, seed=3, fmt="parquet")

    with pytest.raises(InsufficientHistory, match=r"needs at least \d+ weekly snapshots .*this export gives \d+"):
        weekly(settings=Settings(home=tmp_path), retrain=True)


def test_run_without_retraining_and_without_a_champion_exits_2_in_one_sentence(
        home, prefect_harness, monkeypatch):  # noqa: F811
    monkeypatch.setattr(continuity.cli, "_prefect_env", lambda settings: None)

    code, output = invoke("run", "--no-retrain")

    assert code == 2
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert errors == ["error: There is no champion model yet to score with: run `continuity run` without "
                      "--no-retrain first."]


def test_data_errors_are_not_retried():
    from prefect.states import Failed

    from continuity.flows.weekly import NoChampion, _may_pass

    assert not _may_pass(None, None, Failed(data=InsufficientHistory("too short")))
    assert not _may_pass(None, None, Failed(data=NoChampion("none")))
    assert _may_pass(None, None, Failed(data=OSError("disk busy")))
