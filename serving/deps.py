"""Dependencies as annotated types; the later bearer-token roles and audit log hook in here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request

from continuity.serving.store import PublishedWeek, ScoreStore


def get_store(request: Request) -> ScoreStore:
    return request.app.state.store


StoreDep = Annotated[ScoreStore, Depends(get_store)]


def get_week(store: StoreDep) -> PublishedWeek:
    """The latest published week; NothingPublished becomes a 503 in the app's error handler."""
    return store.current()


WeekDep = Annotated[PublishedWeek, Depends(get_week)]


def get_scored_worker(
    week: WeekDep, worker_id: Annotated[str, Path(description="The worker's id as in the HR export.")]
) -> dict[str, Any]:
    """The worker's row in this week's risk scores; a worker not scored this week is unknown here."""
    worker = week.by_worker.get(worker_id)
    if worker is None:
        raise HTTPException(404, f"worker '{worker_id}' has no score in the week of {week.score_date}")
    return worker


ScoredWorkerDep = Annotated[dict[str, Any], Depends(get_scored_worker)]
