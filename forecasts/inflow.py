"""Hires, exits and the net change in staff per cell, one to three years ahead, with intervals.

**The rate.** A cell's hires (or exits) over the coming h weeks are forecast from its count n in the last
``WINDOW_WEEKS`` (W weeks; fewer where the export records less): expected (n + 1/2) h / W, the posterior
mean under Jeffreys' prior for a Poisson rate. Two years, because one year of a cell of a few dozen hires
a year leaves the rate uncertain by some 15%, and older years are another labour market; a count rather
than a share of the staff, because posts, not people, are hired into: a cell hires to replace whoever
left, whatever its size.

**The interval.** The count is Poisson given the rate; the rate is uncertain (the posterior Gamma(n + 1/2,
W)) and drifts: a cell's rate in one half year differs from another's by more than Poisson counts differ
(a tender won or lost, a team passing to another employer, a round of hiring). The drift is a gamma
frailty on the rate with variance ``alpha``, estimated per grouping by the method of moments from the
window's half years (``BLOCK_WEEKS``): E[S^2] = m + alpha m^2 for a cell's counts per half year with mean m,
pooled over the grouping's cells, the Poisson part taken off before anything counts as drift (as
``dispersion.py`` does for leaving). The predictive count is then negative binomial with mean mu and
variance mu + mu^2 (alpha + 1 / (n + 1/2)); the interval is its central ``level`` interval. The drift is
held for the whole horizon (a cell that hires less this half year is taken to keep doing so).

Measured on the bench sector (2,000 posts, five years; ``benchmarks/sector_inflow.py``, pooled over one to
three yearly origins): a year's hires are forecast within 4% for the sector, 6-10% per region, organisation,
domain or occupation cell (sum of absolute errors over realised), forecast over realised 1.00; exits
within 2-14%, 1.01-1.03. The 90% intervals hold 93-100% of hire cells and 81-100% of exit cells at one
year, 90-100% and 71-100% at two and three (7-33 cells per grouping: one cell moves these by 3-14 points).
The earliest origin's window begins at the export's start, when the synthetic sector's posts were all
filled and its first half year's hires lagged its exits by the time to fill a post: its drift, and so its
intervals, are the widest.

**The net change** is expected hires minus expected exits. Its interval is not that of two independent
counts: a cell's hires follow its exits (posts are refilled), so the difference spreads far less than
either. Its spread is measured directly: per half year of the window, each cell's hires minus exits, whose
variance over the grouping's cells, pooled, is ``phi`` times the Poisson variance the two counts would
have if independent (hires + exits; ``net_spread``). Over h weeks the net change then has variance
phi (E[hires] + E[exits]) (1 + h / W), the last term the uncertainty of the rates themselves, and its
interval is the normal one, rounded outwards. On the bench sector a year's net change per cell is off by
5-8 staff on average (cells that hire and lose 20-100 a year), and its intervals hold 85-100% of cells.
Exits are forecast from their past rate too rather than
from the published probabilities: those reach 52 weeks and only the workers of today, while over 1-3
years the people hired meanwhile leave as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

HORIZONS_WEEKS = (52, 104, 156)
"""One, two and three years: the span sector bodies plan on."""
WINDOW_WEEKS = 104
BLOCK_WEEKS = 26
PRIOR = 0.5
"""Jeffreys' prior count: a cell without a hire in the window still gets a small rate, not a certain zero."""


@dataclass(frozen=True)
class CountForecast:
    key: str
    past: int  # the count in the window
    expected: float
    interval: tuple[int, int]
    variance: float  # of the predictive count: Poisson, the rate's uncertainty and its drift
    weeks: float  # the window the rate was counted over


@dataclass(frozen=True)
class NetChange:
    key: str
    expected: float  # expected hires - expected exits
    interval: tuple[int, int]


def negative_binomial(mean: float, variance: float) -> stats.rv_discrete:
    """The count with this mean and variance: negative binomial above the Poisson's variance, else Poisson."""
    if variance <= mean * (1 + 1e-9):
        return stats.poisson(max(mean, 1e-12))
    size = mean**2 / (variance - mean)
    return stats.nbinom(size, size / (size + mean))


def count_interval(mean: float, variance: float, level: float) -> tuple[int, int]:
    """The central ``level`` interval of a count with this mean and variance (``negative_binomial``)."""
    dist = negative_binomial(mean, variance)
    return int(dist.ppf((1 - level) / 2)), int(dist.ppf((1 + level) / 2))


def _block_counts(days: pd.Series, keys: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame | None:
    """Events per cell (rows) and whole half year (columns) of [start, end), the latest half years; None with
    fewer than two."""
    blocks = int((end - start).days // (7 * BLOCK_WEEKS))
    if blocks < 2:
        return None
    first = end - pd.Timedelta(weeks=BLOCK_WEEKS * blocks)
    inside = days >= first
    block = ((days[inside] - first).dt.days // (7 * BLOCK_WEEKS)).astype(int)
    return pd.crosstab(keys[inside], block).reindex(columns=range(blocks), fill_value=0)


def drift(days: pd.Series, keys: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """``alpha``: the variance of the rate's gamma frailty between half years, pooled over the cells (``keys``)
    of the events dated ``days`` in [start, end); 0 with fewer than two whole half years."""
    counts = _block_counts(days, keys, start, end)
    if counts is None:
        return 0.0
    blocks = counts.shape[1]
    mean, variance = counts.mean(axis=1), counts.var(axis=1, ddof=1)
    # E[S^2 - m] = alpha m^2; the mean's own Poisson noise inflates m^2 by m / blocks, taken off too
    return float(max(0.0, (variance - mean).sum() / max((mean**2 - mean / blocks).sum(), 1e-12)))


def count_forecast(events: pd.DataFrame, column: str, start: pd.Timestamp, end: pd.Timestamp, horizon: int,
                   keys: list[str] | None = None, level: float = 0.90) -> dict[str, CountForecast]:
    """Per cell of ``column``: the count of ``events`` (one row per hire, or per exit, with a ``day`` and the
    cell column) expected in the ``horizon`` weeks after ``end``, from those dated in the window
    [max(start, end - WINDOW_WEEKS), end). ``start``: the first day the export records such events. ``keys``:
    the cells to forecast (a cell without any event in the window too); all cells with an event when None."""
    window_start = max(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(weeks=WINDOW_WEEKS))
    weeks = (pd.Timestamp(end) - window_start).days / 7
    if weeks <= 0:
        raise ValueError(f"no history before {end:%Y-%m-%d} to forecast from")
    days = pd.to_datetime(events["day"], cache=False)  # without the cache, which samples the dates at every call
    within = (days >= window_start) & (days < pd.Timestamp(end))
    cells = events.loc[within, column].astype(str)
    alpha = drift(days[within], cells, window_start, pd.Timestamp(end))
    counts = cells.value_counts()
    out = {}
    for key in sorted(set(counts.index) if keys is None else set(keys)):
        n = int(counts.get(key, 0))
        mean = (n + PRIOR) * horizon / weeks
        variance = mean + mean**2 * (alpha + 1 / (n + PRIOR))
        out[key] = CountForecast(key, n, mean, count_interval(mean, variance, level), variance, weeks)
    return out


def net_spread(hires: pd.DataFrame, exits: pd.DataFrame, column: str, start: pd.Timestamp,
               end: pd.Timestamp) -> float:
    """``phi``: the variance of the cells' half-yearly hires minus exits over what independent Poisson counts
    would give (their sum), pooled over the cells of ``column``, from the events dated in [start, end) of
    the window (as ``count_forecast`` takes it); 1 (independence) with fewer than two whole half years."""
    window_start = max(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(weeks=WINDOW_WEEKS))
    counts = []
    for events in (hires, exits):
        days = pd.to_datetime(events["day"], cache=False)
        within = (days >= window_start) & (days < pd.Timestamp(end))
        counts.append(_block_counts(days[within], events.loc[within, column].astype(str), window_start,
                                    pd.Timestamp(end)))
    if counts[0] is None:
        return 1.0
    hired, left = (c.reindex(counts[0].index.union(counts[1].index), fill_value=0) for c in counts)
    poisson = (hired + left).mean(axis=1).sum()
    return float((hired - left).var(axis=1, ddof=1).sum() / poisson) if poisson else 1.0


def net_change(hires: dict[str, CountForecast], exits: dict[str, CountForecast], phi: float, horizon: int,
               level: float = 0.90) -> dict[str, NetChange]:
    """Per cell of either: expected hires - exits and its central ``level`` interval (normal, with the variance
    ``phi`` (E[hires] + E[exits]) (1 + horizon / W), W the window's weeks, rounded outwards); a cell without
    one of them forecasts it at 0."""
    z = stats.norm.ppf((1 + level) / 2)
    out = {}
    for key in sorted(set(hires) | set(exits)):
        hired = hires[key].expected if key in hires else 0.0
        left = exits[key].expected if key in exits else 0.0
        weeks = (hires.get(key) or exits[key]).weeks
        sd = np.sqrt(phi * (hired + left) * (1 + horizon / weeks))
        net = hired - left
        out[key] = NetChange(key, net, (int(np.floor(net - z * sd)), int(np.ceil(net + z * sd))))
    return out
