"""Turn a fitted forecaster and one week's snapshot into the published risk list and survival curves."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

HORIZONS = (13, 26)
CURVE_WEEKS = tuple(range(0, 53))


def score_week(forecaster, snapshot: pd.DataFrame, score_date: date, model_name: str,
               model_version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every active worker at `score_date`.

    Rank 1 is the highest risk of leaving within 26 weeks, the horizon HR plans on;
    ties keep the order of the snapshot so that a rerun gives the same list.
    """
    snapshot = snapshot.reset_index(drop=True)
    risk = forecaster.predict_risk(snapshot, HORIZONS).reset_index(drop=True)
    drivers = forecaster.explain(snapshot, top=3)
    scores = pd.DataFrame({
        "score_date": score_date,
        "worker_id": snapshot["worker_id"],
        "organisation_id": snapshot["organisation_id"],
        "team_id": snapshot["team_id"],
        "p_13w": risk["p_13w"].to_numpy(dtype=float),
        "p_26w": risk["p_26w"].to_numpy(dtype=float),
        "drivers": [json.dumps(d) for d in drivers],
        "model_name": model_name,
        "model_version": str(model_version),
    })
    scores["rank"] = scores["p_26w"].rank(method="first", ascending=False).astype(int)
    scores = scores.sort_values("rank").reset_index(drop=True)

    survival = forecaster.predict_survival(snapshot, CURVE_WEEKS)
    curves = pd.DataFrame({
        "score_date": score_date,
        "worker_id": np.repeat(snapshot["worker_id"].to_numpy(), len(CURVE_WEEKS)),
        "week": np.tile(np.asarray(CURVE_WEEKS, dtype=int), len(snapshot)),
        "survival": survival.reshape(-1),
    })
    return scores, curves
