"""Time-based split: nothing from the evaluation weeks may reach training."""

from __future__ import annotations

import pandas as pd
import pytest
from model_frames import default_frames

from continuity.models.split import thin, time_split


@pytest.fixture(scope="module")
def split():
    frames = default_frames()
    return time_split(frames.snapshots, frames.labels, holdout_weeks=12)


def test_split_date_holds_out_the_last_weeks(split):
    frames = default_frames()
    train_dates = pd.to_datetime(split.train_snapshots["snapshot_date"])
    test_dates = pd.to_datetime(split.test_snapshots["snapshot_date"])
    assert train_dates.max() < split.split_date <= test_dates.min()
    assert test_dates.nunique() == 12
    assert len(split.train_snapshots) + len(split.test_snapshots) == len(frames.snapshots)


def test_no_training_label_uses_information_after_the_split(split):
    labels = split.train_labels
    follow_up_end = labels["snapshot_date"] + pd.to_timedelta(labels["duration_weeks"] * 7, unit="D")
    assert (follow_up_end <= split.split_date).all()
    exits = labels[labels["exit_reason"] != "censored"]
    assert (exits["snapshot_date"] + pd.to_timedelta(exits["duration_weeks"] * 7, unit="D") < split.split_date).all()


def test_exits_after_the_split_become_censoring_and_earlier_ones_stay(split):
    frames = default_frames()
    original = frames.labels.assign(snapshot_date=pd.to_datetime(frames.labels["snapshot_date"]))
    merged = split.train_labels.merge(original, on=["worker_id", "snapshot_date"], suffixes=("", "_full"))
    exit_date = merged["snapshot_date"] + pd.to_timedelta(merged["duration_weeks_full"] * 7, unit="D")
    before = exit_date < split.split_date
    assert (merged.loc[before, "exit_reason"] == merged.loc[before, "exit_reason_full"]).all()
    assert (merged.loc[before, "duration_weeks"] == merged.loc[before, "duration_weeks_full"]).all()
    later_exits = ~before & (merged["exit_reason_full"] != "censored")
    assert later_exits.any()
    assert (merged.loc[~before, "exit_reason"] == "censored").all()


def test_test_labels_keep_their_full_follow_up(split):
    original = default_frames().labels.loc[split.test_labels.index]
    assert split.test_labels["duration_weeks"].equals(original["duration_weeks"])
    assert split.test_labels["exit_reason"].equals(original["exit_reason"])


def test_holdout_longer_than_the_data_is_refused():
    frames = default_frames()
    with pytest.raises(ValueError, match="no training weeks"):
        time_split(frames.snapshots, frames.labels, holdout_weeks=60)


def test_thinning_keeps_the_latest_week_and_every_fourth_before_it():
    snapshots = default_frames().snapshots
    dates = pd.to_datetime(thin(snapshots, every=4)["snapshot_date"]).drop_duplicates().sort_values()
    assert dates.iloc[-1] == pd.to_datetime(snapshots["snapshot_date"]).max()
    assert (dates.diff().dropna() == pd.Timedelta(weeks=4)).all()
    assert len(dates) == 15
