"""Dependencies as annotated types: the published week, and every individual read scoped and audited.

Routes never test a role themselves: they ask for a scoped worker, a scoped risk selection or a
scoped team, and the dependency answers 403 outside the grant's scope and records the read, or
the refused attempt, in the audit log. A scoped caller gets the same 403 for an id outside its
scope as for an id that does not exist, so the answers reveal nothing about other organisations'
workers. A 404 goes to those who could have read the worker: admin for any id without a score
this week, and hr or a manager for a worker last scored in their organisation or team (one who
has left).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request

from continuity.access import Grant, Role
from continuity.serving.auditing import Audit, audit_of
from continuity.serving.auth import ReaderDep, ReviewerDep, grant_requiring
from continuity.serving.case_numbers import CaseNumbers
from continuity.serving.schemas import Horizon, RiskOrder
from continuity.serving.forecast_answers import ForecastAnswers
from continuity.serving.store import PublishedWeek, ScoreStore


async def get_store(request: Request) -> ScoreStore:
    return request.app.state.store


StoreDep = Annotated[ScoreStore, Depends(get_store)]


async def get_week(request: Request) -> PublishedWeek:
    """The latest published week; NothingPublished becomes a 503 in the app's error handler.

    Here and in the dependencies below, state is read from the app rather than through further
    dependencies, each of which costs FastAPI tens of µs a request (see ``auth.grant_requiring``)."""
    return request.app.state.store.current()


WeekDep = Annotated[PublishedWeek, Depends(get_week)]


async def get_audit(request: Request, grant: ReaderDep) -> Audit:
    return audit_of(request, grant)


AuditDep = Annotated[Audit, Depends(get_audit)]


def outside_scope(grant: Grant, what: str, week: PublishedWeek) -> HTTPException:
    """404 for admin (the id is unknown); 403 for everyone else, whether or not the id exists."""
    if grant.role is Role.admin:
        return HTTPException(404, f"{what} has no score in the week of {week.score_date}")
    return HTTPException(403, f"{what} is outside your scope ({grant.scope}) in the week of {week.score_date}")


def unreadable_worker(grant: Grant, worker_id: str, week: PublishedWeek) -> HTTPException:
    """For a worker the grant may not read this week: 404 when the worker is unscored this week and
    the grant saw them in their last scored week (a leaver of one's own team), else as outside_scope."""
    former = week.former.get(worker_id)
    if former is not None and grant.sees(former):
        return HTTPException(404, f"worker '{worker_id}' has no score in the latest published week "
                                  f"({week.score_date}), only in earlier weeks")
    return outside_scope(grant, f"worker '{worker_id}'", week)


@dataclass(frozen=True)
class ScoredWorker:
    """A worker's row in the week's risk scores (``record``), with that week."""

    week: PublishedWeek
    record: dict[str, Any]  # as the grant may read it (``PublishedWeek.shown_to``)
    grant: Grant | None = None


WorkerIdPath = Annotated[str, Path(description="The worker's id as in the HR export.")]


async def get_scored_worker(request: Request, grant: ReaderDep, worker_id: WorkerIdPath) -> ScoredWorker:
    """The worker in the latest week, when in scope; the read, or the refusal, is audited."""
    return scored_worker(request, grant, worker_id)


async def get_reviewed_worker(request: Request, grant: ReviewerDep, worker_id: WorkerIdPath) -> ScoredWorker:
    """The worker an hr or manager token reviews: in their scope, as for a read, and audited alike."""
    return scored_worker(request, grant, worker_id)


def scored_worker(request: Request, grant: Grant, worker_id: str) -> ScoredWorker:
    week = request.app.state.store.current()
    worker = week.by_worker.get(worker_id)
    audit = audit_of(request, grant)
    if worker is None or not grant.sees(worker):
        raise audit.refusal(unreadable_worker(grant, worker_id, week))
    audit([worker_id])
    return ScoredWorker(week, week.shown_to(grant, worker), grant)


ScoredWorkerDep = Annotated[ScoredWorker, Depends(get_scored_worker)]
ReviewedWorkerDep = Annotated[ScoredWorker, Depends(get_reviewed_worker)]


@dataclass(frozen=True)
class RiskSelection:
    """The workers a risk list or export shows: in scope, matching the filters, in the order asked for at the horizon."""

    week: PublishedWeek
    horizon: int
    order: RiskOrder
    workers: list[dict[str, Any]]


@dataclass(frozen=True)
class RiskQuery:
    """A risk-list request's filters, grant and audit; the week is read only in select(), after every
    parameter of the route is validated, so a bad parameter is a 422 even before data exist."""

    store: ScoreStore
    grant: Grant
    audit: Audit
    organisation_id: str | None
    team_id: str | None
    occupation: str | None
    horizon: int
    order: RiskOrder

    def select(self) -> RiskSelection:
        """Filtering by an organisation or team outside the caller's scope is a 403 (audited), not an empty list."""
        week = self.store.current()
        visible = week.visible(self.grant, self.horizon, self.order)
        for column, what in (("organisation_id", "organisation"), ("team_id", "team")):
            value = getattr(self, column)
            if value is not None and all(record[column] != value for record in visible):
                raise self.audit.refusal(outside_scope(self.grant, f"{what} '{value}'", week))
        chosen = [
            (column, getattr(self, column))
            for column in ("organisation_id", "team_id", "occupation")
            if getattr(self, column) is not None
        ]
        if not chosen:
            return RiskSelection(week, self.horizon, self.order, visible)
        matching = [record for record in visible if all(record[column] == value for column, value in chosen)]
        return RiskSelection(week, self.horizon, self.order, matching)


async def risk_query(
    request: Request,
    grant: ReaderDep,
    organisation_id: Annotated[str | None, Query(description="Only workers of this organisation.")] = None,
    team_id: Annotated[str | None, Query(description="Only workers of this team.")] = None,
    occupation: Annotated[str | None, Query(description="Only workers of this occupation.")] = None,
    horizon: Annotated[Horizon, Query(description="Order by the probability of leaving within 13, 26 or 52 weeks.")] = Horizon.weeks_26,
    sort: Annotated[RiskOrder, Query(description="probability: highest probability of leaving first; exposure: the "
                                     "clients at stake, highest expected exposure first. Workers whose probability "
                                     "is withheld come last by worker id either way.")] = RiskOrder.probability,
) -> RiskQuery:
    # An empty filter is no filter: the page's form sends one for "all".
    return RiskQuery(request.app.state.store, grant, audit_of(request, grant), organisation_id or None, team_id or None,
                     occupation or None, horizon, sort)


RiskQueryDep = Annotated[RiskQuery, Depends(risk_query)]


async def get_team(
    request: Request, week: WeekDep, grant: ReaderDep,
    team_id: Annotated[str, Path(description="The team's id as in the HR export.")],
) -> list[dict[str, Any]]:
    """The team's scored workers, when the team is in scope (a manager's own, hr's organisation's);
    a refusal is audited, the read is audited by the route, which knows what it shows."""
    members = [record for record in week.ranked if record["team_id"] == team_id and grant.sees(record)]
    if not members:
        raise audit_of(request, grant).refusal(outside_scope(grant, f"team '{team_id}'", week))
    return members


TeamDep = Annotated[list[dict[str, Any]], Depends(get_team)]


def _sector_reader(grant: Grant) -> None:
    """Aggregates and scenarios are for sector bodies, hr and admin; a manager works from their own teams."""
    if grant.role is Role.manager:
        raise HTTPException(403, "aggregates and scenarios are for sector, hr and admin tokens; "
                                 f"yours is manager ({grant.scope})")


SectorReaderDep = Annotated[Grant, Depends(grant_requiring(_sector_reader))]


async def get_forecast_answers(request: Request) -> ForecastAnswers:
    return request.app.state.forecasts


ForecastAnswersDep = Annotated[ForecastAnswers, Depends(get_forecast_answers)]


async def get_case_numbers(request: Request) -> CaseNumbers:
    return request.app.state.case_numbers


CaseNumbersDep = Annotated[CaseNumbers, Depends(get_case_numbers)]
