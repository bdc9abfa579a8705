"""Response model of the drift check (``GET /monitoring``), as the weekly run published it.

Descriptions land in the OpenAPI document at /docs, where an administrator reads what a figure means.
"""

from __future__ import annotations

import datetime

from pydantic import BaseModel, Field

from continuity.serving.schemas import Week

ALERT = ("Whether the check alerts: a PSI of 0.25 or more, or an observed/expected ratio whose 90% interval "
         "lies wholly outside 0.8-1.25.")


class FeatureDrift(BaseModel):
    feature: str = Field(description="Model input (features/feature_spec.py).")
    test: str = Field(description="'ks' (Kolmogorov-Smirnov, numbers) or 'chi2' (chi-square, categories and flags).")
    psi: float = Field(description="Population stability index of this week's values against the training weeks'.")
    statistic: float | None = Field(description="The test's statistic; null when the week has no value to test.")
    p_value: float | None = Field(description="The test's p-value; with thousands of workers small for any shift, "
                                              "so it does not alert by itself.")
    alert: bool = Field(description=ALERT)
    reason: str | None = Field(description="The alert in words; null without an alert.")


class OutcomeCheck(BaseModel):
    cohort_date: datetime.date = Field(description="The published week whose forecasts are judged: the latest one "
                                                   "whose horizon the data now covers.")
    horizon: int = Field(description="Weeks.")
    expected: float = Field(ge=0, description="Sum of that week's published probabilities at the horizon.")
    realised: float = Field(ge=0, description="Voluntary leavers among that week's scored workers within the horizon.")
    observed_expected: float | None = Field(description="realised / expected; null when nothing was expected.")
    # Default null: a week published before the interval was computed has none.
    oe_low: float | None = Field(None, description="Lower end of the ratio's 90% interval (Garwood's exact Poisson "
                                             "interval of the realised count over the expected); null as the ratio.")
    oe_high: float | None = Field(None, description="Upper end of the ratio's 90% interval; null as the ratio.")
    alert: bool = Field(description=ALERT)
    reason: str | None = Field(description="The alert in words; null without an alert.")


class Monitoring(BaseModel):
    week: Week
    model_name: str = Field(description="Registered model that scored the week.")
    model_version: str = Field(description="Its version, whose training weeks the inputs are compared with.")
    alerts: list[str] = Field(description="Every alert of the week in words; empty when none.")
    features: list[FeatureDrift] = Field(description="Per model input, training weeks against this week.")
    outcomes: list[OutcomeCheck] = Field(description="Per horizon, realised against expected leavers; empty until "
                                                     "a published week's horizon has passed.")
