"""One worker: the risk with its explanation and survival curve, and what their leaving costs their clients."""

from __future__ import annotations

from fastapi import APIRouter

from continuity.serving.deps import ScoredWorkerDep, WeekDep
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED, WorkerExposure, WorkerRisk

router = APIRouter(
    prefix="/workers",
    tags=["workers"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "A sector token, or a worker outside the token's organisation or teams."},
        404: {"model": Problem, "description": "The worker has no score in the latest published week (admin only)."},
    },
)

NO_CLIENTS = {
    "active_clients": 0,
    "vulnerable_clients": 0,
    "mean_relationship_weeks": None,
    "weighted_clients": 0.0,
    "expected_exposure_13w": 0.0,
    "expected_exposure_26w": 0.0,
}


@router.get("/{worker_id}", response_model=WorkerRisk, summary="A worker's risk, drivers and survival curve")
async def worker_risk(worker: ScoredWorkerDep, week: WeekDep) -> WorkerRisk:
    """Probability of leaving voluntarily within 13 and 26 weeks, rank in the sector-wide list,
    top drivers, and the survival curve, from the latest published week. Audited."""
    return WorkerRisk(week=week.score_date, survival=week.survival(worker["worker_id"]), **worker)


@router.get("/{worker_id}/exposure", response_model=WorkerExposure, summary="What the worker's leaving costs their clients")
async def worker_exposure(worker: ScoredWorkerDep, week: WeekDep) -> WorkerExposure:
    """Relational exposure: how many (vulnerable) clients depend on this worker and how much,
    with each client's continuity indices; clients are pseudonymised, most exposed first. Audited."""
    worker_id = worker["worker_id"]
    return WorkerExposure(
        worker_id=worker_id,
        week=week.score_date,
        summary=week.worker_exposure.get(worker_id, NO_CLIENTS),
        clients=week.clients.get(worker_id, []),
    )
