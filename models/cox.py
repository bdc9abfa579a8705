"""Penalised Cox proportional-hazards forecaster (lifelines).

The transparent baseline: one hazard ratio per standardised feature, readable in
a works-council meeting. A small ridge penalty keeps the fit stable with
correlated features (sick weeks over 13 and 52 weeks) and rare categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter

from continuity.features.feature_spec import MODEL_FEATURES
from continuity.models.attribution import linear_group_effects
from continuity.models.base import Forecaster


@dataclass(frozen=True)
class CoxCoefficients:
    """All that scoring and explaining need of a fitted lifelines Cox model.

    The CoxPHFitter itself holds on to its training rows (durations, events,
    weights, residuals), which a registered model would then carry to anyone who
    loads it; kept instead are one log hazard ratio per design column and the
    training means the log hazard is centred on (the average training worker).
    """

    coefficients: pd.Series
    mean: pd.Series

    @classmethod
    def of(cls, fitted: CoxPHFitter) -> CoxCoefficients:
        return cls(fitted.params_.copy(), fitted._norm_mean.copy())

    def centred(self, design: pd.DataFrame) -> pd.DataFrame:
        columns = self.coefficients.index
        return pd.DataFrame(design[columns].to_numpy() - self.mean.to_numpy(), index=design.index, columns=columns)


class CoxForecaster(Forecaster):
    name = "cox"
    standardise = True

    def __init__(
        self,
        penalizer: float = 0.01,
        thin_every: int = 4,
        follow_up_weeks: int | None = 13,
        features: Sequence[str] = MODEL_FEATURES,
        categorical_features: Sequence[str] | None = None,
    ):
        self.penalizer = penalizer
        self.thin_every = thin_every
        self.follow_up_weeks = follow_up_weeks
        self.features = features
        self.categorical_features = categorical_features

    def _fit_learner(self, design: pd.DataFrame, duration: np.ndarray, event: np.ndarray) -> CoxCoefficients:
        frame = design.assign(_duration=duration, _event=event)
        fitted = CoxPHFitter(penalizer=self.penalizer).fit(frame, duration_col="_duration", event_col="_event")
        return CoxCoefficients.of(fitted)

    def _log_hazard(self, learner: CoxCoefficients, design: pd.DataFrame) -> np.ndarray:
        # The same arithmetic as lifelines' predict_log_partial_hazard, so scores are unchanged.
        return np.dot(learner.centred(design).to_numpy(), learner.coefficients.to_numpy())

    def _group_effects(self, learner: CoxCoefficients, design: pd.DataFrame, references: pd.DataFrame,
                       weights: np.ndarray, groups: pd.Series, n_groups: int) -> np.ndarray:
        # Linear: each group's share of beta (x - reference), the reference's columns at their weighted mean.
        columns = learner.coefficients.index
        delta = design[columns].to_numpy() - weights @ references[columns].to_numpy()
        return linear_group_effects(delta, learner.coefficients.to_numpy(), groups[columns].to_numpy(), n_groups)
