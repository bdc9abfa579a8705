"""Aggregate forecasts for sector bodies: expected leavers and affected clients per cell, never an individual.

A cell's expected leavers is the sum of its workers' probabilities of leaving within
the horizon and its interval the central ``level`` interval of the count of leavers
when colleagues share a team and an organisation frailty (``intervals``; the
Poisson-binomial when the week's estimated frailty is 0); expected clients affected is the sum of p x weighted_clients
(``features.exposure``: the clients expected to lose their trusted worker). Every cell
of every grouping is suppressed or published by ``suppression``, jointly, so that the
answer to one ``by`` can be combined with another, or with what an hr token or a manager
knows of their own workers, without revealing a small group of workers.

The intervals of every grouping of a horizon come from one simulation, kept like the
pattern (``_intervals``). The pattern depends on the grouping, organisation and team of the workers and leavers
alone, and every ``by`` and horizon of a week shares it, so it is kept for the last few
frames it was decided for (``_pattern``): deciding it for every reader costs more than
every figure of the week. At 150,000 workers deciding it takes minutes, so the weekly run
decides it once and publishes it (``pattern_table``), and the service adopts the published
pattern for the frames it was decided on (``adopt_pattern``) instead of deciding it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from continuity.horizons import p_leave_within
from continuity.forecasts.intervals import Frailty, frailty_intervals
from continuity.forecasts.suppression import Pattern, atoms, suppression_pattern

GROUPINGS: dict[str, str] = {"region": "region", "organisation": "organisation_id",
                             "domain": "domain", "occupation": "occupation"}
"""The ``by`` of the aggregates query and the worker column it groups on."""
MEASURES = ("voluntary", "sector", "moves")
"""What a cell counts: voluntary leavers of their employer (the published probabilities), of whom those who leave
the sector (p x (1 - move_share)) and those who move to another employer of the sector (p x move_share), two
competing causes sharing the voluntary hazard (``continuity.features.destinations``)."""
MIN_CELL = 10
"""The fewest workers (or leavers) a published figure may rest on, as any reader can narrow it down."""
SCOPES = ["organisation_id", "team_id"]
"""The scopes of the tokens that see individuals (hr, manager): the insiders suppression protects against."""
_PATTERNS: dict[tuple, Pattern] = {}  # by the fingerprints of the frames' keys, oldest first
_PATTERNS_KEPT = 4
_INTERVALS: dict[tuple, dict[tuple[str, str], tuple[int, int]]] = {}  # likewise, with the horizon's probabilities


@dataclass(frozen=True)
class Cell:
    key: str
    workers: int | None
    expected_leavers: float | None
    interval: tuple[int, int] | None
    expected_clients_affected: float | None
    observed_leavers_last_year: int | None
    suppressed: bool

    def as_dict(self) -> dict:
        return {"key": self.key, "workers": self.workers, "expected_leavers": self.expected_leavers,
                "interval": list(self.interval) if self.interval else None,
                "expected_clients_affected": self.expected_clients_affected,
                "observed_leavers_last_year": self.observed_leavers_last_year, "suppressed": self.suppressed}


def aggregate_forecast(workers: pd.DataFrame, by: str, horizon: int, *, min_cell: int = MIN_CELL,
                       level: float = 0.90, leavers: pd.DataFrame | None = None,
                       frailty: Frailty = Frailty(), measure: str = "voluntary") -> list[Cell]:
    """One cell per value of ``by``, ordered by key.

    ``workers``: one row per scored worker with the grouping columns of ``GROUPINGS`` and
    the ``SCOPES``, p_<weeks>w columns (a missing horizon is derived, see ``horizon``) and
    weighted_clients. ``leavers``: one row per worker who left in the last year, with the
    same columns; gives a published cell its observed outflow where that count is safe
    (else None). Pass the same frames for every ``by``: the suppression pattern is decided
    over all groupings present in ``workers``. ``frailty``: the week's estimate of how much
    colleagues leave together (``forecasts.dispersion``); none gives the Poisson-binomial. ``measure``
    (``MEASURES``): sector and moves split each worker's probability by the ``move_share`` column; the
    cells and their suppression are the voluntary measure's (the same workers), the observed outflow is
    withheld (last year's leavers' destinations are partly not known yet), and every figure is empty where a
    share is (destinations unknown: never guessed). The interval simulates the split probabilities with the
    week's frailty of voluntary leaving.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    column = GROUPINGS[by]
    groupings = [c for c in GROUPINGS.values() if c in workers.columns]
    if column not in groupings:
        raise ValueError(f"the workers frame has no {column!r} column")
    p, _ = p_leave_within(workers, horizon)
    p, known = _measured(workers, p, measure)
    frame = pd.DataFrame({"key": workers[column].astype(str), "p": p.to_numpy(),
                          "affected": p.to_numpy() * workers.weighted_clients.to_numpy(dtype=float)})
    observed = (leavers[column].astype(str).value_counts() if leavers is not None
                else pd.Series(dtype="int64"))
    pattern = _pattern(workers, leavers, tuple(groupings), min_cell)
    intervals = _intervals(workers, p.to_numpy(), tuple(groupings), level, frailty) if known else {}

    cells = []
    for key, group in frame.groupby("key", sort=True):
        if (column, key) in pattern.hidden:
            cells.append(Cell(key, None, None, None, None, None, True))
            continue
        outflow = None if leavers is None or (column, key) in pattern.outflow_hidden else int(observed.get(key, 0))
        if measure != "voluntary":
            outflow = None
        if not known:
            cells.append(Cell(key, len(group), None, None, None, None, False))
            continue
        cells.append(Cell(key, len(group), float(group.p.sum()), intervals[(column, key)],
                          float(group.affected.sum()), outflow, False))
    return cells


def _measured(workers: pd.DataFrame, p: pd.Series, measure: str) -> tuple[pd.Series, bool]:
    """The probabilities of the measure, and whether they are known (a split needs every worker's move share)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    if measure == "voluntary":
        return p, True
    share = workers["move_share"].astype(float) if "move_share" in workers.columns else pd.Series(np.nan, index=p.index)
    if share.isna().any():
        return p * 0.0, False
    split = share if measure == "moves" else 1.0 - share
    return p * split.to_numpy(), True


def _pattern(workers: pd.DataFrame, leavers: pd.DataFrame | None, groupings: tuple[str, ...],
             min_cell: int) -> Pattern:
    key = _pattern_key(workers, leavers, groupings, min_cell)
    if key not in _PATTERNS:
        _keep(key, suppression_pattern(workers, list(groupings), SCOPES, min_cell, leavers))
    return _PATTERNS[key]


def _pattern_key(workers: pd.DataFrame, leavers: pd.DataFrame | None, groupings: tuple[str, ...],
                 min_cell: int) -> tuple:
    missing = [s for s in SCOPES if s not in workers.columns or (leavers is not None and s not in leavers.columns)]
    if missing:
        raise ValueError(f"the workers and leavers frames need the scope columns {missing}")
    columns = [*groupings, *SCOPES]
    return (_fingerprint(workers[columns]), None if leavers is None else _fingerprint(leavers[columns]),
            groupings, min_cell)


def _keep(key: tuple, pattern: Pattern) -> None:
    while len(_PATTERNS) >= _PATTERNS_KEPT:
        _PATTERNS.pop(next(iter(_PATTERNS)))
    _PATTERNS[key] = pattern


def _population(workers: pd.DataFrame, leavers: pd.DataFrame | None, groupings: tuple[str, ...]) -> str:
    """What a pattern is decided on, the same for frames of the same workers and leavers in any order: their
    counts per combination of groupings and scopes (``atoms``)."""
    return _fingerprint(atoms(workers, leavers, list(dict.fromkeys([*groupings, *SCOPES]))))


def pattern_table(workers: pd.DataFrame, leavers: pd.DataFrame | None) -> pd.DataFrame:
    """The week's pattern as the weekly run publishes it (``continuity.published.SUPPRESSION``): every cell of every
    grouping with whether it is hidden and whether its observed leavers are, and the ``population`` it was decided
    on (``_population``)."""
    groupings = tuple(c for c in GROUPINGS.values() if c in workers.columns)
    pattern = _pattern(workers, leavers, groupings, MIN_CELL)
    cells = [(g, cell) for g in groupings for cell in sorted(workers[g].astype(str).unique())]
    return pd.DataFrame({"grouping": [g for g, _ in cells], "key": [cell for _, cell in cells],
                         "hidden": [c in pattern.hidden for c in cells],
                         "outflow_hidden": [c in pattern.outflow_hidden for c in cells],
                         "population": _population(workers, leavers, groupings)})


def adopt_pattern(workers: pd.DataFrame, leavers: pd.DataFrame | None, table: pd.DataFrame) -> bool:
    """Keep the published ``pattern_table`` as the pattern of these frames, as if decided here, when it was decided
    on the same workers and leavers (its ``population``); whether it was. A week whose table is missing, empty or
    of another population has its pattern decided here, on first use."""
    groupings = tuple(c for c in GROUPINGS.values() if c in workers.columns)
    if table.empty or set(table.population) != {_population(workers, leavers, groupings)}:
        return False
    cells = list(zip(table.grouping, table.key))
    _keep(_pattern_key(workers, leavers, groupings, MIN_CELL),
          Pattern(frozenset(c for c, h in zip(cells, table.hidden) if h),
                  frozenset(c for c, h in zip(cells, table.outflow_hidden) if h)))
    return True


def _intervals(workers: pd.DataFrame, p: np.ndarray, groupings: tuple[str, ...], level: float,
               frailty: Frailty) -> dict[tuple[str, str], tuple[int, int]]:
    key = (_fingerprint(workers[[*groupings, *SCOPES]]), hashlib.sha256(p.tobytes()).hexdigest(), groupings, level,
           frailty)
    if key not in _INTERVALS:
        while len(_INTERVALS) >= _PATTERNS_KEPT:
            _INTERVALS.pop(next(iter(_INTERVALS)))
        _INTERVALS[key] = frailty_intervals(p, {c: workers[c].to_numpy() for c in groupings},
                                            workers["team_id"].to_numpy(), workers["organisation_id"].to_numpy(),
                                            frailty, level)
    return _INTERVALS[key]


def _fingerprint(keys: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(keys.astype(str), index=False).to_numpy().tobytes()).hexdigest()


def aggregate_response(workers: pd.DataFrame, by: str, horizon: int, measure: str = "voluntary",
                       destinations: str | None = None, **options) -> dict:
    """The ``GET /aggregates`` body: ``{"by", "horizon", "measure", "destinations", "assumption", "cells": [...]}``;
    ``destinations``: why the week's move shares are unknown (None: known), said with a split measure."""
    p, assumption = p_leave_within(workers, horizon)
    cells = aggregate_forecast(workers, by, horizon, measure=measure, **options)
    if measure != "voluntary" and destinations is None and not _measured(workers, p, measure)[1]:
        destinations = "the week's move shares are unknown"
    return {"by": by, "horizon": horizon, "measure": measure,
            "destinations": destinations if measure != "voluntary" else None, "assumption": assumption,
            "cells": [c.as_dict() for c in cells]}


def cells_within_regions(workers: pd.DataFrame, leavers: pd.DataFrame | None, by: str,
                         regions: frozenset[str]) -> set[str]:
    """The keys of the cells of ``by`` whose every worker and leaver works in ``regions``: what a sector token
    limited to those regions is shown.

    A cell reaching outside the regions would tell about workers outside the scope. The cells
    shown are cells of the same joint suppression pattern, a subset of what an unlimited sector
    token sees, so no combination of them reveals more than the public answers already could.
    """
    frames = [workers] if leavers is None else [workers, leavers]
    members = pd.concat([pd.DataFrame({"key": f[GROUPINGS[by]].astype(str), "inside": f["region"].astype(str).isin(regions)})
                         for f in frames], ignore_index=True)
    inside = members.groupby("key")["inside"].all()
    return set(inside.index[inside])


INFLOW_MEASURES = ("hires", "exits", "net_change", "moves", "leaves_sector", "without_steady_worker")
"""The published inflow's measures (``continuity.published.SECTOR_INFLOW``)."""
SECTOR = "sector"
"""The inflow's grouping and key of the whole sector as one cell."""


def inflow_cells(inflow: pd.DataFrame, workers: pd.DataFrame, by: str, horizon: int, *,
                 leavers: pd.DataFrame | None = None, organisation: str | None = None,
                 regions: frozenset[str] = frozenset(), min_cell: int = MIN_CELL) -> dict:
    """The ``GET /inflow`` body (without the week) for one grouping and horizon, from the week's ``sector_inflow``.

    The cells are the aggregates' cells of the same key, and suppressed as they are: a cell the aggregates'
    joint pattern hides (``workers`` and ``leavers`` as for ``aggregate_forecast``), or that holds no scored
    worker this week (it is no published cell, so nothing says it is safe), publishes no figure. An hr token
    (``organisation``) is shown its own organisation's cell and the sector as a whole, never another
    organisation's cell nor a cell shared with one; a sector token limited to ``regions`` the cells wholly
    within them (``cells_within_regions``) and not the sector as a whole, which reaches outside them. A measure the
    export cannot forecast is named in ``unavailable`` with the reason."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    column = GROUPINGS[by]
    groupings = tuple(c for c in GROUPINGS.values() if c in workers.columns)
    pattern = _pattern(workers, leavers, groupings, min_cell)
    present = set(workers[column].astype(str))
    rows = inflow[inflow["horizon_weeks"].astype(int) == int(horizon)]
    figures: dict[tuple[str, str], dict] = {}
    for row in rows.itertuples(index=False):
        if not _text(row.reason):
            figures.setdefault((row.grouping, row.key), {})[row.measure] = {
                "expected": float(row.expected), "interval": [int(row.low), int(row.high)],
                "past": float(row.past), "window_weeks": float(row.window_weeks)}
    unavailable = {row.measure: row.reason for row in rows.itertuples(index=False) if _text(row.reason)}
    keys = sorted(key for grouping, key in figures if grouping == by)
    if organisation is not None:
        keys = [key for key in keys if by == "organisation" and key == organisation]
    if regions:
        inside = cells_within_regions(workers, leavers, by, regions)
        keys = [key for key in keys if key in inside]
    cells = []
    for key in keys:
        hidden = key not in present or (column, key) in pattern.hidden
        shown = {} if hidden else figures[(by, key)]
        cells.append({"key": key, "suppressed": hidden, **{m: shown.get(m) for m in INFLOW_MEASURES}})
    total = None
    if not regions and len(workers) >= min_cell and (SECTOR, SECTOR) in figures:
        total = {"key": SECTOR, "suppressed": False, **{m: figures[(SECTOR, SECTOR)].get(m) for m in INFLOW_MEASURES}}
    return {"by": by, "horizon": int(horizon), "unavailable": unavailable, "sector": total, "cells": cells}


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None
