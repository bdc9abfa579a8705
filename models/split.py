"""Time-based splits and thinning of weekly snapshots.

A random split of snapshot rows would leak: the same worker's neighbouring weeks
share almost every feature and the very same exit. Splitting on the calendar and
censoring training labels at the split date means a model is trained only on what
was known on that date, exactly as it will be used.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from continuity.models.targets import CENSORED, snapshot_key, validate_labels


@dataclass(frozen=True)
class Split:
    split_date: pd.Timestamp
    train_snapshots: pd.DataFrame
    train_labels: pd.DataFrame
    test_snapshots: pd.DataFrame
    test_labels: pd.DataFrame


def censor_at(labels: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Labels as they were known on `cutoff`: follow-up ends there, later exits become censoring.

    An exit dated on the cut-off itself is not yet known on it (the point-in-time
    rule: only facts dated strictly before t are known at t), so it is censored too.
    """
    labels = validate_labels(labels)
    weeks_to_cutoff = (cutoff - labels["snapshot_date"]).dt.days / 7
    beyond = labels["duration_weeks"] >= weeks_to_cutoff
    censored = labels.copy()
    censored.loc[beyond, "duration_weeks"] = weeks_to_cutoff[beyond]
    censored.loc[beyond, "exit_reason"] = CENSORED
    return censored


def time_split(snapshots: pd.DataFrame, labels: pd.DataFrame, holdout_weeks: int) -> Split:
    """Hold out the last `holdout_weeks` snapshot weeks; train on the weeks before, censored at the split."""
    dates = snapshot_key(snapshots)["snapshot_date"]
    split_date = dates.max() - pd.Timedelta(weeks=holdout_weeks - 1)
    if holdout_weeks < 1 or not (dates < split_date).any():
        raise ValueError(f"holdout_weeks={holdout_weeks} leaves no training weeks before {dates.max():%Y-%m-%d}")
    in_train = dates < split_date
    label_dates = pd.to_datetime(labels["snapshot_date"])
    return Split(
        split_date=split_date,
        train_snapshots=snapshots[in_train],
        train_labels=censor_at(labels[label_dates < split_date], split_date),
        test_snapshots=snapshots[~in_train],
        test_labels=validate_labels(labels[label_dates >= split_date]),
    )


def thin(snapshots: pd.DataFrame, every: int) -> pd.DataFrame:
    """Keep every `every`-th snapshot week, counted from the latest one.

    Weekly snapshots of the same worker overlap heavily; thinning cuts training
    time with little loss, and counting back from the latest week keeps the most
    recent state in the training set.
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    weeks_back = (dates.max() - dates).dt.days // 7
    return snapshots[weeks_back % every == 0]
