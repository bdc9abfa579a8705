"""Handover plans for managers: a successor for each client of a leaving worker, and re-planning with pins.

The plan reads the warehouse (who is active, who knows which client, who has room) at the
handover date and the published week's probabilities of leaving. A manager's plan only
considers the teams they manage: a colleague of another team would show that colleague's
probability of leaving, which a manager may not see, and would take a client into a team
the manager does not run. hr and admin plan across the leaver's team, organisation and region.
"""

from __future__ import annotations

import duckdb
import pandas as pd
from fastapi import APIRouter, HTTPException

from continuity.access import Grant, Role
from continuity.planning.handover import naive_plan, plan_handover
from continuity.serving.auth import ReaderDep
from continuity.serving.deps import AuditDep, StoreDep, WeekDep, unreadable_worker
from continuity.serving.schemas import NOT_PUBLISHED, Problem, UNAUTHENTICATED
from continuity.serving.schemas_planning import HandoverPlanResponse, HandoverRequest
from continuity.serving.store import RETRY_AFTER_S, NothingPublished, PublishedWeek
from continuity.warehouse import connect

router = APIRouter(
    tags=["handover"],
    responses={
        **UNAUTHENTICATED,
        **NOT_PUBLISHED,
        400: {"model": Problem, "description": "The body is not valid JSON."},
        403: {"model": Problem, "description": "A sector token, or a worker or successor outside the token's scope."},
        404: {"model": Problem, "description": "The worker has no score in the latest published week: for admin any "
                                               "such id, for hr and managers a worker last scored in their scope."},
        422: {"description": "An invalid body, a worker not active on the date, or a pin that cannot be honoured."},
    },
)

MANAGER_SCOPE = "colleagues outside the teams this token manages are left out of the plan"


def _out_of_scope(week: PublishedWeek, grant: Grant) -> set[str]:
    """Scored workers the grant may not see: never a successor in its plans."""
    if grant.role is Role.admin:
        return set()
    return {record["worker_id"] for record in week.ranked if not grant.sees(record)}


@router.post(
    "/handover-plans", response_model=HandoverPlanResponse,
    summary="A successor for each client of a leaving worker, compared with a naive plan",
)
def handover_plan(body: HandoverRequest, store: StoreDep, week: WeekDep, grant: ReaderDep,
                  audit: AuditDep) -> HandoverPlanResponse:
    """Each open primary client of the worker gets a successor from the same team (or organisation and
    region) with room under the caseload norm, preferring one who already knows the client, works in
    the client's domain and is likely to stay; solved as one assignment problem. Post again with
    `pinned` and `excluded` to re-plan. The leaver and every successor shown are recorded in the audit log."""
    leaver = week.by_worker.get(body.worker_id)
    if leaver is None or not grant.sees(leaver):
        raise unreadable_worker(grant, body.worker_id, week)
    hidden = _out_of_scope(week, grant)
    outside = sorted(set(body.pinned.values()) & hidden)
    if outside:
        raise HTTPException(403, f"successor(s) {', '.join(outside)} outside your scope ({grant.scope})")
    risk = pd.DataFrame(week.ranked, columns=["worker_id", "p_13w", "p_26w"])
    t = body.date or week.score_date
    options = {"pinned": body.pinned, "excluded": set(body.excluded) | hidden}
    try:
        with connect(store.warehouse, read_only=True) as con:
            plan = plan_handover(con, t, leaver["worker_id"], risk, **options)
            naive = naive_plan(con, t, leaver["worker_id"], risk, **options)
    except (duckdb.IOException, duckdb.ConnectionException) as error:
        raise NothingPublished(f"the warehouse is being written, try again shortly ({error})", RETRY_AFTER_S) from error
    except duckdb.CatalogException as error:
        raise NothingPublished(f"the warehouse has no contract tables to plan from ({error})") from error
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    audit([leaver["worker_id"], *sorted({h.successor_id for h in plan.handovers if h.successor_id})])
    return HandoverPlanResponse(
        leaving_worker_id=plan.leaving_worker_id, date=plan.date, week=week.score_date,
        horizon_weeks=plan.horizon_weeks, handovers=[
            {"client_id": h.client_id, "successor_id": h.successor_id, "reasons": list(h.reasons),
             "successor_p_leave": h.successor_p_leave} for h in plan.handovers],
        unplaced=list(plan.unplaced), expected_further_handovers=plan.expected_further_handovers,
        naive_expected_further_handovers=naive.expected_further_handovers, risk_assumption=plan.risk_assumption,
        scope_note=MANAGER_SCOPE if grant.role is Role.manager else None,
    )
