"""Aggregate forecasts for sector bodies (and hr, admin): expected outflow and affected clients, never an individual."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from continuity.serving.deps import ForecastAnswersDep, SectorReaderDep, WeekDep
from continuity.serving.schemas import NOT_PUBLISHED, UNAUTHENTICATED, Horizon, Problem
from continuity.serving.schemas_planning import AggregateBy, Aggregates

router = APIRouter(
    tags=["sector"],
    responses={
        **UNAUTHENTICATED,
        403: {"model": Problem, "description": "A manager token: aggregates are for sector, hr and admin tokens."},
        **NOT_PUBLISHED,
    },
)


@router.get("/aggregates", response_model=Aggregates, summary="Expected leavers and affected clients per group")
async def aggregates(
    _: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep,
    by: Annotated[AggregateBy, Query(description="Group by region, organisation, main domain or occupation.")],
    horizon: Annotated[Horizon, Query(description="Leaving within 13, 26 or 52 weeks.")] = Horizon.weeks_26,
) -> Response:
    """Per group: expected voluntary leavers within the horizon with a 90% interval, clients expected to
    lose their trusted worker, and last year's observed voluntary outflow. Cells under 10 workers are
    suppressed together with complementary cells, decided jointly over every grouping, so that no
    hidden cell can be recovered by subtracting published cells or combining queries, not even by
    an insider (an hr token or a team's manager) who subtracts the workers they can see: what is
    left of a published cell outside any organisation or team is 0 or at least 10 workers."""
    return Response(await answers.aggregates(week, by, horizon), media_type="application/json")
