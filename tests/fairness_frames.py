"""A population with known, calibrated probabilities of leaving within 26 weeks, for the audit and the gate.

Each person is one row followed for 60 weeks; they leave voluntarily within 26
weeks with exactly the probability the "model" states, so every group's O/E is 1
up to chance and the AUC is the same in every group. `distorted` doubles the
probabilities of one group: a model that overstates that group's risk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from continuity.models.fairness import fairness_audit

HORIZON = 26
PEOPLE = 6000


def population(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(outcomes, groups, probabilities) of `PEOPLE` people."""
    rng = np.random.default_rng(seed)
    p = np.clip(0.12 * np.exp(rng.normal(0, 0.7, PEOPLE)), 0.005, 0.45)
    left = rng.random(PEOPLE) < p
    outcomes = pd.DataFrame({
        "snapshot_date": pd.Timestamp("2024-01-01"),
        "duration": np.where(left, rng.uniform(1, HORIZON, PEOPLE), 60.0),
        "event": left,
        "exit_reason": np.where(left, "voluntary", "censored"),
        "followed_weeks": 60.0,
    })
    groups = pd.DataFrame({
        "gender": rng.choice(["f", "m"], PEOPLE),
        "age_band": rng.choice(["25-34", "35-44", "45-54"], PEOPLE),
        "contract_type": rng.choice(["permanent", "temporary or flex"], PEOPLE, p=[0.7, 0.3]),
        "occupation": rng.choice(["casemanager", "wijkteam generalist"], PEOPLE),
    })
    return outcomes, groups, pd.Series(p)


def audit(p: pd.Series, seed: int = 0) -> pd.DataFrame:
    outcomes, groups, _ = population(seed)
    people = pd.Series([f"W{i}" for i in range(PEOPLE)])
    return fairness_audit(outcomes, pd.DataFrame({f"p_{HORIZON}w": p}), groups, people)


def distorted(p: pd.Series, attribute: str, group: str, factor: float, seed: int = 0) -> pd.Series:
    _, groups, _ = population(seed)
    return p.where(groups[attribute].ne(group), np.minimum(factor * p, 1.0))
