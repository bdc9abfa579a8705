"""Per published week: the sector frame and the answers computed from it, each computed once.

Aggregates are a pure function of the week (the suppression pattern alone costs tens of
milliseconds, every grouping and horizon together about half a second), so all of them
are computed and serialised when the store loads a week (``prepare``) and every request
is answered with the stored body. A scenario re-scores every worker with the champion
model (loaded in seconds), so it is computed on its first request and kept until the
store serves another week.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from itertools import product
from typing import Any

import duckdb
from starlette.concurrency import run_in_threadpool

from continuity.config import Settings
from continuity.planning.aggregates import aggregate_response
from continuity.planning.sector_frame import MissingTables, SectorFrame, sector_frame
from continuity.serving.schemas_planning import AggregateBy, Aggregates, PlanningHorizon
from continuity.serving.store import RETRY_AFTER_S, NothingPublished, PublishedWeek
from continuity.warehouse import connect

logger = logging.getLogger(__name__)


class SectorAnswers:
    """One week's answers at a time; the first request for an answer computes it, concurrent ones wait.

    The cache is one (week, answers) pair, replaced as a whole, so that ``stored`` can read it
    without the lock and never pairs one week with another week's answers.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.RLock()
        self._cache: tuple[PublishedWeek | None, dict[Hashable, Any]] = (None, {})

    def stored(self, week: PublishedWeek, key: Hashable) -> Any | None:
        """The answer if already computed for this week, else None; never waits."""
        cached_week, answers = self._cache
        return answers.get(key) if cached_week is week else None

    def answer(self, week: PublishedWeek, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if self._cache[0] is not week:
                self._cache = (week, {})
            answers = self._cache[1]
            if key not in answers:
                answers[key] = compute()
            return answers[key]

    def frame(self, week: PublishedWeek) -> SectorFrame:
        return self.answer(week, "frame", lambda: self._read(week))

    async def aggregates(self, week: PublishedWeek, by: AggregateBy, horizon: PlanningHorizon) -> bytes:
        """The GET /aggregates body for one grouping and horizon, as JSON: stored since the week was
        loaded; otherwise computed in the threadpool, so the event loop never waits on the lock."""
        key = ("aggregates", by.value, int(horizon))
        return self.stored(week, key) or await run_in_threadpool(self._aggregates, week, by, horizon)

    def _aggregates(self, week: PublishedWeek, by: AggregateBy, horizon: PlanningHorizon) -> bytes:
        def compute() -> bytes:
            frame = self.frame(week)
            body = aggregate_response(frame.workers, by.value, int(horizon), leavers=frame.leavers)
            return Aggregates(week=week.score_date, **body).model_dump_json().encode()

        return self.answer(week, ("aggregates", by.value, int(horizon)), compute)

    def prepare(self, week: PublishedWeek) -> None:
        """Every aggregate of the week, computed now; a warehouse without the contract tables
        (or held by a writer) leaves them to the request, which answers 503 with the reason."""
        try:
            for by, horizon in product(AggregateBy, PlanningHorizon):
                self._aggregates(week, by, horizon)
        except NothingPublished:
            return
        except Exception:  # noqa: BLE001 - the risk answers of the week must not fail with the aggregates
            logger.exception("the aggregates of %s could not be prepared; each request computes its own", week.score_date)

    def _read(self, week: PublishedWeek) -> SectorFrame:
        try:
            with connect(self.settings.warehouse, read_only=True) as con:
                return sector_frame(con, week.score_date)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            raise NothingPublished(f"the warehouse is being written, try again shortly ({error})", RETRY_AFTER_S) from error
        except MissingTables as error:
            raise NothingPublished(str(error)) from error

