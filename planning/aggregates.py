"""Aggregate forecasts for sector bodies: expected leavers and affected clients per cell, never an individual.

A cell's expected leavers is the sum of its workers' probabilities of leaving within
the horizon and its interval the central ``level`` interval of the Poisson-binomial
count (``intervals``); expected clients affected is the sum of p x weighted_clients
(``features.exposure``: the clients expected to lose their trusted worker). Every cell
of every grouping is suppressed or published by ``suppression``, jointly, so that the
answer to one ``by`` can be combined with another without revealing a small cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from continuity.planning.horizon import p_leave_within
from continuity.planning.intervals import poisson_binomial_interval
from continuity.planning.suppression import suppressed_cells

GROUPINGS: dict[str, str] = {"region": "region", "organisation": "organisation_id",
                             "domain": "domain", "occupation": "occupation"}
"""The ``by`` of the aggregates query and the worker column it groups on."""


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


def aggregate_forecast(workers: pd.DataFrame, by: str, horizon: int, *, min_cell: int = 10,
                       level: float = 0.90, leavers: pd.DataFrame | None = None) -> list[Cell]:
    """One cell per value of ``by``, ordered by key.

    ``workers``: one row per scored worker with the grouping columns of ``GROUPINGS``,
    p_<weeks>w columns (a missing horizon is derived, see ``horizon``) and weighted_clients.
    ``leavers``: one row per worker who left in the last year, with the grouping columns;
    gives each published cell its observed outflow. Pass the same frames for every ``by``:
    the suppression pattern is decided over all groupings present in ``workers``.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    column = GROUPINGS[by]
    groupings = [c for c in GROUPINGS.values() if c in workers.columns]
    if column not in groupings:
        raise ValueError(f"the workers frame has no {column!r} column")
    p, _ = p_leave_within(workers, horizon)
    frame = pd.DataFrame({"key": workers[column].astype(str), "p": p.to_numpy(),
                          "affected": p.to_numpy() * workers.weighted_clients.to_numpy(dtype=float)})
    observed = (leavers[column].astype(str).value_counts() if leavers is not None
                else pd.Series(dtype="int64"))
    hidden = {key for g, key in suppressed_cells(workers, groupings, min_cell, leavers) if g == column}

    cells = []
    for key, group in frame.groupby("key", sort=True):
        if key in hidden:
            cells.append(Cell(key, None, None, None, None, None, True))
            continue
        cells.append(Cell(
            key, len(group), float(group.p.sum()), poisson_binomial_interval(group.p.to_numpy(), level),
            float(group.affected.sum()),
            int(observed.get(key, 0)) if leavers is not None else None, False))
    return cells


def aggregate_response(workers: pd.DataFrame, by: str, horizon: int, **options) -> dict:
    """The ``GET /aggregates`` body: ``{"by", "horizon", "assumption", "cells": [...]}``."""
    _, assumption = p_leave_within(workers, horizon)
    cells = aggregate_forecast(workers, by, horizon, **options)
    return {"by": by, "horizon": horizon, "assumption": assumption, "cells": [c.as_dict() for c in cells]}
