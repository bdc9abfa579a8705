"""The drift check of the published week, for the admin: do this week's workers still look like the weeks
the model learnt from, and did its earlier forecasts come true (continuity.models.drift)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from continuity.serving.auth import AdminDep
from continuity.serving.deps import WeekDep
from continuity.serving.schemas import NOT_PUBLISHED, UNAUTHENTICATED, Problem
from continuity.serving.schemas_monitoring import FeatureDrift, Monitoring, OutcomeCheck
from continuity.serving.store import PublishedWeek

router = APIRouter(
    tags=["monitoring"],
    responses={**UNAUTHENTICATED, 403: {"model": Problem, "description": "Not an admin token."}, **NOT_PUBLISHED},
)


@router.get("/monitoring", response_model=Monitoring, summary="Input drift and realised against expected leavers")
def monitoring(_: AdminDep, week: WeekDep) -> Monitoring:
    """Per model input, the PSI and a KS or chi-square test of this week against the training weeks; per
    horizon, realised against expected leavers of the latest published week whose horizon has passed, with
    its 90% interval; and the alerts among them."""
    return week_monitoring(week)


def week_monitoring(week: PublishedWeek) -> Monitoring:
    """The published week's drift check as the API answers it and the admin's page (/ui/monitoring) shows it."""
    checks = _records(week)
    features = [FeatureDrift(**c) for c in checks if c["kind"] == "feature"]
    outcomes = [OutcomeCheck(**c) for c in checks if c["kind"] == "outcome"]
    return Monitoring(week=week.score_date, model_name=week.model_name, model_version=week.model_version,
                      alerts=[c["reason"] for c in checks if c["alert"]], features=features, outcomes=outcomes)


def _records(week: PublishedWeek) -> list[dict[str, Any]]:
    frame = week.publication.table("monitoring")
    frame = frame.assign(cohort_date=frame["cohort_date"].dt.date)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
