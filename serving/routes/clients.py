"""The client discontinuity monitor for hr and managers: the clients of their workers who lost the most familiar
faces this year, and who are likely to lose more (``serving.discontinuity``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from continuity.access import Grant, Role
from continuity.serving.auditing import audit_of
from continuity.serving.auth import grant_requiring
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED
from continuity.serving.schemas_clients import DiscontinuityMonitorPage


def _caseload_reader(grant: Grant) -> None:
    """The monitor lists clients one by one: for those who plan their care, hr and managers, not for admin, sector
    or worker tokens."""
    if grant.role not in (Role.hr, Role.manager):
        raise HTTPException(403, f"the client discontinuity monitor is for hr and manager tokens; yours is "
                                 f"{grant.role.value} ({grant.scope})")


CaseloadReaderDep = Annotated[Grant, Depends(grant_requiring(_caseload_reader))]
Page = Annotated[int, Query(ge=1, description="Page number, from 1.")]
PageSize = Annotated[int, Query(ge=1, le=500, description="Clients per page, 1 to 500.")]

router = APIRouter(
    prefix="/clients",
    tags=["clients"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "Any token but hr or manager."},
    },
)


def monitor_page(request: Request, grant: Grant, page: int, page_size: int) -> dict[str, Any]:
    """One page of the grant's monitor; its clients' in-scope workers are recorded in the audit log, and the
    case numbers shown with them too (``serving.case_numbers``)."""
    week = request.app.state.store.current()
    ranked = request.app.state.discontinuity.ranked(week, grant)
    items = ranked[(page - 1) * page_size : page * page_size]
    audit = audit_of(request, grant)
    workers = sorted({w["worker_id"] for item in items for w in item["current_workers"]})
    audit(workers)
    return {"week": week.score_date, "total": len(ranked), "flagged": sum(item["flagged"] for item in ranked),
            "page": page, "page_size": page_size,
            "items": request.app.state.case_numbers.shown(grant, audit, items, workers)}


@router.get("/discontinuity", response_model=DiscontinuityMonitorPage,
            summary="Clients who lost the most familiar faces, most first")
def discontinuity(request: Request, grant: CaseloadReaderDep, page: Page = 1, page_size: PageSize = 50
                  ) -> DiscontinuityMonitorPage:
    """Clients of the token's workers ranked by new faces in the last 52 weeks, handovers, the familiarity of
    their current workers and the expected handovers in the next 26 weeks; three or more new faces is flagged.
    A withheld probability (or one outside the token's scope) is left out of the expected handovers and counted
    in workers_not_counted. Audited."""
    return DiscontinuityMonitorPage(**monitor_page(request, grant, page, page_size))
