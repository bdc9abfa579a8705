"""The tender calendar for sector bodies (and hr for its own organisation, admin): per running funding contract,
its end, its workers and clients, the extra departures its approaching end brings and the clients at risk if the
tender is lost (``continuity.forecasts.tender_calendar``)."""

from __future__ import annotations

from fastapi import APIRouter

from continuity.access.policy import Role
from continuity.serving.deps import ForecastAnswersDep, SectorReaderDep, WeekDep
from continuity.serving.schemas import NOT_PUBLISHED, UNAUTHENTICATED, Problem
from continuity.serving.schemas_tenders import FundingContracts

router = APIRouter(
    tags=["sector"],
    responses={
        **UNAUTHENTICATED,
        403: {"model": Problem, "description": "A manager or worker token: the calendar is for sector, hr and admin "
                                               "tokens."},
        **NOT_PUBLISHED,
    },
)


@router.get("/funding-contracts", response_model=FundingContracts, summary="The tender calendar")
def funding_contracts(grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep) -> FundingContracts:
    """Per funding contract running at the score week, by end date: its end and whether a successor is known,
    the scored workers on it and the clients with an open case with them, the expected voluntary leavers among
    those workers before the end against the model's figure with the end far away (the difference: the extra
    departures the approaching end adds; model-based, not causal), and the clients at risk if the tender is lost
    (every open case with a worker on the contract). Never an individual. For a sector token (limited to regions:
    the contracts of its municipalities) counts follow the aggregates' small-cell suppression, decided jointly
    with the aggregates' groupings, and client counts under 10 are withheld; an hr token gets its own
    organisation's contracts only, in full."""
    return FundingContracts(week=week.score_date, method=answers.tender_method,
                            contracts=answers.funding_contracts(week, *calendar_scope(grant)))


def calendar_scope(grant) -> tuple[str | None, frozenset[str]]:
    """(organisation, regions) of the calendar a grant reads: an hr token its organisation's, unsuppressed."""
    return (grant.organisation_id if grant.role is Role.hr else None), grant.regions
