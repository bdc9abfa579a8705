"""Human oversight of the forecasts (AI Act art. 14, 26(2)): hr and managers record what they did with a
worker's forecast; the worker page shows it, the worker sees it at /me, the admin lists the disputed ones.

A review is recorded within the reviewer's scope, exactly as a read is (``deps.scored_worker``): a worker
outside it gets the same audited 403, whether or not they exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from continuity.access import AccessStore, Action, Grant
from continuity.serving.auth import AccessDep, AdminDep, ReviewerDep
from continuity.serving.deps import ReviewedWorkerDep, ScoredWorker
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED
from continuity.serving.schemas_oversight import ReviewPage, ReviewRecord, ReviewRequest

REVIEWS_SHOWN = 100  # on a worker's page and at /me

router = APIRouter(
    tags=["oversight"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "A role that may not, or a worker outside the token's scope."},
        404: {"model": Problem, "description": "A worker of the token's scope who has no score in the latest "
                                               "published week (one who has left)."},
    },
)


def record_review(access: AccessStore, grant: Grant, worker: ScoredWorker, body: ReviewRequest) -> ReviewRecord:
    """Store the review of the worker's forecast of the published week; the web form records through this too."""
    week = worker.week
    return ReviewRecord(**access.add_review(grant, worker.record["worker_id"], body.action.value, body.note,
                                            week.score_date.isoformat(), week.model_version))


@router.post("/workers/{worker_id}/reviews", status_code=201, response_model=ReviewRecord,
             summary="Record what was done with a worker's forecast")
async def add_review(body: ReviewRequest, worker: ReviewedWorkerDep, grant: ReviewerDep, access: AccessDep) -> ReviewRecord:
    """For hr and manager tokens, within their scope: acknowledged, disputed or data_corrected, with a
    note. Stored with the token id, role, time, and the week and model version reviewed."""
    return await run_in_threadpool(record_review, access, grant, worker, body)


@router.get("/reviews", response_model=ReviewPage, summary="Reviews across the sector, e.g. the disputed ones")
def reviews(
    access: AccessDep, _: AdminDep,
    action: Annotated[Action | None, Query(description="Only reviews with this action, e.g. disputed.")] = None,
    worker_id: Annotated[str | None, Query(description="Only reviews of this worker.")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, description="Reviews per page, 1 to 500.")] = 50,
) -> ReviewPage:
    """For the admin (and through them the works council): every review, newest first, with who made it."""
    total, items = access.reviews(worker_id=worker_id, action=None if action is None else action.value,
                                  limit=page_size, offset=(page - 1) * page_size)
    return ReviewPage(total=total, page=page, page_size=page_size, items=items)
