"""The audit log of individual reads and of refused attempts, for the admin (and through them the works
council and the DPO)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from continuity.serving.auth import AccessDep, AdminDep
from continuity.serving.schemas import AuditPage, Problem, UNAUTHENTICATED

# The page's offset must fit SQLite's 64-bit integer; no audit log comes near this many pages.
MAX_PAGE = 1_000_000

router = APIRouter(
    tags=["audit"],
    responses={
        **UNAUTHENTICATED,
        403: {"model": Problem, "description": "Not an admin token."},
    },
)


@router.get("/audit", response_model=AuditPage,
            summary="Who read which worker's data, or was refused it, when, through which endpoint")
def audit_log(
    request: Request,
    access: AccessDep,
    _: AdminDep,
    worker_id: Annotated[str | None, Query(
        description="Only reads that returned this worker, or refused attempts that asked for them.")] = None,
    token_id: Annotated[str | None, Query(description="Only reads made with this token id.")] = None,
    endpoint: Annotated[str | None, Query(description="Only this endpoint, e.g. 'GET /workers/{worker_id}'.")] = None,
    since: Annotated[datetime | None, Query(description="Only reads at or after this moment (UTC when no zone).")] = None,
    until: Annotated[datetime | None, Query(description="Only reads before this moment (UTC when no zone).")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, description="Entries per page, 1 to 500.")] = 50,
) -> AuditPage:
    """Audit entries, newest first: each read with the workers whose data was returned, and each attempt
    refused (status 403) with what it asked for."""
    request.app.state.audit.apply()  # the reads still in the journal, so that every read made is listed
    total, items = access.audit(
        worker_id=worker_id, token_id=token_id, endpoint=endpoint, since=since, until=until,
        limit=page_size, offset=(page - 1) * page_size,
    )
    return AuditPage(total=total, page=page, page_size=page_size, items=items)
