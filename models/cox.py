"""Penalised Cox proportional-hazards forecaster (lifelines).

The transparent baseline: one hazard ratio per standardised feature, readable in
a works-council meeting. A ridge penalty keeps the fit stable with correlated
features (sick weeks over 13 and 52 weeks) and rare categories, and keeps the noise
of a small export out of the hazard ratios that explanations show (``ridge_penalizer``).
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


RIDGE_PRIOR = 1200.0
"""The ridge penalty on the whole partial log-likelihood: a normal prior of this precision on every standardised log
hazard ratio. lifelines penalises the *mean* over the rows, so its ``penalizer`` is this over the rows fitted on. A
fixed penalizer (0.01 before) weighs alike whatever the data: too little on a few thousand rows, whose noise then
reaches the hazard ratios that explanations show (on a sector's rows it is what ``RIDGE_MIN`` keeps). Set from where
the partial likelihood of the rows held out after a fit (each followed 13 weeks, as the learner sees them) peaked,
penalizers 0.01-1 tried: 0.03-0.1 on 6,900-7,800 rows (200 of the bench sector's workers, 4 draws), 0.03-0.05 on
22,400-23,600 (600 workers), 0.05-0.07 on 36,500-61,500 (the bench sector), 0.02-0.03 on 69,300-75,100, and
0.001-0.005 on 557,000 rows (a sector of 20,000 positions): the peak falls as one over the rows, and 1,200 is the
geometric mean of the optima times their rows (455-3,690). On the bench sector's rows the likelihood is flat near its
peak (within 0.0006 per row from 0.01 to 0.1); on 7,000 rows 0.01 lost up to 0.007 per row."""
RIDGE_MAX = 0.1
"""The most penalizer the rule gives (it would give more below 12,000 rows): on 7,000 rows the held-out likelihood
peaked at 0.1 in three of four draws and fell at 0.3."""
RIDGE_MIN = 0.01
"""The least penalizer the rule gives (it would give less above 120,000 rows), the fixed one before: on 557,000 rows
the held-out likelihood was flat from 0.001 to 0.01 (within 0.00004 per row) while the held-out C-index was highest
at 0.01, and the 150,000-position week's test C-index fell from 0.640 to 0.637 with 0.0031 on its 386,603 rows."""


def ridge_penalizer(penalizer: float | None, rows: int) -> float:
    """lifelines' ``penalizer``: the one given, or when None ``RIDGE_PRIOR`` over the ``rows`` fitted on, within
    ``RIDGE_MIN`` and ``RIDGE_MAX``."""
    return min(max(RIDGE_PRIOR / max(rows, 1), RIDGE_MIN), RIDGE_MAX) if penalizer is None else penalizer


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
        penalizer: float | None = None,
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
        fitted = CoxPHFitter(penalizer=ridge_penalizer(self.penalizer, len(design))).fit(
            frame, duration_col="_duration", event_col="_event")
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
