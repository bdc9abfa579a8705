"""The web page for HR and managers: log in with a token, the risk list, a worker, a team.

Server-rendered with Jinja2, plain forms and links, no JavaScript. Each page goes through the
same scoped and audited dependencies as the API, so a page can show nothing the API would
refuse. The token travels in an HttpOnly, SameSite=Strict cookie set by the login form.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from continuity.serving.auth import COOKIE, AccessDep
from continuity.serving.charts import Plot
from continuity.serving.deps import AuditDep, RiskQueryDep, ScoredWorkerDep, TeamDep, WeekDep
from continuity.serving.schemas import Horizon
from continuity.serving.team import team_view
from continuity.serving.templating import render

PAGE_SIZE = 50

router = APIRouter(prefix="/ui", include_in_schema=False, default_response_class=HTMLResponse)


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/risk-list", status_code=303)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
async def login(request: Request, access: AccessDep) -> Response:
    """Plain urlencoded form, parsed here: the service needs no multipart dependency for one field."""
    token = parse_qs((await request.body()).decode()).get("token", [""])[0].strip()
    if not token or access.authenticate(token) is None:
        return render(request, "login.html", status_code=401, error="That token is unknown or has been revoked.")
    response = RedirectResponse("/ui/risk-list", status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/",
    )
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/risk-list")
def risk_list(
    request: Request, query: RiskQueryDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    selection = query.select()
    start = (page - 1) * PAGE_SIZE
    items = selection.workers[start : start + PAGE_SIZE]
    query.audit(item["worker_id"] for item in items)
    visible = selection.week.visible(query.grant, selection.horizon)
    return render(
        request, "risk_list.html", week=selection.week, horizon=selection.horizon, items=items, page=page,
        pages=max(1, -(-len(selection.workers) // PAGE_SIZE)), total=len(selection.workers),
        filters={k: request.query_params.get(k) or "" for k in ("organisation_id", "team_id", "occupation")},
        options={
            column: sorted({record[column] for record in visible if record[column] is not None})
            for column in ("organisation_id", "team_id", "occupation")
        },
    )


@router.get("/workers/{worker_id}")
def worker(request: Request, scored: ScoredWorkerDep) -> HTMLResponse:
    week, worker = scored.week, scored.record
    worker_id = worker["worker_id"]
    plot = Plot()
    return render(
        request, "worker.html", week=week, worker=worker, plot=plot, curve=plot.path(week.survival(worker_id)),
        exposure=week.worker_exposure.get(worker_id), clients=sorted(
            week.clients.get(worker_id, []), key=lambda c: (not c["vulnerable"], -c["complexity"], -c["exposure"])
        ),
    )


@router.get("/teams/{team_id}")
def team(
    request: Request, members: TeamDep, week: WeekDep, audit: AuditDep, horizon: Annotated[Horizon, Query()] = Horizon.weeks_26,
) -> HTMLResponse:
    audit(member["worker_id"] for member in members)
    return render(request, "team.html", week=week, team=team_view(week, members, horizon))
