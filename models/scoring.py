"""Turn a fitted forecaster and one week's snapshot into the published risk list and curves.

Each probability is published with its 90% interval (``continuity.models.calibration``).
Where the fairness audit found the scoring model unreliable for a group a worker belongs
to, the worker's probabilities are withheld, with the reason: decided here, when the week
is published, so that every answer (API, page, export) reads the same verdict. A withheld
worker has no rank either, and the others are ranked among themselves (``rank_shown``).
"""

from __future__ import annotations

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
    passes through them exactly at 13, 26 and 52 weeks. Drivers are computed
    for all workers at once (`Explanations.drivers_json`): no loop per worker.
    """
    snapshot = snapshot.reset_index(drop=True)
    incidence, bounds = forecaster.predict_incidence_and_interval(snapshot, CURVE_WEEKS, HORIZONS)
    explained = forecaster.explain(snapshot)
    scores = pd.DataFrame({
        "score_date": score_date,
        "worker_id": snapshot["worker_id"],
        "organisation_id": snapshot["organisation_id"],
        "team_id": snapshot["team_id"],
        **{risk_column(h): incidence[:, CURVE_WEEKS.index(h)] for h in HORIZONS},
        **bounds.to_dict("series"),
        "withheld": None,
        "drivers": explained.drivers_json(),
        "relative_hazard": explained.relative_hazard,
        "other_factors": explained.other_factors,
        "model_name": model_name,
        "model_version": str(model_version),
    })
    scores = rank_shown(scores)

    curves = pd.DataFrame({
        "score_date": score_date,
        "worker_id": np.repeat(snapshot["worker_id"].to_numpy(), len(CURVE_WEEKS)),
        "week": np.tile(np.asarray(CURVE_WEEKS, dtype=int), len(snapshot)),
        "survival": (1.0 - incidence).reshape(-1),
    })
    return scores, curves



def rank_shown(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank 1, 2, ... by the 26-week probability among the workers whose probabilities are shown (ties in row
    order), those first; a withheld worker has no rank and comes after them, by worker id.

    A place in a list sorted by probability is the probability in other words: a withheld worker ranked
    among the others, or a gap in the others' ranks, would tell whoever reads the list roughly what
    was withheld. So nothing about the others' ranks or order depends on a withheld probability."""
    shown = scores["withheld"].isna()
    rank = scores[risk_column(LIST_HORIZON)].where(shown).rank(method="first", ascending=False).astype("Int64")
    scores = scores.assign(rank=rank)
    return pd.concat([scores[shown].sort_values("rank"), scores[~shown].sort_values("worker_id")],
                     ignore_index=True)


def interval_columns() -> list[str]:
    return [f"{risk_column(h)}_{end}" for h in HORIZONS for end in ("low", "high")]


def withhold(scores: pd.DataFrame, groups: pd.DataFrame, fairness: pd.DataFrame | None) -> pd.DataFrame:
    """Withhold the probabilities of workers in a group the audit of the scoring model judged unreliable.

    `groups` has `worker_id` and a column per audited attribute (gender, age_band,
    contract_type, occupation) holding the worker's group; `fairness` is the
    audit's table (attribute, group, horizon, status, model_version). One horizon
    judged unreliable withholds them all: the horizons share the model and the
    list's order. The published probability stays in the table for the sector
    and team totals, where a group's error is one term among many; every answer
    about the person shows null and the reason instead, no interval and no rank (``rank_shown``).
    """
    if fairness is None or fairness.empty:
        return scores
    versions = set(scores["model_version"].astype(str))
    unreliable = fairness[fairness["status"].eq("unreliable") & fairness["model_version"].astype(str).isin(versions)]
    judged = (unreliable.groupby(["attribute", "group"])["horizon"]
              .agg(lambda h: ", ".join(map(str, sorted(set(h))))).reset_index())
    long = groups.melt(id_vars="worker_id", value_vars=[c for c in groups if c != "worker_id"],
                       var_name="attribute", value_name="group").astype({"group": str})
    hits = long.merge(judged.astype({"group": str}), on=["attribute", "group"])
    reasons = (hits.assign(reason=lambda f: "the fairness audit found the model unreliable for " + f["attribute"]
                           + " " + f["group"] + " at " + f["horizon"] + " weeks")
               .groupby("worker_id")["reason"].agg("; ".join))
    withheld = scores["worker_id"].map(reasons)
    scores = scores.assign(withheld=withheld.astype(object).where(withheld.notna(), None))
    scores.loc[withheld.notna(), interval_columns()] = np.nan
    return rank_shown(scores)
