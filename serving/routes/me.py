"""The worker's own view: their forecast with its interval and drivers, the data it used, who read it,
what was done with it, and where the model card is (GDPR art. 15; AI Act art. 86).

A worker token reaches this and nothing else (``auth.grant_requiring``). The view reads the
published week and the access file only, as every answer does: which data the model used comes
from the week's ``model_inputs`` table, where the data comes from is said here in words, and who
read the record comes from the audit log, as role, time and endpoint.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from continuity.access import Grant
from continuity.advisory import NOTICE
from continuity.horizons import HORIZONS, risk_column
from continuity.serving.auditing import audit_of
from continuity.serving.auth import WorkerDep
from continuity.serving.routes.reviews import REVIEWS_SHOWN
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED
from continuity.serving.schemas_oversight import OwnRecord
from continuity.translatable import N_

CARD = "/models/champion/card"
READS_SHOWN = 100
DATA_SOURCES = N_(
    "Your employer's HR export: your contract (type, end date, hours, pay scale, occupation, team, start date); "
    "HR events (pay steps, sick leave spells and their length, team and manager changes, overtime); your client "
    "assignments and contacts (how many clients, their case complexity, how many are vulnerable; client ids are "
    "pseudonymised); colleagues leaving your team; and your organisation's municipal funding contracts and tenders. "
    "Your gender and age are kept only to check that the model treats groups alike; they are never its inputs. "
    "No diagnoses or notes are stored."
)

router = APIRouter(
    tags=["worker"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "Not a worker token: this is a worker's own view."},
    },
)


def _figures(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Each horizon's probability with its interval; all null when the probability is withheld."""
    withheld = record.get("withheld") is not None
    return [
        {"horizon": h, **{key: None if withheld else record.get(column)
                          for key, column in (("probability", risk_column(h)), ("low", f"{risk_column(h)}_low"),
                                              ("high", f"{risk_column(h)}_high"))}}
        for h in HORIZONS
    ]


def own_record(request: Request, grant: Grant) -> OwnRecord:
    """The worker's view, read this week; the read is audited like any other read of a worker. The
    journal is applied first, so that the reads listed include the latest."""
    week, access, worker_id = request.app.state.store.current(), request.app.state.access, grant.worker_id
    audit_of(request, grant)([worker_id])
    request.app.state.audit.apply()
    record = week.by_worker.get(worker_id)
    reads_total, reads = access.reads_of(worker_id, READS_SHOWN)
    _, reviews = access.reviews(worker_id=worker_id, limit=REVIEWS_SHOWN)
    return OwnRecord(
        worker_id=worker_id, week=week.score_date, scored=record is not None,
        model_name=week.model_name, model_version=week.model_version,
        probabilities=[] if record is None else _figures(record),
        withheld=None if record is None else record.get("withheld"),
        drivers=[] if record is None else record["drivers"],
        data_used=week.publication.table("model_inputs").to_dict("records"), data_sources=DATA_SOURCES,
        reads_total=reads_total, reads=reads, reviews=reviews, card=CARD, notice=NOTICE,
    )


@router.get("/me", response_model=OwnRecord, summary="A worker's own forecast, its data, who read it, and its reviews")
def me(request: Request, grant: WorkerDep) -> OwnRecord:
    """For a worker token: your probability of leaving within 13, 26 and 52 weeks with its 90% interval
    (or why it is withheld), every driver of it, the data the model used, who read your record (role and
    time), the reviews of your forecast and the model card's address. Audited."""
    return own_record(request, grant)
