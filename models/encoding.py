"""Turning snapshot feature columns into one numeric design matrix, the same at fit and predict.

Each feature gets its own transformer, so every design column is named
`<feature>__<part>` and contributions can always be summed back to the feature
a manager reads about (all occupation dummies back to "occupation").
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from continuity.features.feature_spec import BY_NAME, DERIVED, MODEL_FEATURES

SEPARATOR = "__"


class FeatureEncoder:
    """One-hot categories (unseen ones encode as all zeros) and, for linear models, impute and standardise.

    Trees handle missing values and scale themselves, so `standardise=False`
    passes numeric columns through untouched, NaN included. With
    `standardise=True` a missing value becomes the training median plus a
    missing-indicator column (only for features that had gaps in training), so
    that "unknown" can carry its own effect.
    """

    # Class-level default: encoders pickled in registered models before this option existed still load.
    categorical_features: frozenset[str] | None = None

    def __init__(
        self,
        features: Sequence[str] = MODEL_FEATURES,
        standardise: bool = True,
        categorical_features: Sequence[str] | None = None,
    ):
        self.features = tuple(features)
        self.standardise = standardise
        # Columns outside the snapshot feature spec (any HR file) say for themselves which are categories.
        self.categorical_features = None if categorical_features is None else frozenset(categorical_features)

    @property
    def categorical(self) -> list[str]:
        if self.categorical_features is not None:
            return [f for f in self.features if f in self.categorical_features]
        return [f for f in self.features if BY_NAME[f].categorical]

    @property
    def numeric(self) -> list[str]:
        categorical = set(self.categorical)
        return [f for f in self.features if f not in categorical]

    @property
    def inputs(self) -> list[str]:
        """The snapshot columns the features are read from: indicators (``DERIVED``) come from their source."""
        return list(dict.fromkeys(DERIVED[f].source if f in DERIVED else f for f in self.features))

    def fit(self, snapshots: pd.DataFrame) -> FeatureEncoder:
        raw = self.raw(snapshots)
        numeric = (
            make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
            if self.standardise
            else "passthrough"
        )
        self.transformer_ = ColumnTransformer(
            [(f, OneHotEncoder(handle_unknown="ignore", sparse_output=False), [f]) for f in self.categorical]
            + [(f, numeric, [f]) for f in self.numeric],
            verbose_feature_names_out=True,
        ).set_output(transform="pandas")
        design = self.transformer_.fit_transform(raw)
        # A constant column carries no information and makes the Cox Hessian singular.
        self.columns_ = [c for c in design.columns if design[c].nunique(dropna=False) > 1]
        self.reference_ = pd.Series(
            {f: raw[f].mode().iat[0] for f in self.categorical} | {f: raw[f].mean() for f in self.numeric}
        )
        self.dtypes_ = snapshots[self.inputs].dtypes
        self.input_reference_ = self.reference_.reindex(self.inputs).fillna(snapshots[self.inputs].mean(numeric_only=True))
        self.binary_ = {f for f in self.numeric if set(raw[f].dropna().unique()) <= {0.0, 1.0}}
        # Each category's share of the training rows: the reference worker's category is the population's mix
        # (continuity.models.explanation.reference_workers), as its number is the population's mean.
        self.category_shares_ = {f: raw[f].value_counts(normalize=True, sort=False) for f in self.categorical}
        return self

    def raw(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """The model features only, categories as text and numbers (booleans included) as floats;
        indicators are computed from their source column even where a snapshot carries them."""
        missing = [f for f in self.inputs if f not in snapshots.columns]
        if missing:
            raise KeyError(f"snapshots lack model features: {missing}")
        raw = pd.DataFrame({
            f: DERIVED[f].of(snapshots[DERIVED[f].source].astype("float64")) if f in DERIVED else snapshots[f]
            for f in self.features
        }, index=snapshots.index)
        for f in self.categorical:
            if self.categorical_features is None:  # snapshot features: open vocabularies are grouped
                raw[f] = BY_NAME[f].grouped(raw[f])
            raw[f] = raw[f].astype("string").fillna("unknown").astype(object)
        for f in self.numeric:
            raw[f] = raw[f].astype("float64")
        return raw

    def transform(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        return self.transformer_.transform(self.raw(snapshots))[self.columns_].astype("float64")

    def feature_of(self, column: str) -> str:
        return column.split(SEPARATOR, 1)[0]

    def to_features(self, column_values: pd.DataFrame) -> pd.DataFrame:
        """Sum per-column values (contributions) back to one value per model feature."""
        grouped = column_values.T.groupby(self.feature_of, sort=False).sum().T
        return grouped.reindex(columns=list(self.features), fill_value=0.0)

    def example(self) -> pd.DataFrame:
        """A reference worker (modal category, mean number) in the training dtypes: an input
        example that holds nobody's data yet has the types scoring will be given (MLflow
        refuses to cast int64 to float64, so the types must match, not merely fit)."""
        row = {}
        for f in self.inputs:
            value, dtype = self.input_reference_[f], self.dtypes_[f]
            if pd.api.types.is_bool_dtype(dtype):
                value = value >= 0.5
            elif pd.api.types.is_integer_dtype(dtype):
                value = round(value)
            row[f] = pd.Series([value]).astype(dtype)
        return pd.DataFrame(row)
