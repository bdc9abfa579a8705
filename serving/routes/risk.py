"""The weekly risk list HR works from: ranked, filtered within the caller's scope, paged or exported."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from continuity.access import Grant
from continuity.serving.deps import RiskQueryDep, RiskSelection
from continuity.serving.exports import risk_frame, to_csv, to_xlsx
from continuity.serving.schemas import NOT_PUBLISHED, Problem, RiskList, UNAUTHENTICATED

router = APIRouter(
    tags=["risk"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        403: {"model": Problem, "description": "A sector token, or a filter outside the token's organisation or teams."},
        404: {"model": Problem, "description": "Unknown organisation or team in this week's scores (admin only)."},
    },
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _risk_list_json(selection: RiskSelection, grant: Grant, page: int, page_size: int, items: list[dict[str, Any]]) -> bytes:
    """The RiskList body: the envelope serialised by the model, the items spliced in from the JSON the
    week keeps for each worker (``items`` is the model's last field, so its empty list ends the envelope)."""
    envelope = RiskList(
        week=selection.week.score_date, horizon=selection.horizon, sort=selection.order, total=len(selection.workers),
        page=page, page_size=page_size, items=[],
    ).model_dump_json().encode()
    entries = b",".join(selection.week.item_json(grant, item["worker_id"]) for item in items)
    return envelope.removesuffix(b"[]}") + b"[" + entries + b"]}"


@router.get("/risk-list", response_model=RiskList, summary="This week's workers, highest risk of leaving first")
async def risk_list(
    query: RiskQueryDep,
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, description="Workers per page, 1 to 500.")] = 50,
) -> Response:
    """Workers of the caller's scope scored in the latest published week, by calibrated probability
    of leaving voluntarily within the horizon (highest first), or with `sort=exposure` by their
    clients at stake (expected exposure), with the trend since last week, the clients and the top
    drivers of each score. The workers returned are recorded in the audit log."""
    selection = query.select()
    start = (page - 1) * page_size
    items = selection.workers[start : start + page_size]
    query.audit(item["worker_id"] for item in items)
    return Response(_risk_list_json(selection, query.grant, page, page_size, items), media_type="application/json")


def _attachment(selection: RiskSelection, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="risk-list-{selection.week.score_date}.{extension}"'}


@router.get(
    "/risk-list.csv", summary="The risk list as CSV", response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The whole filtered list."}},
)
def risk_list_csv(query: RiskQueryDep) -> Response:
    """Same filters and scope as /risk-list, every matching worker (no paging); text cells are
    neutralised against spreadsheet formula injection. Audited."""
    selection = query.select()
    query.audit(record["worker_id"] for record in selection.workers)
    return Response(to_csv(risk_frame(selection)), media_type="text/csv; charset=utf-8", headers=_attachment(selection, "csv"))


@router.get(
    "/risk-list.xlsx", summary="The risk list as an Excel workbook", response_class=Response,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}, "description": "The whole filtered list."}},
)
def risk_list_xlsx(query: RiskQueryDep) -> Response:
    """Same as the CSV, as a workbook with a second sheet stating that the figures are advisory. Audited."""
    selection = query.select()
    query.audit(record["worker_id"] for record in selection.workers)
    return Response(to_xlsx(risk_frame(selection)), media_type=XLSX, headers=_attachment(selection, "xlsx"))
