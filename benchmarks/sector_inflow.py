"""``sector.inflow`` of the quality benchmark: hires, exits, net change, moves, leavers of the sector and clients
without a steady worker, forecast one to three years ahead, against what the synthetic sector's later years did.

At each origin t the forecasts (``continuity.forecasts.inflow``, ``continuity.forecasts.staffing_gap``) see
only the export before t: hires and exits of the two years before it, and the clients without a steady
worker on the dates of the year before it, every ``GAP_SPACING_WEEKS``. Realised are the hires and exits
in the h weeks after t, and the clients without a steady worker at t + h. Origins lie a year apart,
the latest h weeks before the data end, the earliest with the forecasts' whole window of history
behind it: on the five-year bench sector three origins at one year, two at two, one at three.

The moves and leavers of the sector (voluntary leavers by destination) have origins of their own
(``moves_origins``): realised is where the leavers of the h weeks after t went, known only 26 weeks (the
move window) after the last of them, so the latest origin lies h + 26 weeks before the data end; the
earliest has ``MIN_WEEKS`` of exits with a known destination behind it, as the weekly run requires. Their
forecasts at t count the exits before t minus 26 weeks, whose destinations a run at t knew: an exit's
destination is fixed by the hires of the 26 weeks after it, so reading it at the data end leaks nothing.
On the five-year bench sector that is again three origins at one year, two at two and one at three, with
52-104 weeks of counted exits rather than the weekly run's 104 at the earliest.

Per measure, grouping (the aggregates' region, organisation, domain and occupation, and the sector as
one cell) and horizon, pooled over the origins: the mean absolute error per cell, the relative error
(sum of absolute errors over sum of realised; not for the net change, whose realised sum is near 0),
forecast over realised, and the share of cells whose realised count lies inside the 90% interval.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from continuity.features.destinations import MOVE_WINDOW_WEEKS
from continuity.features.inflow import (GAP_DATES, GAP_SPACING_WEEKS, MIN_WEEKS, client_counts, flows, moves_until,
                                        records_from, why_no_moves, with_destinations)
from continuity.features.snapshots import data_end
from continuity.forecasts.aggregates import GROUPINGS, INFLOW_MEASURES, SECTOR
from continuity.forecasts.inflow import HORIZONS_WEEKS, WINDOW_WEEKS
from continuity.forecasts.inflow_table import DESTINATIONS, LEVEL, inflow_table
from continuity.warehouse import has_table



def sector_inflow(warehouse: duckdb.DuckDBPyConnection, horizons: tuple[int, ...] = HORIZONS_WEEKS) -> dict:
    """The JSON figure: per horizon, measure and grouping, the errors pooled over the origins, and the sector's
    own forecast, interval and realised count per origin."""
    end = pd.Timestamp(data_end(warehouse) + timedelta(days=1))
    first = pd.Timestamp(records_from(warehouse))
    events = with_destinations(warehouse, flows(warehouse, first.date(), end.date()), end.date()).assign(
        **{SECTOR: SECTOR})
    events["day"] = pd.to_datetime(events["day"])
    columns = {**GROUPINGS, SECTOR: SECTOR}
    with_gap = has_table(warehouse, "contacts")
    clients: dict[pd.Timestamp, pd.DataFrame] = {}

    def clients_on(t: pd.Timestamp) -> pd.DataFrame:
        if t not in clients:
            clients[t] = client_counts(warehouse, [t.date()]).assign(**{SECTOR: SECTOR})
        return clients[t]

    result: dict = {"window_weeks": WINDOW_WEEKS, "level": LEVEL, "vacancies": has_table(warehouse, "vacancies"),
                    "data": {"from": str(first.date()), "to": str((end - pd.Timedelta(days=1)).date())},
                    "horizons": {}}
    for h in horizons:
        origins = _origins(first, end, h, WINDOW_WEEKS - 1)
        rows = []  # one per origin, measure, grouping and cell
        for t in origins:
            # the week's own forecast (forecasts.inflow_table) as a run at t would publish it, against what followed
            past_gap = (pd.concat([clients_on(t - pd.Timedelta(weeks=GAP_SPACING_WEEKS * k)) for k in range(GAP_DATES)])
                        if with_gap else None)
            table = inflow_table(t, first, events[events["day"] < t], None, past_gap,
                                 float(GAP_SPACING_WEEKS * (GAP_DATES - 1)), None if with_gap else "no contacts",
                                 moves_until(t), "backtested at the moves' origins")
            after = events[(events["day"] >= t) & (events["day"] < t + pd.Timedelta(weeks=h))]
            realised = {}
            for name, column in columns.items():
                counts = {kind: after[after["kind"] == kind][column].astype(str).value_counts() for kind in ("hire", "exit")}
                realised |= {(name, "hires"): counts["hire"], (name, "exits"): counts["exit"],
                             (name, "net_change"): counts["hire"].sub(counts["exit"], fill_value=0)}
                if with_gap:
                    later = clients_on(t + pd.Timedelta(weeks=h))
                    realised[(name, "without_steady_worker")] = later.groupby(later[column].astype(str))["without"].sum()
            rows += _compared(t, table[~table["measure"].isin(DESTINATIONS)], h, realised)
        moves_origins = _origins(first, moves_until(end), h, MOVE_WINDOW_WEEKS + MIN_WEEKS)
        for t in moves_origins:
            table = inflow_table(t, first, events[events["day"] < t], None, None, None,
                                 "backtested at the flows' origins", moves_until(t), why_no_moves(warehouse, first, t))
            after = events[(events["day"] >= t) & (events["day"] < t + pd.Timedelta(weeks=h))]
            realised = {(name, measure): after[after["destination"] == destination][column].astype(str).value_counts()
                        for name, column in columns.items() for measure, destination in DESTINATIONS.items()}
            rows += _compared(t, table[table["measure"].isin(DESTINATIONS)], h, realised)
        result["horizons"][str(h)] = {"origins": [str(t.date()) for t in origins],
                                      "moves_origins": [str(t.date()) for t in moves_origins],
                                      **_errors(pd.DataFrame(rows))}
    return result


def _origins(first: pd.Timestamp, end: pd.Timestamp, horizon: int, behind: int) -> list[pd.Timestamp]:
    """A year apart, the latest ``horizon`` weeks before ``end``, none with ``behind`` weeks or less of history
    (the flows' window but a week: the export's first exit falls some days after its start)."""
    origins, t = [], end - pd.Timedelta(weeks=horizon)
    while t - pd.Timedelta(weeks=behind) > first:
        origins.append(t)
        t -= pd.Timedelta(weeks=52)
    return sorted(origins)


def _compared(t: pd.Timestamp, table: pd.DataFrame, horizon: int, realised: dict) -> list[dict]:
    """The forecast rows of ``table`` at ``horizon`` (those with a figure) beside the realised count of their
    grouping, measure and cell (``realised``: per (grouping, measure), counts per cell)."""
    table = table[(table["horizon_weeks"] == horizon) & table["reason"].isna()]
    return [_row(t, r.measure, r.grouping, r.key, r.expected, (int(r.low), int(r.high)),
                 int(realised[(r.grouping, r.measure)].get(r.key, 0))) for r in table.itertuples()]


def _row(t: pd.Timestamp, measure: str, grouping: str, key: str, expected: float, interval: tuple[int, int],
         realised: int) -> dict:
    return {"origin": str(t.date()), "measure": measure, "grouping": grouping, "key": key, "forecast": expected,
            "low": interval[0], "high": interval[1], "realised": realised}


def _errors(rows: pd.DataFrame) -> dict:
    """Per measure and grouping: cells, mean absolute error, relative error, forecast over realised, coverage;
    and the sector cell per origin."""
    if rows.empty:
        return {}
    out: dict = {}
    rows = rows.assign(error=(rows["forecast"] - rows["realised"]).abs(),
                       covered=(rows["realised"] >= rows["low"]) & (rows["realised"] <= rows["high"]))
    for (measure, grouping), cells in rows.groupby(["measure", "grouping"], sort=False):
        realised = float(cells["realised"].sum())
        figures = {"cells": len(cells), "mae": float(cells["error"].mean()),
                   "coverage": float(cells["covered"].mean())}
        if measure != "net_change":
            figures["relative_error"] = float(cells["error"].sum() / realised) if realised else None
            figures["forecast_realised"] = float(cells["forecast"].sum() / realised) if realised else None
        out.setdefault(measure, {})[grouping] = figures
        if grouping == SECTOR:
            out[measure]["per_origin"] = [
                {"origin": r.origin, "forecast": round(float(r.forecast), 1), "interval": [int(r.low), int(r.high)],
                 "realised": int(r.realised)} for r in cells.itertuples()]
    return {m: out[m] for m in INFLOW_MEASURES if m in out}
