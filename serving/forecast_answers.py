"""Per published week: the forecast frame and the sector answers computed from it, each computed once.

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

import pandas as pd
from starlette.concurrency import run_in_threadpool

from continuity.config import Settings
from continuity.forecasts.aggregates import INFLOW_MEASURES, aggregate_response, cells_within_regions, inflow_cells
from continuity.forecasts.frame import ForecastFrame, forecast_frame
from continuity.forecasts.inflow import HORIZONS_WEEKS
from continuity.forecasts.tender_calendar import METHOD, calendar_rows
from continuity.serving.charts import SERIES, years_chart
from continuity.serving.schemas import Horizon
from continuity.serving.schemas_planning import AggregateBy, Aggregates, Measure
from continuity.serving.store import PublishedWeek
from continuity.vocabulary import municipality_name

logger = logging.getLogger(__name__)

CELL_TYPES = {"grouping": "string", "horizon": "int64", "key": "string", "name": "string", "workers": "Int64",
              "expected_leavers": "float64", "interval_low": "Int64", "interval_high": "Int64",
              "expected_clients_affected": "float64", "observed_leavers_last_year": "Int64", "suppressed": "bool",
              "expected_moves": "float64", "moves_interval_low": "Int64", "moves_interval_high": "Int64",
              "expected_sector_leavers": "float64", "sector_interval_low": "Int64", "sector_interval_high": "Int64"}
"""The sector page's downloads: one row per cell, the API's figures with the interval in two columns (what BI
tools read), counts as nullable integers (a suppressed cell's are empty); the voluntary leavers split into moves
to another employer and leavers of the sector (``measure=moves`` and ``measure=sector``; empty where unknown)."""
CELL_COLUMNS = list(CELL_TYPES)
INFLOW_TYPES = {"grouping": "string", "key": "string", "name": "string", "horizon_weeks": "int64", "measure": "string",
                "expected": "float64", "interval_low": "Int64", "interval_high": "Int64", "past": "float64",
                "window_weeks": "float64", "suppressed": "bool"}
"""The sector page's inflow downloads: one row per grouping (and the sector as a whole), cell, horizon and measure
(``INFLOW_MEASURES``: moves and leaves_sector among them), a suppressed cell's figures empty."""


class ForecastAnswers:
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

    def frame(self, week: PublishedWeek) -> ForecastFrame:
        return self.answer(week, "frame", lambda: forecast_frame(week.publication))

    async def aggregates(self, week: PublishedWeek, by: AggregateBy, horizon: Horizon,
                         regions: frozenset[str] = frozenset(), measure: Measure = Measure.voluntary) -> bytes:
        """The GET /aggregates body for one grouping, horizon and measure, as JSON: stored since the week was
        loaded; otherwise computed in the threadpool, so the event loop never waits on the lock.
        ``regions``: a limited sector token's, whose answer keeps the cells within them."""
        if regions:
            return await run_in_threadpool(self._scoped_aggregates, week, by, horizon, regions, measure)
        key = _aggregates_key(by, horizon, measure)
        return self.stored(week, key) or await run_in_threadpool(self._aggregates, week, by, horizon, measure)

    def _scoped_aggregates(self, week: PublishedWeek, by: AggregateBy, horizon: Horizon,
                           regions: frozenset[str], measure: Measure = Measure.voluntary) -> bytes:
        def compute() -> bytes:
            body = Aggregates.model_validate_json(self._aggregates(week, by, horizon, measure))
            inside = self._within(week, by, regions)
            return body.model_copy(update={"cells": [c for c in body.cells if c.key in inside]}).model_dump_json().encode()

        return self.answer(week, (*_aggregates_key(by, horizon, measure), regions), compute)

    def _within(self, week: PublishedWeek, by: AggregateBy, regions: frozenset[str]) -> set[str]:
        frame = self.frame(week)
        return self.answer(week, ("within", by.value, regions),
                           lambda: cells_within_regions(frame.workers, frame.leavers, by.value, regions))

    def cells(self, week: PublishedWeek, regions: frozenset[str] = frozenset()) -> pd.DataFrame:
        """Every cell of every grouping and horizon in one table (the sector page and its downloads), within
        ``regions`` when given; a region's municipality name beside its code where the name is known."""
        def compute() -> pd.DataFrame:
            rows = []
            for by, horizon in product(AggregateBy, Horizon):
                body = Aggregates.model_validate_json(self._aggregates(week, by, horizon))
                splits = {m: {c.key: c for c in Aggregates.model_validate_json(
                    self._aggregates(week, by, horizon, m)).cells} for m in (Measure.moves, Measure.sector)}
                inside = self._within(week, by, regions) if regions else None
                for cell in body.cells:
                    if inside is None or cell.key in inside:
                        low, high = cell.interval or (None, None)
                        moves, leaving = splits[Measure.moves][cell.key], splits[Measure.sector][cell.key]
                        rows.append({"grouping": by.value, "horizon": int(horizon), "key": cell.key,
                                     "name": municipality_name(cell.key) if by is AggregateBy.region else None,
                                     "workers": cell.workers, "expected_leavers": cell.expected_leavers,
                                     "interval_low": low, "interval_high": high,
                                     "expected_clients_affected": cell.expected_clients_affected,
                                     "observed_leavers_last_year": cell.observed_leavers_last_year,
                                     "suppressed": cell.suppressed, "expected_moves": moves.expected_leavers,
                                     "moves_interval_low": (moves.interval or (None, None))[0],
                                     "moves_interval_high": (moves.interval or (None, None))[1],
                                     "expected_sector_leavers": leaving.expected_leavers,
                                     "sector_interval_low": (leaving.interval or (None, None))[0],
                                     "sector_interval_high": (leaving.interval or (None, None))[1]})
            return pd.DataFrame(rows, columns=CELL_COLUMNS).astype(CELL_TYPES)

        return self.answer(week, ("cells", regions), compute)

    def inflow(self, week: PublishedWeek, by: AggregateBy, horizon: int, organisation: str | None = None,
               regions: frozenset[str] = frozenset()) -> dict:
        """The GET /inflow answer for a reader (``inflow_cells``): an hr token's ``organisation``, a limited sector
        token's ``regions``; no cell for a week published before the inflow was."""
        def compute() -> dict:
            try:
                table = week.publication.table("sector_inflow")
            except FileNotFoundError:
                return {"by": by.value, "horizon": int(horizon), "unavailable": {}, "sector": None, "cells": []}
            frame = self.frame(week)
            return inflow_cells(table, frame.workers, by.value, int(horizon), leavers=frame.leavers,
                                organisation=organisation, regions=regions)

        return self.answer(week, ("inflow", by.value, int(horizon), organisation, regions), compute)

    def inflow_rows(self, week: PublishedWeek, organisation: str | None = None,
                    regions: frozenset[str] = frozenset()) -> pd.DataFrame:
        """Every inflow cell a reader may see, of every grouping and horizon, one row per measure (the downloads)."""
        def compute() -> pd.DataFrame:
            rows = []
            for horizon in HORIZONS_WEEKS:
                for by in AggregateBy:
                    body = self.inflow(week, by, horizon, organisation, regions)
                    cells = [(by.value, c) for c in body["cells"]]
                    if by is AggregateBy.region and body["sector"] is not None:
                        cells.insert(0, ("sector", body["sector"]))
                    for grouping, cell in cells:
                        for measure in INFLOW_MEASURES:
                            figure = cell[measure] or {}
                            low, high = figure.get("interval") or (None, None)
                            rows.append({"grouping": grouping, "key": cell["key"],
                                         "name": municipality_name(cell["key"]) if grouping == "region" else None,
                                         "horizon_weeks": horizon, "measure": measure,
                                         "expected": figure.get("expected"), "interval_low": low,
                                         "interval_high": high, "past": figure.get("past"),
                                         "window_weeks": figure.get("window_weeks"),
                                         "suppressed": cell["suppressed"]})
            return pd.DataFrame(rows, columns=list(INFLOW_TYPES)).astype(INFLOW_TYPES)

        return self.answer(week, ("inflow_rows", organisation, regions), compute)

    def region_charts(self, week: PublishedWeek, organisation: str | None = None,
                      regions: frozenset[str] = frozenset()) -> list[dict]:
        """The sector page's chart per region: for each region whose inflow cell the reader is shown unsuppressed
        (``inflow``, so an hr token none, a limited sector token its regions'), the hires and leavers of its past
        years (``sector_history``) and the inflow forecast at one to three years as a count per year (the
        horizon's expected count and interval divided by its years); none for a week published without them."""
        def compute() -> list[dict]:
            try:
                history = week.publication.table("sector_history")
            except FileNotFoundError:
                return []
            bodies = [self.inflow(week, AggregateBy.region, horizon, organisation, regions)
                      for horizon in HORIZONS_WEEKS]
            hidden = {c["key"] for body in bodies for c in body["cells"] if c["suppressed"]}
            history = history[history["grouping"] == "region"]
            charts = []
            for key in [c["key"] for c in bodies[0]["cells"] if c["key"] not in hidden]:
                counts = history[history["key"] == key].pivot(index="year_end", columns="measure", values="count")
                # a year of 52 weeks is named by the calendar year holding most of it: its end drifts a day a year
                past = [{"year_end": str(pd.Timestamp(day).date()),
                         "year": (pd.Timestamp(day) - pd.Timedelta(weeks=26)).year,
                         **{s: int(row[s]) for s in SERIES}} for day, row in counts.sort_index().iterrows()]
                forecast = []
                for body in bodies:
                    years = body["horizon"] // 52
                    cell = next(c for c in body["cells"] if c["key"] == key)
                    forecast.append({"years": years, **{s: _per_year(cell[s], years) for s in SERIES}})
                charts.append({"key": key, "name": municipality_name(key), "chart": years_chart(past, forecast)})
            return charts

        return self.answer(week, ("region_charts", organisation, regions), compute)

    tender_method = METHOD

    def funding_contracts(self, week: PublishedWeek, organisation: str | None = None,
                          regions: frozenset[str] = frozenset()) -> list[dict]:
        """The tender calendar's rows for a reader: an hr token's ``organisation`` (unsuppressed), else suppressed,
        within a limited sector token's ``regions``; none for a week published before the calendar was."""
        def compute() -> list[dict]:
            publication = week.publication
            try:
                contracts, members = (publication.table("tender_calendar"),
                                      publication.table("tender_calendar_workers"))
            except FileNotFoundError:
                return []
            return calendar_rows(contracts, members, self.frame(week).workers, publication.table("client_exposure"),
                                 organisation=organisation, regions=regions)

        return self.answer(week, ("funding_contracts", organisation, regions), compute)

    def _aggregates(self, week: PublishedWeek, by: AggregateBy, horizon: Horizon,
                    measure: Measure = Measure.voluntary) -> bytes:
        def compute() -> bytes:
            frame = self.frame(week)
            body = aggregate_response(frame.workers, by.value, int(horizon), leavers=frame.leavers,
                                      frailty=frame.frailty(int(horizon)), measure=measure.value,
                                      destinations=frame.destinations)
            return Aggregates(week=week.score_date, **body).model_dump_json().encode()

        return self.answer(week, _aggregates_key(by, horizon, measure), compute)

    def prepare(self, week: PublishedWeek) -> None:
        """Every aggregate of the week, computed now, so that no request waits for one. The groupings vary fastest:
        one horizon and measure's intervals serve every grouping (``aggregates._intervals`` keeps a few), where
        a grouping at a time made each of them anew (36 simulations instead of 9, 26 s of a 150,000-worker load)."""
        try:
            for horizon, measure, by in product(Horizon, Measure, AggregateBy):
                self._aggregates(week, by, horizon, measure)
        except Exception:  # noqa: BLE001 - the risk answers of the week must not fail with the aggregates
            logger.exception("the aggregates of %s could not be prepared; each request computes its own", week.score_date)


def _aggregates_key(by: AggregateBy, horizon: Horizon, measure: Measure) -> tuple:
    """The stored answer's key; the voluntary measure keeps the key it had before measures were."""
    key = ("aggregates", by.value, int(horizon))
    return key if measure is Measure.voluntary else (*key, measure.value)


def _per_year(figure: dict | None, years: int) -> dict | None:
    """An inflow figure over ``years`` years as a count per year: expected, low and high divided by the years."""
    if figure is None:
        return None
    low, high = figure["interval"]
    return {"expected": figure["expected"] / years, "low": low / years, "high": high / years}

