"""Turn a fitted forecaster and one week's snapshot into the published risk list and curves."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from continuity.horizons import HORIZONS, LIST_HORIZON, risk_column

CURVE_WEEKS = tuple(range(0, 53))


def score_week(forecaster, snapshot: pd.DataFrame, score_date: date, model_name: str,
               model_version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every active worker at `score_date`: (risk list, curves).

    Rank 1 is the highest risk of leaving within 26 weeks; ties keep the order
    of the snapshot so that a rerun gives the same list. The curve is the
    probability of not having left voluntarily after w weeks (1 minus the
    cumulative incidence), computed once with the probabilities so that it
    passes through them exactly at 13, 26 and 52 weeks.
    """
    snapshot = snapshot.reset_index(drop=True)
    incidence = forecaster.predict_incidence(snapshot, CURVE_WEEKS)
    drivers = forecaster.explain(snapshot, top=3)
    scores = pd.DataFrame({
        "score_date": score_date,
        "worker_id": snapshot["worker_id"],
        "organisation_id": snapshot["organisation_id"],
        "team_id": snapshot["team_id"],
        **{risk_column(h): incidence[:, CURVE_WEEKS.index(h)] for h in HORIZONS},
        "drivers": [json.dumps(d) for d in drivers],
        "model_name": model_name,
        "model_version": str(model_version),
    })
    scores["rank"] = scores[risk_column(LIST_HORIZON)].rank(method="first", ascending=False).astype(int)
    scores = scores.sort_values("rank").reset_index(drop=True)

    curves = pd.DataFrame({
        "score_date": score_date,
        "worker_id": np.repeat(snapshot["worker_id"].to_numpy(), len(CURVE_WEEKS)),
        "week": np.tile(np.asarray(CURVE_WEEKS, dtype=int), len(snapshot)),
        "survival": (1.0 - incidence).reshape(-1),
    })
    return scores, curves

