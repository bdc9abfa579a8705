"""The clients expected to be without a steady worker on a date one to three years ahead, per cell.

A client is without a steady worker when none of their workers has seen them in the last 13 weeks, or
when their worker left a post still vacant (``features/inflow.py``). Clients come to be so when a worker
leaves (their clients wait for the post, or for a successor's first visit) and when a case begins (until
its first visit), and stop when a worker sees them; by Little's law the count on a date is the rate at
which clients lose (or start without) a steady worker times how long they stay so. While exits and the
time to fill a post keep their past rates, as the hires and exits forecasts assume (``inflow.py``), the
count keeps its level: the forecast for every horizon is the cell's mean count on the past dates
measured (``gap_forecast``), and the interval that of a count with the spread those dates showed
(negative binomial: a leaver's clients wait together, so the count is lumpier than Poisson), widened by
the uncertainty of the mean itself.

Measured on the bench sector (``benchmarks/sector_inflow.py``): about 1,300 of some 16,000 open clients
without a steady worker, half of them waiting on a vacancy; forecast within 2% for the sector one
to three years ahead, 4-11% per cell, its 90% intervals holding 80-100% of the cells (86-91% at one year).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from continuity.forecasts.inflow import count_interval


@dataclass(frozen=True)
class GapForecast:
    key: str
    open_clients: float  # mean over the past dates
    expected: float  # clients without a steady worker
    on_vacancy: float  # of which waiting on a vacancy (a client can be both unseen and waiting)
    interval: tuple[int, int]


def gap_forecast(past: pd.DataFrame, column: str, level: float = 0.90) -> dict[str, GapForecast]:
    """Per cell of ``column``: ``past`` holds per past date (``date``) and combination of cells the ``open``
    clients, those ``without`` a steady worker and those waiting on a ``vacancy`` (``features.inflow``:
    ``client_counts``); a cell absent on a date had no open client then."""
    dates = past["date"].nunique()
    if dates == 0:
        return {}
    per_date = (past.assign(key=past[column].astype(str)).groupby(["key", "date"])[["without", "vacancy", "open"]]
                .sum().unstack("date", fill_value=0))
    out = {}
    for key, row in per_date.iterrows():
        counts = row["without"].astype(float)
        mean = float(counts.mean())
        spread = float(counts.var(ddof=1)) if dates > 1 else mean
        variance = max(spread, mean) * (1 + 1 / dates)
        out[str(key)] = GapForecast(str(key), float(row["open"].mean()), mean, float(row["vacancy"].mean()),
                                    count_interval(mean, variance, level))
    return out
