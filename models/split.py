"""Time-based splits and thinning of weekly snapshots.

A random split of snapshot rows would leak: the same worker's neighbouring weeks
share almost every feature and the very same exit. Splitting on the calendar and
censoring training labels at the split date means a model is trained only on what
was known on that date, exactly as it will be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from continuity.features.snapshots import WARM_UP_WEEKS
from continuity.models.targets import CENSORED, EVENT, snapshot_key, typed_labels

# The fewest weeks a model is fitted on before the calibration stretch: half a year, the longest
# look-back of the inputs (26 weeks), so that a worker's weekly rows span enough changes (pay steps,
# team moves, sick leave) and enough exits to learn from.
MIN_TRAINING_WEEKS = 26
# The fewest voluntary leavers in those training weeks: with fewer than about 10 events a survival
# fit follows individual leavers, not a pattern, even with the Cox model's penalty and the trees'
# shallow splits; validation and test quality show how far above it an export must be.
MIN_TRAINING_LEAVERS = 10
# The fewest test weeks the chosen model is reported on: one quarter, the shortest horizon.
MIN_TEST_WEEKS = 13
# The fewest weeks of rows a base model fitted elsewhere is recalibrated on (each followed for the
# shortest horizon): two months, so that the map is not one month's tender cycle. It learns two
# numbers per horizon, not a model, so it needs far less than MIN_TRAINING_WEEKS.
MIN_RECALIBRATION_WEEKS = 8


class InsufficientHistory(ValueError):
    """The export is too short, or has too few leavers, to train, calibrate and test a model honestly."""


@dataclass(frozen=True)
class Windows:
    """Where the weekly run cuts the history: the last `holdout_weeks` test; the `calibration_weeks` +
    max(`horizons`) weeks before them calibrate and validate (`calibrate_held_out`); training is the rest."""

    holdout_weeks: int
    calibration_weeks: int
    horizons: tuple[int, ...]  # the horizons the held-out stretch is long enough to calibrate


def minimum_weeks(calibration_weeks: int = 13, horizons: Sequence[int] = (13, 26, 52)) -> int:
    """The shortest history a run can use: training, the shortest calibration stretch, and the test weeks."""
    return MIN_TRAINING_WEEKS + min(horizons) + calibration_weeks + MIN_TEST_WEEKS


def plan_windows(snapshots: pd.DataFrame, labels: pd.DataFrame, holdout_weeks: int = 52,
                 calibration_weeks: int = 13, horizons: Sequence[int] = (13, 26, 52),
                 weeks: int | None = None) -> Windows:
    """The full windows where the history allows them, else test and calibration stretch shrunk alike.

    With at least MIN_TRAINING_WEEKS before the full windows nothing changes. On a shorter
    history both shrink in proportion, leaving exactly MIN_TRAINING_WEEKS to train on, the
    calibration stretch no shorter than `calibration_weeks` + min(`horizons`) and the test no
    shorter than MIN_TEST_WEEKS; horizons longer than the stretch can follow are left uncalibrated.
    InsufficientHistory, in one sentence saying what is missing, below those minimums or with
    fewer than MIN_TRAINING_LEAVERS voluntary leavers in the training weeks.
    `weeks`, when given, is the export's count of snapshot weeks: rows thinned to every other week
    (`snapshots.training_rows`) may have lost the first, and the sentence names the export's count.
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    weeks = _weeks(dates) if weeks is None else weeks
    least = minimum_weeks(calibration_weeks, horizons)
    needs = (f"needs at least {least} weekly snapshots ({least + WARM_UP_WEEKS} weeks of export, the first "
             f"{WARM_UP_WEEKS} only warm up the features) and {MIN_TRAINING_LEAVERS} voluntary leavers in the weeks "
             "it trains on")
    test, stretch = _test_and_stretch(weeks - MIN_TRAINING_WEEKS, holdout_weeks, calibration_weeks, horizons)
    if test < MIN_TEST_WEEKS:
        raise InsufficientHistory(f"The weekly run {needs}; this export gives {weeks} weekly snapshots.")
    calibrated = tuple(h for h in horizons if h <= stretch - calibration_weeks)
    start = _stretch_start(dates, test, stretch)
    label_dates = pd.to_datetime(labels["snapshot_date"])
    known = censor_at(labels[label_dates < start], start)
    leavers = known.loc[known["exit_reason"].eq(EVENT), "worker_id"].nunique()
    if leavers == 0:
        raise InsufficientHistory(f"The weekly run {needs}; this export has no voluntary leaver before "
                                  f"{start:%Y-%m-%d}: include past leavers, not only current staff.")
    if leavers < MIN_TRAINING_LEAVERS:
        raise InsufficientHistory(f"The weekly run {needs}; this export has only {leavers} voluntary leavers "
                                  f"before {start:%Y-%m-%d}.")
    return Windows(test, stretch - max(calibrated), calibrated)


def plan_recalibration(snapshots: pd.DataFrame, labels: pd.DataFrame, holdout_weeks: int = 52,
                       calibration_weeks: int = 13, horizons: Sequence[int] = (13, 26, 52),
                       weeks: int | None = None) -> Windows:
    """The windows for recalibrating a base model fitted elsewhere: as `plan_windows`, without training weeks.

    A history too short for both a test of MIN_TEST_WEEKS and the shortest calibration stretch
    gives all its weeks to the calibration stretch and has no test weeks of its own
    (`holdout_weeks` 0): one year of export, after the features' warm-up, is such a history.
    InsufficientHistory, in one sentence, below min(`horizons`) + MIN_RECALIBRATION_WEEKS weekly
    snapshots or with fewer than MIN_TRAINING_LEAVERS voluntary leavers in the calibration stretch:
    the map would follow a handful of people, as a model would. `weeks` as in `plan_windows`.
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    weeks = _weeks(dates) if weeks is None else weeks
    least = min(horizons) + MIN_RECALIBRATION_WEEKS
    needs = (f"Recalibrating the base model needs at least {least} weekly snapshots ({least + WARM_UP_WEEKS} weeks "
             f"of export) and {MIN_TRAINING_LEAVERS} voluntary leavers in the weeks it calibrates on")
    if weeks < least:
        raise InsufficientHistory(f"{needs}; this export gives {weeks} weekly snapshots.")
    test, stretch = _test_and_stretch(weeks, holdout_weeks, calibration_weeks, horizons)
    if test < MIN_TEST_WEEKS:
        test, stretch, calibration_weeks = 0, weeks, MIN_RECALIBRATION_WEEKS
    calibrated = tuple(h for h in horizons if h <= stretch - calibration_weeks)
    start = _stretch_start(dates, test, stretch)
    cutoff = start + pd.Timedelta(weeks=stretch)
    label_dates = pd.to_datetime(labels["snapshot_date"])
    known = censor_at(labels[(label_dates >= start) & (label_dates < cutoff)], cutoff)
    leavers = known.loc[known["exit_reason"].eq(EVENT), "worker_id"].nunique()
    if leavers < MIN_TRAINING_LEAVERS:
        raise InsufficientHistory(f"{needs}; this export has {leavers} voluntary leavers from {start:%Y-%m-%d} "
                                  f"to {cutoff:%Y-%m-%d}.")
    return Windows(test, stretch - max(calibrated), calibrated)


def _weeks(dates: pd.Series) -> int:
    return 0 if dates.empty else int((dates.max() - dates.min()).days // 7) + 1


def _test_and_stretch(spare: int, holdout_weeks: int, calibration_weeks: int,
                      horizons: Sequence[int]) -> tuple[int, int]:
    """The test and calibration stretch from `spare` weeks: the full ones where they fit, else both shrunk
    alike, the stretch no shorter than `calibration_weeks` + min(`horizons`); a test under MIN_TEST_WEEKS
    is for the caller to refuse."""
    full_stretch = max(horizons) + calibration_weeks
    if spare >= holdout_weeks + full_stretch:
        return holdout_weeks, full_stretch
    stretch = max(min(horizons) + calibration_weeks, round(full_stretch * spare / (holdout_weeks + full_stretch)))
    return spare - stretch, stretch


def _stretch_start(dates: pd.Series, test: int, stretch: int) -> pd.Timestamp:
    """The first week of the calibration stretch, which ends where the `test` last weeks begin."""
    return dates.max() - pd.Timedelta(weeks=test - 1) - pd.Timedelta(weeks=stretch)


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
    labels = typed_labels(labels)
    weeks_to_cutoff = (cutoff - labels["snapshot_date"]).dt.days / 7
    beyond = labels["duration_weeks"] >= weeks_to_cutoff
    censored = labels.copy()
    censored.loc[beyond, "duration_weeks"] = weeks_to_cutoff[beyond]
    censored.loc[beyond, "exit_reason"] = CENSORED
    return censored


def time_split(snapshots: pd.DataFrame, labels: pd.DataFrame, holdout_weeks: int) -> Split:
    """Hold out the last `holdout_weeks` snapshot weeks; train on the weeks before, censored at the split.

    0 holds nothing out: the split is a week after the last snapshot (`plan_recalibration` on a short history).
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    split_date = dates.max() - pd.Timedelta(weeks=holdout_weeks - 1)
    if holdout_weeks < 0 or not (dates < split_date).any():
        raise ValueError(f"holdout_weeks={holdout_weeks} leaves no training weeks before {dates.max():%Y-%m-%d}")
    in_train = dates < split_date
    label_dates = pd.to_datetime(labels["snapshot_date"])
    return Split(
        split_date=split_date,
        train_snapshots=snapshots[in_train],
        train_labels=censor_at(labels[label_dates < split_date], split_date),
        test_snapshots=snapshots[~in_train],
        test_labels=typed_labels(labels[label_dates >= split_date]),
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
