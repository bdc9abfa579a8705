"""Survival targets: attaching `labels` to `snapshots` and defining the causes of exit.

The event of interest is *voluntary* leaving. Every other exit (involuntary,
retirement, end of a temporary contract) is a competing risk: it ends the
worker's time at risk of leaving voluntarily. Labels keep the exit reason, so a
forecaster can fit one cause-specific hazard per cause and combine them into the
cumulative incidence of voluntary leaving (see `continuity.models.base`).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from continuity.vocabulary import TERMINATION_REASONS

EVENT = "voluntary"
CENSORED = "censored"
KEY = ["worker_id", "snapshot_date"]
LABEL_COLUMNS = [*KEY, "duration_weeks", "exit_reason"]

# A worker who leaves on the snapshot date itself was still employed that day;
# XGBoost's Cox objective reads a zero duration as neither event nor censoring.
MIN_DURATION_WEEKS = 1 / 7

LABELS_SCHEMA = pa.DataFrameSchema(
    {
        "worker_id": pa.Column(str, coerce=True),
        "snapshot_date": pa.Column("datetime64[ns]", coerce=True),
        "duration_weeks": pa.Column(float, pa.Check.ge(0), coerce=True),
        "exit_reason": pa.Column(str, pa.Check.isin([*TERMINATION_REASONS, CENSORED])),
    },
    unique=KEY,
    strict=False,
)


def other_exit(exit_reason: pd.Series) -> pd.Series:
    """True where the row ended in an exit that competes with voluntary leaving."""
    return exit_reason.ne(EVENT) & exit_reason.ne(CENSORED)


def validate_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """Labels look ahead, so a malformed one silently corrupts training; fail loudly instead. Called where
    labels are built in pandas (an HR file's rows); the warehouse's are checked in SQL as they are built
    (``features.snapshots.check_labels``)."""
    return LABELS_SCHEMA.validate(labels[LABEL_COLUMNS])


def typed_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """The label columns with the key typed as ``snapshot_key`` types it, for joining: no checks, which ran
    where the labels were built, not again at every fit and metric."""
    return labels[LABEL_COLUMNS].assign(worker_id=labels["worker_id"].astype(str),
                                        snapshot_date=pd.to_datetime(labels["snapshot_date"]))


def snapshot_key(snapshots: pd.DataFrame) -> pd.DataFrame:
    """The join key with dates as timestamps, whatever date type the warehouse handed over."""
    return pd.DataFrame(
        {
            "worker_id": snapshots["worker_id"].astype(str),
            "snapshot_date": pd.to_datetime(snapshots["snapshot_date"]),
        },
        index=snapshots.index,
    )


def attach_labels(snapshots: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """`duration` (weeks) and `event` (left voluntarily) for each snapshot row, index kept.

    Every snapshot must have a label: a missing one means the label table and the
    snapshots were built from different data, which no model should paper over.
    """
    key = snapshot_key(snapshots)
    # A left merge keeps the left row order, so the input index can be put back as is.
    joined = key.reset_index(drop=True).merge(typed_labels(labels), on=KEY, how="left", validate="one_to_one")
    missing = int(joined["duration_weeks"].isna().sum())
    if missing:
        raise ValueError(f"{missing} snapshot rows have no label")
    joined.index = snapshots.index
    return pd.DataFrame(
        {
            "duration": joined["duration_weeks"].clip(lower=MIN_DURATION_WEEKS),
            "event": joined["exit_reason"].eq(EVENT),
            "exit_reason": joined["exit_reason"],
        },
        index=snapshots.index,
    )
