"""Aggregate forecasts for sector bodies (and hr, admin): expected outflow and affected clients, never an individual."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from continuity.serving.deps import SectorAnswersDep, SectorReaderDep, WeekDep
from continuity.serving.schemas import Problem, UNAUTHENTICATED
from continuity.serving.schemas_planning import AggregateBy, Aggregates, PlanningHorizon

router = APIRouter(
    tags=["sector"],
    responses={
        **UNAUTHENTICATED,
        403: {"model": Problem, "description": "A manager token: aggregates are for sector, hr and admin tokens."},
        503: {"model": Problem, "description": "No week published yet, the warehouse is being written, or it lacks "
                                               "the contract tables the groupings come from."},
    },
)


@router.get("/aggregates", response_model=Aggregates, summary="Expected leavers and affected clients per group")
async def aggregates(
    _: SectorReaderDep, week: WeekDep, answers: SectorAnswersDep,
    by: Annotated[AggregateBy, Query(description="Group by region, organisation, main domain or occupation.")],
    horizon: Annotated[PlanningHorizon, Query(description="Leaving within 13, 26 or 52 weeks.")] = PlanningHorizon.weeks_26,
) -> Response:
    """Per group: expected voluntary leavers within the horizon with a 90% interval, clients expected to
    lose their trusted worker, and last year's observed voluntary outflow. Cells under 10 workers are
    suppressed together with complementary cells, decided jointly over every grouping, so that no
    hidden cell can be recovered by subtracting published cells or combining queries."""
    return Response(await answers.aggregates(week, by, horizon), media_type="application/json")
