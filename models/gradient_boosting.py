"""Gradient-boosted Cox forecaster (XGBoost `survival:cox`).

Boosted trees find interactions the linear Cox model cannot (complex cases hurt
starters more than veterans). XGBoost only learns a log hazard ratio per cause;
the Breslow baseline the base class estimates with the learnt scores turns it
into a cumulative hazard, H(t | x) = H0(t) * exp(f(x)).

Shallow trees by default: depth 2 already captures the pairwise interactions the
sector names, and deeper trees overfit the few hundred voluntary exits a single
organisation sees in a year.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xgboost as xgb

from continuity.features.feature_spec import MODEL_FEATURES
from continuity.models.attribution import tree_group_effects
from continuity.models.base import Forecaster


class GradientBoostingForecaster(Forecaster):
    name = "gradient_boosting"
    standardise = False

    def __init__(
        self,
        n_estimators: int = 150,
        learning_rate: float = 0.05,
        max_depth: int = 2,
        subsample: float = 0.8,
        n_jobs: int = 2,
        random_state: int = 0,
        thin_every: int = 4,
        follow_up_weeks: int | None = 13,
        features: Sequence[str] = MODEL_FEATURES,
        categorical_features: Sequence[str] | None = None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.thin_every = thin_every
        self.follow_up_weeks = follow_up_weeks
        self.features = features
        self.categorical_features = categorical_features

    def _fit_learner(self, design: pd.DataFrame, duration: np.ndarray, event: np.ndarray) -> xgb.Booster:
        return xgb.train(
            {
                "objective": "survival:cox",
                "eval_metric": "cox-nloglik",
                "tree_method": "hist",
                "learning_rate": self.learning_rate,
                "max_depth": self.max_depth,
                "subsample": self.subsample,
                "nthread": self.n_jobs,
                "seed": self.random_state,
            },
            # survival:cox reads a negative label as "censored at |label|". QuantileDMatrix bins the columns as it
            # reads them, the bins `hist` trains on anyway, without a float copy of the whole design matrix.
            xgb.QuantileDMatrix(design, label=np.where(event, duration, -duration)),
            num_boost_round=self.n_estimators,
        )

    def _log_hazard(self, learner: xgb.Booster, design: pd.DataFrame) -> np.ndarray:
        # in place: no DMatrix copy of the rows to score
        return learner.inplace_predict(design, predict_type="margin")

    def _group_effects(self, learner: xgb.Booster, design: pd.DataFrame, references: pd.DataFrame,
                       weights: np.ndarray, groups: pd.Series, n_groups: int) -> np.ndarray:
        # Exact interventional Shapley values of the trees against the reference worker (models/attribution.py).
        return tree_group_effects(learner, design.to_numpy(), references[design.columns].to_numpy(), weights,
                                  groups[design.columns].to_numpy(), n_groups)
