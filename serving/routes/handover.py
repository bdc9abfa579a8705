"""Handover plans for managers: a successor for each client of a leaving worker, and re-planning with pins.

The plan is made from the published week alone (``handover.planner``). A caller's plan only
considers the workers the caller may see: a manager's teams, hr's organisation. A colleague
outside that scope would show their probability of leaving, which the caller may not see,
and would take a client where the caller does not decide. A pin to a worker outside the
scope gets the same answer as a pin to an id that does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from continuity.access import Role
from continuity.handover.planner import naive_plan, plan_handover, situation
from continuity.serving.auth import ReaderDep
from continuity.serving.deps import AuditDep, CaseNumbersDep, WeekDep, unreadable_worker
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED
from continuity.serving.schemas_planning import HandoverPlanResponse, HandoverRequest

router = APIRouter(
    tags=["handover"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        400: {"model": Problem, "description": "The body is not valid JSON."},
        403: {"model": Problem, "description": "A sector token, or a leaving worker outside the token's scope."},
        404: {"model": Problem, "description": "The worker has no score in the latest published week: for admin any "
                                               "such id, for hr and managers a worker last scored in their scope."},
        422: {"description": "An invalid body, a date other than the published week, or a pin that cannot be "
                              "honoured (to a worker unknown or outside the token's scope alike)."},
    },
)

SCOPE_NOTES = {
    Role.manager: "colleagues outside the teams this token manages are left out of the plan",
    Role.hr: "colleagues outside this token's organisation are left out of the plan",
}


@router.post(
    "/handover-plans", response_model=HandoverPlanResponse,
    summary="A successor for each client of a leaving worker, compared with a naive plan",
)
def handover_plan(body: HandoverRequest, week: WeekDep, grant: ReaderDep, audit: AuditDep,
                  case_numbers: CaseNumbersDep) -> HandoverPlanResponse:
    """Each open primary client of the worker gets a successor from the same team (or organisation and
    region) with room under the caseload norm, preferring one who already knows the client, works in
    the client's domain and is likely to stay; solved as one assignment problem. Post again with
    `pinned` and `excluded` to re-plan. The leaver and every successor shown are recorded in the audit log."""
    leaver = week.by_worker.get(body.worker_id)
    if leaver is None or not grant.sees(leaver):
        raise audit.refusal(unreadable_worker(grant, body.worker_id, week), [body.worker_id])
    if body.date is not None and body.date != week.score_date:
        raise HTTPException(422, f"plans are made for the published week ({week.score_date}); got date {body.date}")
    try:
        now = situation(week.publication, leaver["worker_id"], pinned=body.pinned, excluded=set(body.excluded),
                        hidden=week.hidden_from(grant))
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    plan, naive = plan_handover(now), naive_plan(now)
    shown = [leaver["worker_id"], *sorted({h.successor_id for h in plan.handovers if h.successor_id})]
    audit(shown)
    handovers = case_numbers.shown(grant, audit, ({
        "client_id": h.client_id, "successor_id": h.successor_id, "reasons": list(h.reasons),
        "successor_p_leave": h.successor_p_leave, "starter_complex": h.starter_complex}
        for h in plan.handovers), shown)
    return HandoverPlanResponse(
        leaving_worker_id=plan.leaving_worker_id, date=plan.date, week=week.score_date,
        horizon_weeks=plan.horizon_weeks, handovers=handovers,
        unplaced=list(plan.unplaced), expected_further_handovers=plan.expected_further_handovers,
        naive_expected_further_handovers=naive.expected_further_handovers, risk_assumption=plan.risk_assumption,
        scope_note=SCOPE_NOTES.get(grant.role),
    )
