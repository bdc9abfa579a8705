"""Readiness: whether a published week is being served, and which model produced it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from continuity.serving.deps import StoreDep
from continuity.serving.schemas import Health
from continuity.serving.store import NothingPublished

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    summary="Service readiness",
    responses={503: {"model": Health, "description": "Up, but no published week can be served."}},
)
def health(store: StoreDep, response: Response) -> Health:
    """200 while a published week is served; 503, with the same body, when none is, so a
    load balancer or the weekly flow's smoke test can tell a running service from a useful one."""
    try:
        week = store.current()
    except NothingPublished as reason:
        response.status_code = 503
        return Health(status="no_data", week=None, workers_scored=0, model_name=None, model_version=None,
                      detail=str(reason))
    return Health(status="ok", week=week.score_date, workers_scored=len(week.ranked),
                  model_name=week.model_name, model_version=week.model_version)
