"""The one interface every forecaster of voluntary leaving offers.

Like scikit-learn (and `sklearn.base.clone`-able): `__init__` only stores
parameters, `fit` returns self, learned state ends in `_`. Both forecasters are
proportional-hazards models, S(t | x) = exp(-H0(t) * exp(f(x))), so subclasses
supply, on the encoded design matrix, the fit (which also sets the baseline
cumulative hazard H0 as a step function), the log hazard f(x) and its
per-column contributions. Thinning, label joining, encoding, survival curves,
risk columns and explanations are shared here so the forecasters cannot drift apart.

Voluntary leaving is the event; other exits are censored at their exit time
(see `continuity.models.targets`), so probabilities are of the cause-specific
kind: P(leaving voluntarily within h weeks) if no other exit came first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from continuity.models.encoding import FeatureEncoder
from continuity.models.explanation import top_drivers
from continuity.models.split import thin
from continuity.models.targets import attach_labels

HORIZONS = (13, 26)


def risk_column(horizon: int) -> str:
    return f"p_{horizon}w"


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
        self._fit_design(self.encoder_.transform(rows), target["duration"].to_numpy(), target["event"].to_numpy())
        self.n_training_rows_ = len(rows)
        self.n_events_ = int(target["event"].sum())
        return self

    def predict_survival(self, snapshots: pd.DataFrame, weeks: Sequence[int]) -> np.ndarray:
        """P(not yet left voluntarily after w weeks), shape (rows, len(weeks))."""
        # H0 is right-continuous: zero before the first training time (so S(0) = 1) and flat
        # after the last one: no extrapolation past the longest training follow-up.
        steps = np.searchsorted(self.baseline_weeks_, np.asarray(weeks, dtype=float), side="right")
        baseline = np.concatenate([[0.0], self.baseline_cumulative_hazard_])[steps]
        hazard_ratio = np.exp(self._log_hazard(self.encoder_.transform(snapshots)))
        return np.exp(-np.outer(hazard_ratio, baseline))

    def predict_risk(
        self, snapshots: pd.DataFrame, horizons: Sequence[int] = HORIZONS, calibrated: bool = True
    ) -> pd.DataFrame:
        """P(leaving voluntarily within h weeks) per horizon, as columns `p_<h>w` on the input's index.

        Calibrated where a calibrator was attached (see `continuity.models.calibration`)
        and it knows the horizon; the survival curves stay the model's own.
        """
        survival = self.predict_survival(snapshots, horizons)
        risk = pd.DataFrame(1.0 - survival, index=snapshots.index, columns=[risk_column(h) for h in horizons])
        calibrator = getattr(self, "calibrator_", None)
        return calibrator.transform(risk) if calibrated and calibrator is not None else risk

    def calibrate(self, calibrator) -> Self:
        """Attach a fitted `HorizonCalibrator`, learnt on a period this model's training did not cover."""
        self.calibrator_ = calibrator
        return self

    def explain(self, snapshots: pd.DataFrame, top: int = 3) -> list[list[dict]]:
        """Per row the `top` drivers of its risk: feature, plain-words label, direction, log-hazard contribution."""
        design = self.encoder_.transform(snapshots)
        contributions = self.encoder_.to_features(self._contributions(design))
        return top_drivers(contributions, self.encoder_.raw(snapshots), self.encoder_, top)

    def example(self) -> pd.DataFrame:
        """A reference-worker input (no real person's data), e.g. for a model signature."""
        return self.encoder_.example()

    @abstractmethod
    def _fit_design(self, design: pd.DataFrame, duration: np.ndarray, event: np.ndarray) -> None:
        """Fit, then set `baseline_weeks_` and `baseline_cumulative_hazard_` (H0 at those weeks)."""

    @abstractmethod
    def _log_hazard(self, design: pd.DataFrame) -> np.ndarray:
        """f(x), on the same scale as the baseline the fit set."""

    @abstractmethod
    def _contributions(self, design: pd.DataFrame) -> pd.DataFrame:
        """Log-hazard contribution of each design column, relative to the average training worker."""
