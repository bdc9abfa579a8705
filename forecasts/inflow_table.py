"""The week's ``sector_inflow`` table: hires, exits, net change and clients without a steady worker per cell,
grouping and horizon, from what ``features.inflow.inflow_history`` read of the export before the data end.

Kept apart from the reading (features) so that the figures are computed downstream of the warehouse, as every
forecast is, and the backtest (``benchmarks/sector_inflow.py``) and the weekly run forecast alike. A measure
the export cannot forecast has one sector row per horizon with the reason instead of figures.

**Moves and leavers of the sector** split the voluntary exits by where they went (``destination``: a new
employment in the sector within the move window, or none). A destination is known only once the window has
passed, so their rates are counted in the window ending at ``moves_until`` (the data end minus the move
window), not at the data end: counting up to the data end would see the recent moves (found within days) and
miss the recent leavers of the sector (known only when the window ends), and the split would lean to moves.
Each is then a count forecast as hires and exits are (``count_forecast``: its own rate, drift and interval):
the two rates add up to the voluntary exits' rate in that window. The exits whose destination the export
cannot tell (no ``person_key`` for the worker) count in neither.
"""

from __future__ import annotations

import pandas as pd

from continuity.forecasts.aggregates import GROUPINGS, SECTOR
from continuity.forecasts.inflow import HORIZONS_WEEKS, count_forecast, net_change, net_spread
from continuity.forecasts.staffing_gap import gap_forecast
from continuity.published import SECTOR_INFLOW

LEVEL = 0.90
DESTINATIONS = {"moves": "move", "leaves_sector": "sector"}
"""The measures of the voluntary exits by destination (``destination`` of the events)."""


def inflow_table(end: pd.Timestamp, first: pd.Timestamp | None, events: pd.DataFrame | None, why_flows: str | None,
                 past_clients: pd.DataFrame | None, gap_weeks: float | None, why_gap: str | None,
                 moves_until: pd.Timestamp, why_moves: str | None) -> pd.DataFrame:
    """The rows of ``sector_inflow`` (``continuity.published``): ``events`` are the hires and exits (kind, day,
    destination and the cell columns) since ``first``, ``past_clients`` the open clients on the past dates
    (``gap_forecast``); a ``why_*`` instead of them says why that part cannot be forecast. Both carry a
    ``sector`` column holding "sector": the whole sector as one cell. The moves and leavers of the sector are
    counted up to ``moves_until``, before which every voluntary exit's destination is known."""
    rows: list[dict] = []
    columns = {**GROUPINGS, SECTOR: SECTOR}
    if why_flows is None:
        hired, left = events[events["kind"] == "hire"], events[events["kind"] == "exit"]
        for h in HORIZONS_WEEKS:
            for name, column in columns.items():
                keys = sorted(events[column].astype(str).unique())
                forecast = {"hires": count_forecast(hired, column, first, end, h, keys, LEVEL),
                            "exits": count_forecast(left, column, first, end, h, keys, LEVEL)}
                for measure, cells in forecast.items():
                    rows += [_row(name, f.key, measure, h, f.expected, f.interval, f.past, f.weeks)
                             for f in cells.values()]
                phi = net_spread(hired, left, column, first, end)
                for key, f in net_change(forecast["hires"], forecast["exits"], phi, h, LEVEL).items():
                    past = forecast["hires"][key].past - forecast["exits"][key].past
                    rows.append(_row(name, key, "net_change", h, f.expected, f.interval, past,
                                     forecast["hires"][key].weeks))
        rows += (_destination_rows(events, first, moves_until, columns) if why_moves is None else
                 [_reason(measure, h, why_moves) for measure in DESTINATIONS for h in HORIZONS_WEEKS])
    else:
        rows += [_reason(measure, h, why_flows) for measure in ("hires", "exits", "net_change", *DESTINATIONS)
                 for h in HORIZONS_WEEKS]
    if why_gap is None:
        for name, column in columns.items():
            for key, f in gap_forecast(past_clients, column, LEVEL).items():
                rows += [_row(name, key, "without_steady_worker", h, f.expected, f.interval, f.open_clients,
                              gap_weeks) for h in HORIZONS_WEEKS]
        if past_clients.empty:
            rows += [_reason("without_steady_worker", h, "no client had an open case on the past dates")
                     for h in HORIZONS_WEEKS]
    else:
        rows += [_reason("without_steady_worker", h, why_gap) for h in HORIZONS_WEEKS]
    return pd.DataFrame(rows, columns=SECTOR_INFLOW.column_names)


def _destination_rows(events: pd.DataFrame, first: pd.Timestamp, until: pd.Timestamp,
                      columns: dict[str, str]) -> list[dict]:
    """The moves and leavers of the sector per grouping, cell and horizon: the voluntary exits of each destination
    before ``until`` (all known), forecast over the horizon after the data end from their rate."""
    rows = []
    for h in HORIZONS_WEEKS:
        for name, column in columns.items():
            keys = sorted(events[column].astype(str).unique())
            for measure, destination in DESTINATIONS.items():
                gone = events[events["destination"] == destination]
                rows += [_row(name, f.key, measure, h, f.expected, f.interval, f.past, f.weeks)
                         for f in count_forecast(gone, column, first, until, h, keys, LEVEL).values()]
    return rows


def _row(grouping: str, key: str, measure: str, horizon: int, expected: float, interval: tuple[int, int],
         past: float, weeks: float) -> dict:
    return {"grouping": grouping, "key": str(key), "measure": measure, "horizon_weeks": int(horizon),
            "expected": float(expected), "low": int(interval[0]), "high": int(interval[1]), "past": float(past),
            "window_weeks": float(weeks), "reason": None}


def _reason(measure: str, horizon: int, why: str) -> dict:
    return {"grouping": SECTOR, "key": SECTOR, "measure": measure, "horizon_weeks": int(horizon), "expected": None,
            "low": None, "high": None, "past": None, "window_weeks": None, "reason": why}
