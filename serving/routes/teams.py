"""The team view for managers: each worker's risk and relational exposure, and the clients who would lose their trusted worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from continuity.serving.deps import AuditDep, CaseNumbersDep, TeamDep, WeekDep
from continuity.serving.schemas import Horizon, NOT_PUBLISHED, Problem, TeamView, UNAUTHENTICATED
from continuity.serving.team import team_view

router = APIRouter(
    prefix="/teams",
    tags=["teams"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "A sector token, or a team outside the token's scope."},
        404: {"model": Problem, "description": "The team has no scored workers this week (admin only)."},
    },
)


@router.get("/{team_id:path}", response_model=TeamView, summary="A team's workers, their exposure, and the clients at stake")
def team(
    members: TeamDep, week: WeekDep, audit: AuditDep, case_numbers: CaseNumbersDep,
    horizon: Annotated[Horizon, Query(description="Probabilities of leaving within 13, 26 or 52 weeks.")] = Horizon.weeks_26,
) -> TeamView:
    """Every scored worker of the team with the probability of leaving and the clients expected to
    lose them; then the clients whose usual provider is in the team, most vulnerable first, with their
    case numbers for hr and managers. Audited."""
    audit(member["worker_id"] for member in members)
    return TeamView(**team_view(week, members, horizon, case_numbers, audit))
