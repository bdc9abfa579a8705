"""The web page for HR and managers: log in with a token, the risk list, a worker and its reviews, a team;
for a worker, their own view; for the admin, the week's drift check.

Server-rendered with Jinja2, plain forms and links, no JavaScript. Each page goes through the
same scoped and audited dependencies as the API, so a page can show nothing the API would
refuse. The login form trades the token for a session in an HttpOnly, SameSite=Strict cookie;
every form (login, logout, review) is refused when sent from another site (``auth``).

Ids take the rest of the path (``:path``): an id from an HR export may hold a "/", which a
link sends encoded and the server has decoded by the time the route is matched.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from continuity.access import Action, Role
from continuity.serving.auth import COOKIE, AccessDep, AdminDep, ReaderDep, ReviewerDep, WorkerDep, check_same_origin
from continuity.serving.charts import Plot
from continuity.serving.deps import (
    AuditDep, CaseNumbersDep, ReviewedWorkerDep, RiskQueryDep, ScoredWorkerDep, TeamDep, WeekDep,
)
from continuity.serving.forms import form_fields
from continuity.serving.i18n import PageError, gettext_for
from continuity.serving.discontinuity import FLAG_NEW_FACES
from continuity.serving.routes.clients import CaseloadReaderDep, monitor_page
from continuity.serving.routes.me import own_record
from continuity.serving.routes.monitoring import week_monitoring
from continuity.serving.routes.reviews import REVIEWS_SHOWN, record_review
from continuity.serving.schemas import Horizon
from continuity.serving.schemas_oversight import Review, ReviewRequest
from continuity.serving.team import team_view
from continuity.serving.templating import render

PAGE_SIZE = 50

router = APIRouter(prefix="/ui", include_in_schema=False, default_response_class=HTMLResponse)
root = APIRouter(include_in_schema=False)


@root.get("/")
def start() -> RedirectResponse:
    """The service's address leads to the page; the API's own start is /docs."""
    return RedirectResponse("/ui", status_code=303)


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/risk-list", status_code=303)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
async def login(request: Request, access: AccessDep) -> Response:
    """A worker token opens its own view, a sector token the sector page, every other role the risk list."""
    check_same_origin(request)
    form = await _form(request)
    if form is None:
        return render(request, "login.html", status_code=400,
                      error=gettext_for(request).gettext("The form could not be read: it is not valid UTF-8."))
    token = form.get("token", "").strip()
    grant = access.authenticate(token) if token else None
    if grant is None:
        return render(request, "login.html", status_code=401,
                      error=gettext_for(request).gettext("That token is unknown or has been revoked."))
    hours = request.app.state.settings.session_hours
    session = await run_in_threadpool(access.open_session, grant, hours)
    landing = {Role.worker: "/ui/me", Role.sector: "/ui/sector"}.get(grant.role, "/ui/risk-list")
    response = RedirectResponse(landing, status_code=303)
    response.set_cookie(
        COOKIE, session, max_age=math.ceil(hours * 3600), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )
    return response


async def _form(request: Request) -> dict[str, str] | None:
    """The form's fields, the first value of each (``forms.form_fields``); None when it is not a form."""
    fields = await form_fields(request)
    return None if fields is None else {key: values[0] for key, values in fields.items()}


@router.post("/logout")
def logout(request: Request, access: AccessDep) -> RedirectResponse:
    """Ends the session on the server too, so a copy of the cookie is worth nothing afterwards."""
    check_same_origin(request)
    if session := request.cookies.get(COOKIE):
        access.end_session(session)
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
        request, "risk_list.html", week=selection.week, horizon=selection.horizon, sort=selection.order.value,
        items=items, page=page,
        pages=max(1, -(-len(selection.workers) // PAGE_SIZE)), total=len(selection.workers),
        filters={k: request.query_params.get(k) or "" for k in ("organisation_id", "team_id", "occupation")},
        options={
            column: sorted({record[column] for record in visible if record[column] is not None})
            for column in ("organisation_id", "team_id", "occupation")
        },
    )


@router.get("/me")
def my_record(request: Request, grant: WorkerDep) -> HTMLResponse:
    """A worker's own view: the same answer as GET /me."""
    record = own_record(request, grant)
    return render(request, "me.html", week=request.app.state.store.current(), record=record)


@router.get("/monitoring")
def monitoring(request: Request, _: AdminDep, week: WeekDep) -> HTMLResponse:
    """The admin's drift check: the same figures as GET /monitoring, alerts first."""
    return render(request, "monitoring.html", week=week, monitoring=week_monitoring(week))


@router.get("/clients/discontinuity")
def client_discontinuity(request: Request, grant: CaseloadReaderDep, page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
    """The monitor: the same ranking as GET /clients/discontinuity, flagged clients marked."""
    monitor = monitor_page(request, grant, page, PAGE_SIZE)
    return render(request, "clients_discontinuity.html", week=request.app.state.store.current(), monitor=monitor,
                  pages=max(1, -(-monitor["total"] // PAGE_SIZE)), flag=FLAG_NEW_FACES)


@router.get("/workers/{worker_id:path}")
def worker(request: Request, scored: ScoredWorkerDep, grant: ReaderDep, access: AccessDep, audit: AuditDep,
           case_numbers: CaseNumbersDep) -> HTMLResponse:
    week, worker = scored.week, scored.record
    worker_id = worker["worker_id"]
    clients = sorted(week.clients.get(worker_id, []), key=lambda c: (not c["vulnerable"], -c["complexity"], -c["exposure"]))
    plot = Plot()
    return render(
        request, "worker.html", week=week, worker=worker, plot=plot,
        # The curve passes through the probabilities: none for a withheld worker.
        curve=None if worker["withheld"] else plot.path(week.survival(worker_id)),
        exposure=week.exposure_summary(worker_id) if worker_id in week.worker_exposure else None,
        clients=case_numbers.shown(grant, audit, clients, [worker_id]),
        reviews=[Review(**r) for r in access.reviews(worker_id=worker_id, limit=REVIEWS_SHOWN)[1]],
        reviewer=grant.role in (Role.hr, Role.manager), actions=list(Action),
    )


@router.post("/workers/{worker_id:path}/reviews")
async def review(request: Request, scored: ReviewedWorkerDep, grant: ReviewerDep, access: AccessDep) -> Response:
    """The worker page's review form: recorded as POST /workers/{worker_id}/reviews records, then back to the page."""
    form = await _form(request)
    try:
        body = ReviewRequest(**(form or {}))
    except ValidationError as error:
        problems = error.error_count()
        raise PageError(400, gettext_for(request).ngettext(
            "the review could not be recorded: choose an action and keep the note under 2000 characters "
            "(%(n)d problem)",
            "the review could not be recorded: choose an action and keep the note under 2000 characters "
            "(%(n)d problems)", problems) % {"n": problems}) from error
    await run_in_threadpool(record_review, access, grant, scored, body)
    return RedirectResponse(f"/ui/workers/{quote(scored.record['worker_id'], safe='')}", status_code=303)


@router.get("/teams/{team_id:path}")
def team(
    request: Request, members: TeamDep, week: WeekDep, audit: AuditDep, case_numbers: CaseNumbersDep,
    horizon: Annotated[Horizon, Query()] = Horizon.weeks_26,
) -> HTMLResponse:
    audit(member["worker_id"] for member in members)
    return render(request, "team.html", week=week, team=team_view(week, members, horizon, case_numbers, audit))
