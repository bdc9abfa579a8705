"""One worker: the risk with its explanation and survival curve, and what their leaving costs their clients.

Both answers are served as the JSON the published week keeps per worker, made on the first request
for the worker (``PublishedWeek.risk_json``, ``exposure_json``) and validated against the same models
the OpenAPI document declares here; after it, only the scope check and the audit run per request. An exposure
answer for hr or a manager, once the organisation has loaded its case numbers, is built per request:
it carries them (``serving.case_numbers``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from continuity.serving.case_numbers import CASE_NUMBER_READERS
from continuity.serving.deps import AuditDep, CaseNumbersDep, ScoredWorkerDep
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED, WorkerExposure, WorkerRisk

router = APIRouter(
    prefix="/workers",
    tags=["workers"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "A sector token, or a worker outside the token's organisation or teams."},
        404: {"model": Problem, "description": "The worker has no score in the latest published week: for admin any "
                                               "such id, for hr and managers a worker last scored in their scope."},
    },
)


@router.get("/{worker_id}", response_model=WorkerRisk, summary="A worker's risk, drivers and survival curve")
async def worker_risk(worker: ScoredWorkerDep) -> Response:
    """Probability of leaving voluntarily within 13 and 26 weeks, rank in the sector-wide list,
    top drivers, and the survival curve, from the latest published week. Audited."""
    return Response(worker.week.risk_json(worker.grant, worker.record["worker_id"]), media_type="application/json")


@router.get("/{worker_id}/exposure", response_model=WorkerExposure, summary="What the worker's leaving costs their clients")
async def worker_exposure(worker: ScoredWorkerDep, audit: AuditDep, case_numbers: CaseNumbersDep) -> Response:
    """Relational exposure: how many (vulnerable) clients depend on this worker and how much,
    with each client's continuity indices; clients are pseudonymised, most exposed first, with their case
    numbers for hr and managers. Audited."""
    week, worker_id = worker.week, worker.record["worker_id"]
    if audit.grant.role not in CASE_NUMBER_READERS or not case_numbers.lookup():
        return Response(week.exposure_json(worker_id), media_type="application/json")
    clients = case_numbers.shown(audit.grant, audit, week.clients.get(worker_id, []), [worker_id])
    answer = WorkerExposure(worker_id=worker_id, week=week.score_date, summary=week.exposure_summary(worker_id),
                            clients=clients)
    return Response(answer.model_dump_json(), media_type="application/json")
