"""Fit the candidate forecasters, choose and calibrate one honestly, report it on weeks nobody looked at.

Two periods, cut on the calendar with labels censored at the cut: training |
test (the last `holdout_weeks`). Inside the training period each candidate is
fitted once more on the weeks before a held-out stretch ending at the cut
(`continuity.models.calibration.calibrate_held_out`), which gives both its
validation C-index, to choose among them (`promotion.choose`), and its per-horizon calibration.
Every candidate is then fitted on the whole training period, with its own
probabilities and the held-out calibration's intervals (`calibration.HorizonCalibrator.for_refitted_model`),
and scored on the test weeks, as is the current champion when there is one: the test
figures are reported and feed the champion gate, but never choose among the
candidates, so they stay an unbiased estimate of next year's quality.

A small organisation may also bring a base model, fitted elsewhere (on the sector, or
on the synthetic sector: `continuity.models.sector_base`). It is recalibrated per horizon
on the same held-out stretch (`calibration.recalibrate`) and competes with the model
chosen among the organisation's own candidates by the champion gate's own rule
(`promotion.promotion_allowed`), on the validation weeks: the own model is chosen only
when it is no worse than the recalibrated base in C-index and in ECE at 26 weeks (a
figure the stretch cannot give does not count), else the base. The base is where a
small organisation starts, so a model of its own has to earn the place, as a candidate
earns the champion's. Without training weeks (`split.plan_recalibration`) the
recalibrated base is the only candidate.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import pandas as pd
from sklearn.base import clone

from continuity.features.feature_spec import MODEL_FEATURES
from continuity.horizons import HORIZONS, LIST_HORIZON
from continuity.models.base import Forecaster
from continuity.models.calibration import calibrate_held_out, recalibrate
from continuity.models.cox import CoxForecaster
from continuity.models.fairness import audit_forecaster, proxy_check
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.metrics import Oracle, evaluate
from continuity.models.promotion import choose, promotion_allowed
from continuity.models.split import Windows, time_split
from continuity.progress import stage

# The name the recalibrated base model goes by among the candidates (their metrics, the run summary).
RECALIBRATED_BASE = "recalibrated base"


class BaseModel(Protocol):
    """A registered base model as `registry.load_base_model` gives it."""

    forecaster: Forecaster
    name: str
    version: str


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
    holdout_weeks: int = 52  # the test weeks `test_date` starts, for `evaluate_held_out`; 0: none
    source: str = "own data"  # what the chosen model was fitted on, as the run summary and the registry say it
    reason: str = ""  # why it was chosen over the other source, in figures (empty without a base model)

    @property
    def forecaster(self) -> Forecaster:
        return self.forecasters[self.chosen]


def default_candidates(features: Sequence[str] = MODEL_FEATURES, distributed: bool = False) -> tuple[Forecaster, ...]:
    """The forecasters every run fits, on the given inputs (`feature_spec.model_features`); with `distributed`
    gradient boosting trains on the Dask cluster the run's tasks run on."""
    return CoxForecaster(features=features), GradientBoostingForecaster(features=features, distributed=distributed)


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
    base: BaseModel | None = None,
) -> Selection:
    """Needs training weeks before the held-out stretch: more than `holdout_weeks` + max(horizons) + `calibration_weeks`.

    `windows` (`continuity.models.split.plan_windows`), when given, replaces the three: the
    windows fitted to a short history. With a `base` model, recalibrated on the same stretch, it
    competes with the candidates by the rule of the module docstring; empty `candidates` with a
    base (`split.plan_recalibration`'s windows) need no training weeks.
    """
    candidates = default_candidates() if candidates is None else candidates
    if not candidates and base is None:
        raise ValueError("nothing to train: no candidates and no base model")
    calibrated = horizons
    if windows is not None:
        holdout_weeks, calibration_weeks = windows.holdout_weeks, windows.calibration_weeks
        calibrated = windows.horizons
    outer = time_split(snapshots, labels, holdout_weeks)
    held_out = {}
    for c in candidates:
        with stage(f"fit {c.name} (validation, calibration)", rows=len(outer.train_snapshots)):
            held_out[c.name] = calibrate_held_out(c, outer.train_snapshots, outer.train_labels, outer.split_date,
                                                  calibration_weeks, calibrated)
    validation = {name: h.validation for name, h in held_out.items()}
    chosen = choose(validation) if validation else None
    forecasters = {}
    for c in candidates:
        with stage(f"fit {c.name}") as fitting:
            forecasters[c.name] = clone(c).fit(outer.train_snapshots, outer.train_labels).calibrate(
                held_out[c.name].calibrator.for_refitted_model())
            fitting.rows = forecasters[c.name].n_training_rows_
    source, reason = "own data", ""
    if base is not None:
        on_stretch = recalibrate(base.forecaster, outer.train_snapshots, outer.train_labels, outer.split_date,
                                 calibration_weeks, calibrated)
        held_out[RECALIBRATED_BASE] = on_stretch
        validation[RECALIBRATED_BASE] = on_stretch.validation
        # Horizons the organisation's weeks cannot follow keep the calibration the base brought from its sector.
        forecasters[RECALIBRATED_BASE] = copy.deepcopy(base.forecaster).calibrate(
            on_stretch.calibrator.keeping(getattr(base.forecaster, "calibrator_", None)))
        chosen, reason = own_or_base(validation, chosen)
        if chosen == RECALIBRATED_BASE:
            source = f"base model {base.name} v{base.version}, recalibrated on this organisation's weeks"
    return Selection(
        chosen=chosen,
        forecasters=forecasters,
        validation=validation,
        validation_date=next(iter(held_out.values())).period_start,
        test_date=outer.split_date,
        holdout_weeks=holdout_weeks,
        source=source,
        reason=reason,
    )


def own_or_base(validation: dict[str, dict], own: str | None) -> tuple[str, str]:
    """The module docstring's rule: the `own` candidate (None: there is none) when it is no worse than the
    recalibrated base on the validation weeks, else the base; with the figures that decided, in words."""
    base = validation[RECALIBRATED_BASE]
    if own is None:
        return RECALIBRATED_BASE, "too few weeks or leavers of its own to train a model on"
    mine, ece = validation[own], f"ece_{LIST_HORIZON}w"
    figures = (f"validation C-index {mine['c_index']:.3f} own ({own}) against {base['c_index']:.3f} recalibrated base, "
               f"ECE at {LIST_HORIZON} weeks {mine.get(ece, float('nan')):.3f} against {base.get(ece, float('nan')):.3f}")
    if promotion_allowed(mine, base, horizon=LIST_HORIZON):
        return own, f"{figures}: the own model is no worse in both"
    return RECALIBRATED_BASE, f"{figures}: the own model is worse in one or both"


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
    later than these, so it has not seen them either. Without test weeks (`holdout_weeks` 0)
    nothing is scored: the selection comes back as it is.
    """
    if holdout_weeks == 0:
        return selection
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
