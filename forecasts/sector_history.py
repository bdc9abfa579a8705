"""The week's ``sector_history`` table: each cell's hires and leavers (every reason) per past year, so that the
sector page can draw the inflow forecast of 1-3 years beside what the cell did before.

A forecast of a few hundred hires means little without the years before it: whether the cell has been
shrinking, or this year was unusual. The years are counted from the same events as the forecasts
(``features.inflow.inflow_history``), in whole years of ``YEAR_WEEKS`` back from the data end, so that they
line up with the forecast's horizons (52, 104, 156 weeks after it). Only years the export records whole count:
from the first recorded leaver on, before which it holds only the hires who stayed.
"""

from __future__ import annotations

import pandas as pd

from continuity.forecasts.aggregates import GROUPINGS, SECTOR
from continuity.published import SECTOR_HISTORY

YEAR_WEEKS = 52
"""A year of the history: the forecasts' one-year horizon."""
MEASURES = {"hires": "hire", "exits": "exit"}
"""The measures counted, as the inflow names them, and the events' kind each counts."""


def sector_history(end: pd.Timestamp, first: pd.Timestamp | None, events: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of ``sector_history`` (``continuity.published``): per grouping (and the sector), cell, measure and
    whole year before ``end`` (the data end's next day) since ``first``, the count of ``events`` (kind, day and the
    cell columns, as ``inflow_history`` gives them); no row without events."""
    rows = []
    if events is not None:
        day = pd.to_datetime(events["day"])
        columns = {**GROUPINGS, SECTOR: SECTOR}
        keys = {name: sorted(events[column].astype(str).unique()) for name, column in columns.items()}
        year_end = pd.Timestamp(end)
        while year_end - pd.Timedelta(weeks=YEAR_WEEKS) >= pd.Timestamp(first):
            inside = events[(day >= year_end - pd.Timedelta(weeks=YEAR_WEEKS)) & (day < year_end)]
            for name, column in columns.items():
                for measure, kind in MEASURES.items():
                    counts = inside.loc[inside["kind"] == kind, column].astype(str).value_counts()
                    rows += [{"grouping": name, "key": key, "measure": measure,
                              "year_end": (year_end - pd.Timedelta(days=1)).date(), "count": int(counts.get(key, 0))}
                             for key in keys[name]]
            year_end -= pd.Timedelta(weeks=YEAR_WEEKS)
    return pd.DataFrame(rows, columns=SECTOR_HISTORY.column_names)
