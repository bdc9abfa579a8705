"""Readiness: whether a published week is being served, which model produced it, and how old it is."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response

from continuity.run_record import Freshness
from continuity.serving.deps import StoreDep
from continuity.serving.freshness import served_freshness
from continuity.serving.schemas import Health, LastRun
from continuity.serving.store import NothingPublished

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    summary="Service readiness",
    responses={503: {"model": Health, "description": "Up, but no published week can be served."}},
)
def health(request: Request, store: StoreDep, response: Response) -> Health:
    """200 while a published week is served; 503, with the same body, when none is, so a
    load balancer or the weekly flow's smoke test can tell a running service from a useful one.
    Either way it says how old the list is and how the last weekly run ended (`up_to_date`), for a
    monitor that should raise the alarm when a week failed or is late."""
    try:
        week = store.current()
    except NothingPublished as reason:
        response.status_code = 503
        return Health(status="no_data", week=None, workers_scored=0, model_name=None, model_version=None,
                      detail=str(reason), **_age(served_freshness(request, None)))
    return Health(status="ok", week=week.score_date, workers_scored=len(week.ranked),
                  model_name=week.model_name, model_version=week.model_version,
                  **_age(served_freshness(request, week)))


def _age(fresh: Freshness) -> dict:
    run = fresh.last_run
    return {"data_end": fresh.data_end, "up_to_date": fresh.up_to_date, "behind": fresh.behind(),
            "last_run": None if run is None else LastRun(**asdict(run))}
