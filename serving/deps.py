"""Dependencies as annotated types: the published week, and every individual read scoped and audited.

Routes never test a role themselves: they ask for a scoped worker, a scoped risk selection or a
scoped team, and the dependency answers 403 outside the grant's scope and records the read in
the audit log. A scoped caller gets the same 403 for an id outside its scope as for an id that
does not exist, so the answers reveal nothing about other organisations' workers; only admin,
who sees everything, gets a 404 for an unknown id.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import duckdb
from fastapi import Depends, HTTPException, Path, Query, Request

from continuity.access import AccessStore, Grant, Role
from continuity.config import Settings
from continuity.planning.sector_frame import MissingTables, SectorFrame, sector_frame
from continuity.serving.auth import AccessDep, GrantDep, ReaderDep
from continuity.serving.schemas import Horizon
from continuity.serving.store import RETRY_AFTER_S, NothingPublished, PublishedWeek, ScoreStore
from continuity.warehouse import connect


async def get_store(request: Request) -> ScoreStore:
    return request.app.state.store


StoreDep = Annotated[ScoreStore, Depends(get_store)]


async def get_week(store: StoreDep) -> PublishedWeek:
    """The latest published week; NothingPublished becomes a 503 in the app's error handler."""
    return store.current()


WeekDep = Annotated[PublishedWeek, Depends(get_week)]


@dataclass(frozen=True)
class Audit:
    """Records, for one request, which workers' data the grant's holder was given."""

    access: AccessStore
    grant: Grant
    endpoint: str

    def __call__(self, worker_ids: Iterable[str]) -> None:
        self.access.record(self.grant, self.endpoint, worker_ids)


async def get_audit(request: Request, access: AccessDep, grant: ReaderDep) -> Audit:
    return Audit(access, grant, f"{request.method} {request.scope['route'].path}")


AuditDep = Annotated[Audit, Depends(get_audit)]


def outside_scope(grant: Grant, what: str, week: PublishedWeek) -> HTTPException:
    """404 for admin (the id is unknown); 403 for everyone else, whether or not the id exists."""
    if grant.role is Role.admin:
        return HTTPException(404, f"{what} has no score in the week of {week.score_date}")
    return HTTPException(403, f"{what} is outside your scope ({grant.scope}) in the week of {week.score_date}")


async def get_scored_worker(
    week: WeekDep, grant: ReaderDep, audit: AuditDep,
    worker_id: Annotated[str, Path(description="The worker's id as in the HR export.")],
) -> dict[str, Any]:
    """The worker's row in this week's risk scores, when in scope; the read is audited."""
    worker = week.by_worker.get(worker_id)
    if worker is None or not grant.sees(worker):
        raise outside_scope(grant, f"worker '{worker_id}'", week)
    audit([worker_id])
    return worker


ScoredWorkerDep = Annotated[dict[str, Any], Depends(get_scored_worker)]


@dataclass(frozen=True)
class RiskSelection:
    """The workers a risk list or export shows: in scope, matching the filters, ordered by the horizon."""

    week: PublishedWeek
    horizon: int
    workers: list[dict[str, Any]]


@dataclass(frozen=True)
class RiskQuery:
    """A risk-list request's filters and grant; the week is read only in select(), after every
    parameter of the route is validated, so a bad parameter is a 422 even before data exist."""

    store: ScoreStore
    grant: Grant
    organisation_id: str | None
    team_id: str | None
    occupation: str | None
    horizon: int

    def select(self) -> RiskSelection:
        """Filtering by an organisation or team outside the caller's scope is a 403, not an empty list."""
        week = self.store.current()
        visible = [record for record in week.ranking(self.horizon) if self.grant.sees(record)]
        for column, what in (("organisation_id", "organisation"), ("team_id", "team")):
            value = getattr(self, column)
            if value is not None and all(record[column] != value for record in visible):
                raise outside_scope(self.grant, f"{what} '{value}'", week)
        chosen = [
            (column, getattr(self, column))
            for column in ("organisation_id", "team_id", "occupation")
            if getattr(self, column) is not None
        ]
        matching = [record for record in visible if all(record[column] == value for column, value in chosen)]
        return RiskSelection(week, self.horizon, matching)


async def risk_query(
    store: StoreDep,
    grant: ReaderDep,
    organisation_id: Annotated[str | None, Query(description="Only workers of this organisation.")] = None,
    team_id: Annotated[str | None, Query(description="Only workers of this team.")] = None,
    occupation: Annotated[str | None, Query(description="Only workers of this occupation.")] = None,
    horizon: Annotated[Horizon, Query(description="Order by the probability of leaving within 13 or 26 weeks.")] = Horizon.weeks_26,
) -> RiskQuery:
    return RiskQuery(store, grant, organisation_id, team_id, occupation, horizon)


RiskQueryDep = Annotated[RiskQuery, Depends(risk_query)]


async def get_team(
    week: WeekDep, grant: ReaderDep,
    team_id: Annotated[str, Path(description="The team's id as in the HR export.")],
) -> list[dict[str, Any]]:
    """The team's scored workers, when the team is in scope (a manager's own, hr's organisation's)."""
    members = [record for record in week.ranked if record["team_id"] == team_id and grant.sees(record)]
    if not members:
        raise outside_scope(grant, f"team '{team_id}'", week)
    return members


TeamDep = Annotated[list[dict[str, Any]], Depends(get_team)]


async def require_sector_reader(grant: GrantDep) -> Grant:
    """Aggregates and scenarios are for sector bodies, hr and admin; a manager works from their own teams."""
    if grant.role is Role.manager:
        raise HTTPException(403, "aggregates and scenarios are for sector, hr and admin tokens; "
                                 f"yours is manager ({grant.scope})")
    return grant


SectorReaderDep = Annotated[Grant, Depends(require_sector_reader)]


class SectorAnswers:
    """Per published week: the sector frame and the answers computed from it, each computed once.

    Aggregates are a pure function of the week (the suppression pattern alone costs tens
    of milliseconds) and a scenario re-scores every worker with the champion model (loaded
    in seconds), so both are kept until the store serves another week. One re-entrant lock
    guards the lot: the first request for an answer computes it, concurrent ones wait.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.RLock()
        self._week: PublishedWeek | None = None
        self._answers: dict[Hashable, Any] = {}

    def frame(self, week: PublishedWeek) -> SectorFrame:
        return self.answer(week, "frame", lambda: self._read(week))

    def answer(self, week: PublishedWeek, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if self._week is not week:
                self._week, self._answers = week, {}
            if key not in self._answers:
                self._answers[key] = compute()
            return self._answers[key]

    def _read(self, week: PublishedWeek) -> SectorFrame:
        try:
            with connect(self.settings.warehouse, read_only=True) as con:
                return sector_frame(con, week.score_date)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            raise NothingPublished(f"the warehouse is being written, try again shortly ({error})", RETRY_AFTER_S) from error
        except MissingTables as error:
            raise NothingPublished(str(error)) from error


async def get_sector_answers(request: Request) -> SectorAnswers:
    return request.app.state.sector


SectorAnswersDep = Annotated[SectorAnswers, Depends(get_sector_answers)]
