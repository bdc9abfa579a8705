"""The weekly risk list HR works from: ranked, filtered to an organisation or team, paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from continuity.serving.deps import StoreDep
from continuity.serving.schemas import Problem, RiskList

router = APIRouter(
    tags=["risk"],
    responses={
        404: {"model": Problem, "description": "Unknown organisation or team in this week's scores."},
        503: {"model": Problem, "description": "No week published yet, or the warehouse is being written."},
    },
)


@router.get("/risk-list", response_model=RiskList, summary="This week's workers, highest risk of leaving first")
def risk_list(
    store: StoreDep,
    organisation_id: Annotated[str | None, Query(description="Only workers of this organisation.")] = None,
    team_id: Annotated[str | None, Query(description="Only workers of this team.")] = None,
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, description="Workers per page, 1 to 500.")] = 50,
) -> RiskList:
    """Workers scored in the latest published week, by calibrated probability of leaving
    voluntarily within 26 weeks (highest first), with the top drivers of each score."""
    week = store.current()  # read here, not as a dependency, so a bad parameter is a 422 even before data exist
    if organisation_id is not None and organisation_id not in week.organisations:
        raise HTTPException(404, f"organisation '{organisation_id}' has no scored workers in the week of {week.score_date}")
    if team_id is not None and team_id not in week.teams:
        raise HTTPException(404, f"team '{team_id}' has no scored workers in the week of {week.score_date}")
    total, items = week.risk_page(page, page_size, organisation_id, team_id)
    return RiskList(week=week.score_date, total=total, page=page, page_size=page_size, items=items)
