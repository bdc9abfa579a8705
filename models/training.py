"""Fit the candidate forecasters, choose and calibrate one honestly, report it on weeks nobody looked at.

Two periods, cut on the calendar with labels censored at the cut: training |
test (the last `holdout_weeks`). Inside the training period each candidate is
fitted once more on the weeks before a held-out stretch ending at the cut
(`continuity.models.calibration.calibrate_held_out`), which gives both its
validation C-index, to choose among them, and its per-horizon calibration.
Every candidate is then fitted on the whole training period, calibrated, and
scored on the test weeks, as is the current champion when there is one: the test
figures are reported and feed the champion gate, but never choose among the
candidates, so they stay an unbiased estimate of next year's quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
from sklearn.base import clone

from continuity.features.feature_spec import MODEL_FEATURES
from continuity.horizons import HORIZONS
from continuity.models.base import Forecaster
from continuity.models.calibration import calibrate_held_out
from continuity.models.cox import CoxForecaster
from continuity.models.fairness import audit_forecaster, proxy_check
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.metrics import Oracle, evaluate
from continuity.models.split import Windows, time_split


@dataclass(frozen=True)
class Selection:
    """The candidates of one run and the one `chosen` on validation: a candidate for the registry's
    `champion`, which it becomes only if the promotion gate lets it."""

    chosen: str
    forecasters: dict[str, Forecaster]  # fitted on the whole training period and calibrated
    validation: dict[str, dict]
    validation_date: pd.Timestamp  # start of the held-out stretch that chose and calibrated
    test_date: pd.Timestamp
    test: dict[str, dict] = field(default_factory=dict)  # filled by `evaluate_held_out`
    oracle: dict | None = None  # the true hazard's metrics on the test weeks (synthetic sector only)
    incumbent: dict | None = None  # the current champion's metrics on the same test weeks, if there is one
    fairness: pd.DataFrame | None = None  # the chosen candidate's fairness audit on the test weeks
    incumbent_fairness: pd.DataFrame | None = None  # the champion's, on the same rows
    proxies: dict | None = None  # how well the chosen candidate's inputs predict each protected attribute
    holdout_weeks: int = 52  # the test weeks `test_date` starts, for `evaluate_held_out`

    @property
    def forecaster(self) -> Forecaster:
        return self.forecasters[self.chosen]


def default_candidates(features: Sequence[str] = MODEL_FEATURES) -> tuple[Forecaster, ...]:
    """The forecasters every run fits, on the given inputs (`feature_spec.model_features`)."""
    return CoxForecaster(features=features), GradientBoostingForecaster(features=features)


def train_and_select(
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    holdout_weeks: int = 52,
    calibration_weeks: int = 13,
    oracle: pd.DataFrame | None = None,
    candidates: Sequence[Forecaster] | None = None,
    horizons: Sequence[int] = HORIZONS,
) -> Selection:
    """Train, choose and report in one call: `train` followed by `evaluate_held_out`."""
    selection = train(snapshots, labels, holdout_weeks, calibration_weeks, candidates, horizons)
    return evaluate_held_out(selection, snapshots, labels, holdout_weeks, oracle, horizons=horizons)


def train(
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    holdout_weeks: int = 52,
    calibration_weeks: int = 13,
    candidates: Sequence[Forecaster] | None = None,
    horizons: Sequence[int] = HORIZONS,
    windows: Windows | None = None,
) -> Selection:
    """Needs training weeks before the held-out stretch: more than `holdout_weeks` + max(horizons) + `calibration_weeks`.

    `windows` (`continuity.models.split.plan_windows`), when given, replaces the three: the
    windows fitted to a short history.
    """
    candidates = candidates or default_candidates()
    calibrated = horizons
    if windows is not None:
        holdout_weeks, calibration_weeks = windows.holdout_weeks, windows.calibration_weeks
        calibrated = windows.horizons
    outer = time_split(snapshots, labels, holdout_weeks)
    held_out = {
        c.name: calibrate_held_out(c, outer.train_snapshots, outer.train_labels, outer.split_date,
                                   calibration_weeks, calibrated)
        for c in candidates
    }
    validation = {name: h.validation for name, h in held_out.items()}
    chosen = max(validation, key=lambda name: validation[name]["c_index"])
    forecasters = {
        c.name: clone(c).fit(outer.train_snapshots, outer.train_labels).calibrate(held_out[c.name].calibrator)
        for c in candidates
    }
    return Selection(
        chosen=chosen,
        forecasters=forecasters,
        validation=validation,
        validation_date=next(iter(held_out.values())).period_start,
        test_date=outer.split_date,
        holdout_weeks=holdout_weeks,
    )


def evaluate_held_out(
    selection: Selection,
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    holdout_weeks: int = 52,
    oracle: pd.DataFrame | None = None,
    incumbent: Forecaster | None = None,
    horizons: Sequence[int] = HORIZONS,
) -> Selection:
    """Score every candidate, the current champion and the oracle (each when known) on the test weeks,
    and audit the chosen candidate and the champion per group there.

    The incumbent was fitted before its own run's test weeks, which start no
    later than these, so it has not seen them either.
    """
    outer = time_split(snapshots, labels, holdout_weeks)

    def on_test(forecaster: Forecaster) -> dict:
        return evaluate(forecaster, outer.test_snapshots, outer.test_labels, horizons)

    def audit(forecaster: Forecaster) -> pd.DataFrame:
        return audit_forecaster(forecaster, outer.test_snapshots, outer.test_labels, horizons)

    return replace(
        selection,
        test={name: on_test(f) for name, f in selection.forecasters.items()},
        oracle=None if oracle is None else on_test(Oracle(oracle)),
        incumbent=None if incumbent is None else on_test(incumbent),
        fairness=audit(selection.forecaster),
        incumbent_fairness=None if incumbent is None else audit(incumbent),
        proxies=proxy_check(outer.test_snapshots, selection.forecaster.features),
    )
