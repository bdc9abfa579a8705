"""Top drivers of one worker's risk, in words a manager reads.

Both forecasters explain on the log-hazard scale, relative to the average
training worker: the Cox model by beta_j * (x_j - mean_j), gradient boosting by
SHAP values. Only the ranking of drivers and their sign are meant to be read;
contributions are not probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from continuity.features.feature_spec import BY_NAME
from continuity.models.encoding import FeatureEncoder


def describe(feature: str, value: object, encoder: FeatureEncoder) -> str:
    """The feature's label with the worker's side of it: "high caseload ...", "occupation: jongerenwerker"."""
    label = BY_NAME[feature].label
    if feature in encoder.categorical:
        return f"{label}: {value}"
    if pd.isna(value):
        return f"{label}: not recorded"
    if feature in encoder.binary_:
        return f"{label}: {'yes' if value else 'no'}"
    return f"{'high' if value > encoder.reference_[feature] else 'low'} {label}"


def top_drivers(
    contributions: pd.DataFrame, raw: pd.DataFrame, encoder: FeatureEncoder, top: int
) -> list[list[dict]]:
    """Per row, the `top` features with the largest absolute contribution, largest first."""
    values = contributions.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
    features = contributions.columns
    drivers = []
    for i, row_order in enumerate(order):
        row = []
        for j in row_order:
            contribution = float(values[i, j])
            if contribution == 0.0:
                break
            feature = features[j]
            row.append(
                {
                    "feature": feature,
                    "label": describe(feature, raw[feature].iat[i], encoder),
                    "direction": "raises" if contribution > 0 else "lowers",
                    "contribution": contribution,
                }
            )
        drivers.append(row)
    return drivers
