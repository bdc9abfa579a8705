"""The one interface every forecaster of voluntary leaving offers.

Like scikit-learn (and `sklearn.base.clone`-able): `__init__` only stores
parameters, `fit` returns self, learned state ends in `_`.

Time-varying data as a landmark design: every weekly snapshot is a landmark,
its features frozen as known that week and its label the time from that week to
the exit (or the end of follow-up). Stacking the landmarks (thinned to every
`thin_every`-th week) lets caseloads, sick leave and contracts change from week
to week, while each prediction stays a plain function of the worker's state
today, which is what the weekly list scores.

Voluntary leaving is the event of interest; dismissal, retirement and the end of
a temporary contract are competing risks. Each forecaster fits one
proportional-hazards model per cause (cause-specific hazards): voluntary leaving
with other exits censored, and other exits with voluntary leaving censored,
H_c(t | x) = H0_c(t) * exp(f_c(x)), each with a Breslow baseline. A worker who is
dismissed can no longer resign, so the probability HR acts on is the cumulative
incidence of voluntary leaving,

    F(w) = sum over weeks k <= w of  S(k-1) * P(an exit in week k) * (dH_vol(k) / dH_all(k)),

with S the probability of no exit of any kind: lower than 1 - exp(-H_vol(w))
wherever other exits are common. Subclasses supply, on the encoded design
matrix, the learner of one cause (`_fit_learner`), its log hazard f(x) and the
exact Shapley values of groups of columns against a reference worker; thinning, labels, encoding, baselines, incidence,
calibration and explanations (of the voluntary cause) are shared here so the
forecasters cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sksurv.linear_model.coxph import BreslowEstimator

from continuity.horizons import HORIZONS, risk_column
from continuity.models.encoding import FeatureEncoder
from continuity.models.explanation import DriverSpec, Explanations, driver_specs, explain, reference_workers
from continuity.models.split import thin
from continuity.models.targets import attach_labels, other_exit

@dataclass(frozen=True)
class CauseHazard:
    """One cause's fitted learner and the Breslow baseline cumulative hazard that belongs to its log hazard."""

    learner: Any
    baseline_weeks: np.ndarray
    baseline_cumulative_hazard: np.ndarray

    def baseline_at(self, weeks: np.ndarray) -> np.ndarray:
        # H0 is right-continuous: zero before the first event time (so H(0) = 0) and flat
        # after the last one: no extrapolation past the longest training follow-up.
        steps = np.searchsorted(self.baseline_weeks, np.asarray(weeks, dtype=float), side="right")
        return np.concatenate([[0.0], self.baseline_cumulative_hazard])[steps]


def cumulative_incidence(hazard_cause: np.ndarray, hazard_other: np.ndarray) -> np.ndarray:
    """F(w) of the cause on a weekly grid, from both causes' cumulative hazards on that grid (rows x weeks from 0).

    Within a week both hazards are taken as constant, so the week's exits split
    between the causes in proportion to their hazard increments.
    """
    step_cause, step_other = np.diff(hazard_cause, axis=1), np.diff(hazard_other, axis=1)
    step_all = step_cause + step_other
    no_exit_before = np.exp(-(hazard_cause + hazard_other))[:, :-1]
    share = np.divide(step_cause, step_all, out=np.zeros_like(step_cause), where=step_all > 0)
    increments = no_exit_before * -np.expm1(-step_all) * share
    return np.concatenate([np.zeros((len(increments), 1)), np.cumsum(increments, axis=1)], axis=1)


def _whole_weeks(weeks: Sequence[int]) -> np.ndarray:
    weeks = np.asarray(weeks, dtype=int)
    if (weeks < 0).any():
        raise ValueError("weeks must be whole numbers of weeks from 0 on")
    return weeks


class Forecaster(BaseEstimator, ABC):
    name: ClassVar[str]
    # Linear models need imputed, standardised inputs; trees take raw numbers and NaN.
    standardise: ClassVar[bool]

    def fit(self, snapshots: pd.DataFrame, labels: pd.DataFrame) -> Self:
        """Fit on every `thin_every`-th snapshot week; `labels` must cover those rows."""
        rows = thin(snapshots, self.thin_every)
        target = attach_labels(rows, labels)
        if not target["event"].any():
            raise ValueError("no voluntary leaving in the training rows: nothing to learn from")
        self.encoder_ = FeatureEncoder(
            self.features, standardise=self.standardise, categorical_features=self.categorical_features
        ).fit(rows)
        design = self.encoder_.transform(rows)
        duration = target["duration"].to_numpy()
        other = other_exit(target["exit_reason"]).to_numpy()
        self.voluntary_ = self._fit_cause(design, duration, target["event"].to_numpy())
        # Without any other exit in the training rows the competing hazard is zero, not unknown.
        self.other_ = self._fit_cause(design, duration, other) if other.any() else None
        self.n_training_rows_ = len(rows)
        self.n_events_ = int(target["event"].sum())
        self.n_other_exits_ = int(other.sum())
        return self

    def predict_incidence(self, snapshots: pd.DataFrame, weeks: Sequence[int], calibrated: bool = True) -> np.ndarray:
        """P(leaving voluntarily within w weeks) for whole weeks w >= 0, shape (rows, len(weeks)).

        Calibrated where a calibrator was attached: the whole curve then passes
        through the calibrated probabilities at the calibrator's horizons, so a
        published curve and published probabilities never contradict each other.
        """
        weeks = _whole_weeks(weeks)
        calibrator = getattr(self, "calibrator_", None) if calibrated else None
        incidence = self._raw_incidence(snapshots, weeks, calibrator)
        return (incidence if calibrator is None else calibrator.warp(incidence))[:, weeks]

    def predict_risk(
        self, snapshots: pd.DataFrame, horizons: Sequence[int] = HORIZONS, calibrated: bool = True
    ) -> pd.DataFrame:
        """The cumulative incidence at each horizon, as columns `p_<h>w` on the input's index."""
        incidence = self.predict_incidence(snapshots, horizons, calibrated)
        return pd.DataFrame(incidence, index=snapshots.index, columns=[risk_column(h) for h in horizons])

    def predict_interval(self, snapshots: pd.DataFrame, horizons: Sequence[int] = HORIZONS) -> pd.DataFrame:
        """The 90% interval of each calibrated probability, as columns `p_<h>w_low`, `p_<h>w_high`.

        NaN at a horizon the calibrator could not learn (no leaver in its held-out
        rows) and for a model without a calibrator: there is no interval to state.
        """
        return self.predict_incidence_and_interval(snapshots, horizons, horizons)[1]

    def predict_incidence_and_interval(self, snapshots: pd.DataFrame, weeks: Sequence[int],
                                       horizons: Sequence[int] = HORIZONS) -> tuple[np.ndarray, pd.DataFrame]:
        """``predict_incidence`` at ``weeks`` and ``predict_interval`` at ``horizons`` from one computation of the
        hazards, which a week's scoring needs both of: at 150,000 workers each computation is some 4 s."""
        weeks, horizons = _whole_weeks(weeks), _whole_weeks(horizons)
        calibrator = getattr(self, "calibrator_", None)
        raw = self._raw_incidence(snapshots, np.concatenate([weeks, horizons]), calibrator)
        calibrated = raw if calibrator is None else calibrator.warp(raw)
        bounds = {}
        for h in horizons.tolist():
            known = calibrator is not None and h in calibrator.horizons
            low, high = (calibrator.interval(raw[:, h], calibrated[:, h], h) if known
                         else (np.full(len(snapshots), np.nan),) * 2)
            bounds |= {f"{risk_column(h)}_low": low, f"{risk_column(h)}_high": high}
        return calibrated[:, weeks], pd.DataFrame(bounds, index=snapshots.index)

    def _raw_incidence(self, snapshots: pd.DataFrame, weeks: np.ndarray, calibrator) -> np.ndarray:
        """The model's own incidence on the weekly grid from 0 to the last of ``weeks`` and ``calibrator``'s horizons
        (which its warp reads)."""
        knots = calibrator.horizons if calibrator is not None else ()
        grid = np.arange(0, max([*weeks.tolist(), *knots, 0]) + 1)
        design = self.encoder_.transform(snapshots)
        voluntary = self._cumulative_hazard(self.voluntary_, design, grid)
        other = np.zeros_like(voluntary) if self.other_ is None else self._cumulative_hazard(self.other_, design, grid)
        return cumulative_incidence(voluntary, other)

    def predict_cause_specific_survival(self, snapshots: pd.DataFrame, weeks: Sequence[float]) -> np.ndarray:
        """exp(-H_vol(w)): the voluntary cause's own survival, other exits censored; shape (rows, len(weeks)).

        Not a probability anyone lives through (it ignores that a dismissed worker
        cannot resign); it is what the IPCW metrics that censor other exits judge,
        and it ranks workers like the voluntary hazard ratio.
        """
        design = self.encoder_.transform(snapshots)
        return np.exp(-self._cumulative_hazard(self.voluntary_, design, np.asarray(weeks, dtype=float)))

    @property
    def followed_weeks(self) -> float:
        """The longest follow-up at which the training rows showed a voluntary leaver: past it the baseline is
        flat, so the model's probability of leaving within a longer horizon is the one at this week."""
        return float(self.voluntary_.baseline_weeks.max(initial=0.0))

    def calibrate(self, calibrator) -> Self:
        """Attach a fitted `HorizonCalibrator`, learnt on a period this model's training did not cover."""
        self.calibrator_ = calibrator
        return self

    def explain(self, snapshots: pd.DataFrame, actionable: int = 3, others: int = 2) -> Explanations:
        """Per row the drivers of its voluntary hazard (`continuity.models.explanation`): the strongest
        `actionable` ones the organisation can act on and up to `others` more, with the other factors."""
        specs = driver_specs(self.encoder_.features, self.encoder_)
        references, weights = self._reference_design(specs)
        of_feature = {feature: j for j, spec in enumerate(specs) for feature in spec.features}
        design = self.encoder_.transform(snapshots)
        groups = pd.Series([of_feature[self.encoder_.feature_of(c)] for c in design.columns], index=design.columns)
        learner = self.voluntary_.learner
        effects = self._group_effects(learner, design, references, weights, groups, len(specs))
        return explain(effects, self._log_relative_hazard(learner, design, references, weights),
                       self.encoder_.raw(snapshots), specs, self.encoder_.reference_, actionable, others)

    def relative_hazard(self, snapshots: pd.DataFrame) -> np.ndarray:
        """exp(f(x) - f(reference)): the voluntary hazard against the reference worker the drivers are measured
        from (`explanation.reference_workers`), which the drivers' hazard ratios multiply to."""
        learner = self.voluntary_.learner
        references, weights = self._reference_design(driver_specs(self.encoder_.features, self.encoder_))
        return np.exp(self._log_relative_hazard(learner, self.encoder_.transform(snapshots), references, weights))

    def _reference_design(self, specs: list[DriverSpec]) -> tuple[pd.DataFrame, np.ndarray]:
        references, weights = reference_workers(self.encoder_, specs)
        return self.encoder_.transform(references), weights

    def _log_relative_hazard(self, learner: Any, design: pd.DataFrame, references: pd.DataFrame,
                             weights: np.ndarray) -> np.ndarray:
        reference = weights @ self._log_hazard(learner, references).astype("float64")
        return self._log_hazard(learner, design).astype("float64") - reference

    def example(self) -> pd.DataFrame:
        """A reference-worker input (no real person's data), e.g. for a model signature."""
        return self.encoder_.example()

    def _fit_cause(self, design: pd.DataFrame, duration: np.ndarray, event: np.ndarray) -> CauseHazard:
        """The learner on each row's first `follow_up_weeks`, the baseline on its whole follow-up.

        A landmark row followed to the end credits a leaving a year later to the state of
        today, so effects that pass (a new manager, a sick spell) are diluted into the
        long run and their correlates (tenure, occupation) take their place. Censored after
        `follow_up_weeks` (13: the shortest published horizon), each row speaks for the
        state the worker is in now, close to a Cox model with time-varying covariates;
        on the demo sector this raised the held-out C-index (0.631 to 0.658 for Cox) and
        the drivers name the true causes far more often. The baseline still spans the
        whole follow-up, so the curves reach 52 weeks. None: the whole follow-up (one row
        per employee, as in an HR file).
        """
        window = self.follow_up_weeks
        if window is None:
            learner = self._fit_learner(design, duration, event)
        else:
            learner = self._fit_learner(design, np.minimum(duration, window), event & (duration <= window))
        breslow = BreslowEstimator().fit(self._log_hazard(learner, design), event, duration)
        return CauseHazard(learner, breslow.cum_baseline_hazard_.x, breslow.cum_baseline_hazard_.y)

    def _cumulative_hazard(self, cause: CauseHazard, design: pd.DataFrame, weeks: np.ndarray) -> np.ndarray:
        return np.outer(np.exp(self._log_hazard(cause.learner, design)), cause.baseline_at(weeks))

    @abstractmethod
    def _fit_learner(self, design: pd.DataFrame, duration: np.ndarray, event: np.ndarray) -> Any:
        """Fit one cause's log-hazard learner on the design matrix (`event`: that cause ended the row)."""

    @abstractmethod
    def _log_hazard(self, learner: Any, design: pd.DataFrame) -> np.ndarray:
        """f(x) of a fitted learner; its Breslow baseline is estimated on this same scale."""

    @abstractmethod
    def _group_effects(self, learner: Any, design: pd.DataFrame, references: pd.DataFrame, weights: np.ndarray,
                       groups: pd.Series, n_groups: int) -> np.ndarray:
        """Per row and group of columns (`groups`: each design column's group), the exact Shapley value of
        f against the reference worker (`references` rows with `weights`): rows sum to f(x) - f(reference)."""
