"""How old the served list is, for every page's header and ``/health`` alike: the score week and the last day
of its data (from the publication), and the last weekly run (``continuity.run_record``), read on each request,
so a run that fails is shown at once, without waiting for a week to be swapped in."""

from __future__ import annotations

from fastapi import Request

from continuity.run_record import Freshness, freshness, read_last_run
from continuity.serving.store import PublishedWeek


def served_freshness(request: Request, week: PublishedWeek | None) -> Freshness:
    """The freshness of ``week`` (None: nothing is served) as of today."""
    last_run = read_last_run(request.app.state.settings.published)
    if week is None:
        return freshness(None, None, last_run)
    return freshness(week.score_date, week.publication.data_end, last_run)
