"""Fit the candidate forecasters, choose one honestly, report it on weeks nobody looked at.

Three periods, all cut on the calendar with labels censored at each cut:
fit | validation | test. Candidates are fitted on the fit period and the
champion is the best by *validation* C-index; every candidate is then refitted
on fit + validation (the whole training period) and scored on the test weeks.
The test figures are reported, never used to choose, so they stay an unbiased
estimate of how the champion will do on next year's weeks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
from sklearn.base import clone

from continuity.models.base import HORIZONS, Forecaster
from continuity.models.cox import CoxForecaster
from continuity.models.evaluation import evaluate, oracle_metrics
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.split import time_split


@dataclass(frozen=True)
class Selection:
    champion: str
    forecasters: dict[str, Forecaster]  # refitted on the whole training period
    validation: dict[str, dict]
    validation_date: pd.Timestamp
    test_date: pd.Timestamp
    test: dict[str, dict] = field(default_factory=dict)  # filled by `evaluate_held_out`
    oracle: dict | None = None  # the true hazard's metrics on the test weeks (synthetic sector only)

    @property
    def forecaster(self) -> Forecaster:
        return self.forecasters[self.champion]


def train_and_select(
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    holdout_weeks: int = 52,
    thin_every: int = 4,
    oracle: pd.DataFrame | None = None,
    candidates: Sequence[Forecaster] | None = None,
    horizons: Sequence[int] = HORIZONS,
) -> Selection:
    """Train, choose and report in one call: `train` followed by `evaluate_held_out`."""
    selection = train(snapshots, labels, holdout_weeks, thin_every, candidates, horizons)
    return evaluate_held_out(selection, snapshots, labels, holdout_weeks, oracle, horizons)


def train(
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    holdout_weeks: int = 52,
    thin_every: int = 4,
    candidates: Sequence[Forecaster] | None = None,
    horizons: Sequence[int] = HORIZONS,
) -> Selection:
    """Needs more than 2 x `holdout_weeks` snapshot weeks: validation and test periods are both that long.

    Horizon metrics need `holdout_weeks` >= the horizon: a row counts only once it has been followed that long.
    """
    candidates = candidates or (CoxForecaster(thin_every=thin_every), GradientBoostingForecaster(thin_every=thin_every))
    outer = time_split(snapshots, labels, holdout_weeks)
    inner = time_split(outer.train_snapshots, outer.train_labels, holdout_weeks)

    validation = {
        c.name: evaluate(
            clone(c).fit(inner.train_snapshots, inner.train_labels), inner.test_snapshots, inner.test_labels, horizons
        )
        for c in candidates
    }
    champion = max(validation, key=lambda name: validation[name]["c_index"])
    forecasters = {c.name: clone(c).fit(outer.train_snapshots, outer.train_labels) for c in candidates}
    return Selection(
        champion=champion,
        forecasters=forecasters,
        validation=validation,
        validation_date=inner.split_date,
        test_date=outer.split_date,
    )


def evaluate_held_out(
    selection: Selection,
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    holdout_weeks: int = 52,
    oracle: pd.DataFrame | None = None,
    horizons: Sequence[int] = HORIZONS,
) -> Selection:
    """Score every candidate, and the oracle when known, on the test weeks that training never saw."""
    outer = time_split(snapshots, labels, holdout_weeks)
    return replace(
        selection,
        test={name: evaluate(f, outer.test_snapshots, outer.test_labels, horizons)
              for name, f in selection.forecasters.items()},
        oracle=None if oracle is None else oracle_metrics(oracle, outer.test_snapshots, outer.test_labels, horizons),
    )
