"""The handover workbench page, ``/ui/teams/{team_id}/handover``: hr and managers plan a team's leavers.

Choose the leaving workers (the team's known departures are pre-selected, and one button takes exactly
them), see a successor per client with the planner's reasons, pin a successor for a client or exclude a
worker from the plan, re-plan, accept, and download the plan as CSV (``continuity.serving.workbench``).

One form, posted back to the page with the existing same-site check (``auth.authenticate`` refuses a
cookie-borne POST from another site), no JavaScript. Only hr and manager tokens plan: they decide about
handovers in their scope; the team must be in that scope as on the team page (``deps.get_team``), and
the successors are the workers the token may see (``PublishedWeek.hidden_from``). Every plan shown or
downloaded is audited with the leavers and successors it shows; accepting adds an entry of its own, and
case numbers are shown and audited as on every client row (``serving.case_numbers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from continuity.access import Grant, Role
from continuity.serving.auditing import Audit, audit_of
from continuity.serving.auth import grant_requiring
from continuity.serving.deps import CaseNumbersDep, WeekDep, get_team, outside_scope
from continuity.serving.forms import form_fields
from continuity.serving.i18n import PageError, gettext_for
from continuity.serving.store import PublishedWeek
from continuity.serving.templating import render
from continuity.serving.workbench import AcceptedPlans, PlanningError, TeamPlan, plan_csv, plan_rows, plan_team

router = APIRouter(prefix="/ui", include_in_schema=False, default_response_class=HTMLResponse)

ACCEPTED, DRAFT = "accepted", "draft"
PIN = "pin:"  # a client's pin field: pin:<client_id> = successor id, empty for the planner's choice
ACCEPTED_AUDIT = "handover_plan"  # the audit parameter of an accepted plan's own entry


def _planner(grant: Grant) -> None:
    if grant.role not in (Role.hr, Role.manager):
        raise HTTPException(403, f"handover plans are made by hr and manager tokens; yours is {grant.role.value} "
                                 f"({grant.scope})")


PlannerDep = Annotated[Grant, Depends(grant_requiring(_planner))]


@dataclass(frozen=True)
class Workbench:
    """A request to the page: the team in scope, its members, the grant and the request's audit."""

    request: Request
    week: PublishedWeek
    grant: Grant
    team_id: str
    members: list[dict[str, Any]]
    audit: Audit

    def leaving(self, chosen: list[str]) -> list[str]:
        """The chosen leavers; one outside the team (or the scope) is refused as on the team page, and audited."""
        ids = {member["worker_id"] for member in self.members}
        strangers = [worker_id for worker_id in chosen if worker_id not in ids]
        if strangers:
            raise self.audit.refusal(outside_scope(self.grant, f"worker '{strangers[0]}' of team '{self.team_id}'",
                                                   self.week), strangers)
        return chosen

    @property
    def known(self) -> list[str]:
        return [member["worker_id"] for member in self.members if member["known_departure"]]

    @property
    def plans(self) -> AcceptedPlans:
        return AcceptedPlans(self.request.app.state.settings.handover_plans)


async def workbench(request: Request, week: WeekDep, grant: PlannerDep,
                    team_id: Annotated[str, Path(description="The team's id as in the HR export.")]) -> Workbench:
    members = await get_team(request, week, grant, team_id)
    return Workbench(request, week, grant, team_id, members, audit_of(request, grant))


WorkbenchDep = Annotated[Workbench, Depends(workbench)]


@router.get("/teams/{team_id:path}/handover")
def handover_page(bench: WorkbenchDep, case_numbers: CaseNumbersDep) -> HTMLResponse:
    """The page: a plan for ``?leaving=`` workers (the team page links here so); else the plan accepted this
    week, if any; else the choice of leavers, the known departures ticked."""
    chosen = bench.leaving(bench.request.query_params.getlist("leaving"))
    accepted = bench.plans.accepted(bench.week.score_date, bench.team_id)
    if chosen:
        return _page(bench, case_numbers, chosen, {}, set())
    if accepted:
        return _page(bench, case_numbers, accepted["leaving"], accepted["pinned"], set(accepted["excluded"]),
                     accepted=accepted)
    return _page(bench, case_numbers, bench.known, {}, set(), plan=False)


@router.post("/teams/{team_id:path}/handover")
async def handover_form(bench: WorkbenchDep, case_numbers: CaseNumbersDep) -> Response:
    """The form's buttons: ``known`` plans the known departures, ``plan`` the ticked leavers with the pins and
    exclusions, ``accept`` keeps that plan as the team's for the week, ``csv`` downloads it."""
    fields = await form_fields(bench.request)
    if fields is None:
        raise PageError(400, gettext_for(bench.request).gettext("The form could not be read: it is not valid UTF-8."))
    return await run_in_threadpool(_act, bench, case_numbers, fields)  # planning is CPU work: off the event loop


def _act(bench: Workbench, case_numbers: CaseNumbersDep, fields: dict[str, list[str]]) -> Response:
    action = (fields.get("action") or ["plan"])[0]
    chosen = bench.known if action == "known" else bench.leaving(fields.get("leaving", []))
    pinned = {} if action == "known" else {
        key.removeprefix(PIN): values[0] for key, values in fields.items() if key.startswith(PIN) and values[0]}
    excluded = set() if action == "known" else set(fields.get("exclude", [])) - set(pinned.values())
    if action == "csv":
        team_plan = _plan(bench, chosen, pinned, excluded)
        accepted = bench.plans.accepted(bench.week.score_date, bench.team_id)
        status = ACCEPTED if _is_accepted(team_plan, accepted) else DRAFT
        return Response(plan_csv(_shown_rows(bench, case_numbers, team_plan, status)),
                        media_type="text/csv; charset=utf-8", headers={
                            "Content-Disposition": f'attachment; filename="handover-plan-{bench.week.score_date}.csv"'})
    if action == "accept":
        team_plan = _plan(bench, chosen, pinned, excluded)
        # Kept without case numbers: the lookup stays the one file that re-identifies clients.
        record = bench.plans.accept(team_plan, bench.grant, plan_rows(team_plan, ACCEPTED))
        bench.audit.also(team_plan.workers, {ACCEPTED_AUDIT: ACCEPTED})
        return _page(bench, case_numbers, chosen, pinned, excluded, accepted=record, team_plan=team_plan,
                     rows=_shown_rows(bench, case_numbers, team_plan, ACCEPTED))
    return _page(bench, case_numbers, chosen, pinned, excluded)


def _plan(bench: Workbench, chosen: list[str], pinned: dict[str, str], excluded: set[str]) -> TeamPlan:
    if not chosen:
        raise PageError(400, gettext_for(bench.request).gettext("Choose at least one leaving worker to plan for."))
    try:
        team_plan = plan_team(bench.week, bench.grant, bench.team_id, chosen, pinned, excluded)
    except PlanningError as error:
        raise PageError(422, gettext_for(bench.request).gettext("The plan could not be made: %(reason)s")
                        % {"reason": error}) from error
    bench.audit(team_plan.workers)
    return team_plan


def _is_accepted(team_plan: TeamPlan, accepted: dict[str, Any] | None) -> bool:
    """Whether the plan is the one accepted this week: the same leavers, pins and exclusions, and the same
    successor for every client (a token seeing other colleagues than the one that accepted may plan otherwise)."""
    return accepted is not None and (accepted["leaving"], accepted["pinned"], accepted["excluded"]) == (
        [p.leaver.worker_id for p in team_plan.leavers], team_plan.pinned, list(team_plan.excluded)
    ) and [(r["client_id"], r["successor_id"]) for r in accepted["rows"]] == [
        (h.client_id, h.successor_id) for p in team_plan.leavers for h in p.plan.handovers]


def _shown_rows(bench: Workbench, case_numbers: CaseNumbersDep, team_plan: TeamPlan, status: str
                ) -> list[dict[str, Any]]:
    """The plan's rows with the case numbers the grant may read (each showing audited)."""
    return case_numbers.shown(bench.grant, bench.audit, plan_rows(team_plan, status), team_plan.workers)


def _page(bench: Workbench, case_numbers: CaseNumbersDep, chosen: list[str], pinned: dict[str, str],
          excluded: set[str], *, plan: bool = True, accepted: dict[str, Any] | None = None,
          team_plan: TeamPlan | None = None, rows: list[dict[str, Any]] | None = None) -> HTMLResponse:
    """The page; ``accepted`` is the week's accepted plan when the plan shown is it, any other accepted plan of
    the team this week is named apart (``other``), so that nobody re-plans unaware of it."""
    bench.audit(member["worker_id"] for member in bench.members)  # the choice lists them, known departures too
    other = accepted or bench.plans.accepted(bench.week.score_date, bench.team_id)
    if plan and team_plan is None:
        team_plan = _plan(bench, chosen, pinned, excluded)
        accepted = other if _is_accepted(team_plan, other) else None
        rows = _shown_rows(bench, case_numbers, team_plan, ACCEPTED if accepted else DRAFT)
    return render(
        bench.request, "handover.html", week=bench.week, team_id=bench.team_id,
        members=sorted(bench.members, key=lambda member: (member["known_departure"] is None, member["worker_id"])),
        chosen=set(chosen), known=bench.known, plan=team_plan,
        case_number={row["client_id"]: row["case_number"] for row in rows or []},
        accepted=accepted, other=None if accepted else other,
        action=f"/ui/teams/{quote(bench.team_id, safe='')}/handover",
    )
