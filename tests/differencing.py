"""What each reader of the aggregates can compute: the brute-force attacks the suppression must withstand.

A reader is the public (a sector token), an hr token (one organisation) or a manager (one
team); an insider knows every worker of their scope with their figures, and their leavers.
A sector token limited to regions is answered the cells within them (``regions``): every
check runs on what such a token is shown as well. The sector inflow (``inflow``: a week's ``sector_inflow``
table) publishes figures per cell of the same groupings, every measure of ``INFLOW_MEASURES`` (the moves and the
leavers of the sector among them: a cell with any figure is a published cell); its published cells count as
published cells too.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from continuity.forecasts.aggregates import GROUPINGS, INFLOW_MEASURES, aggregate_forecast, cells_within_regions, inflow_cells

MIN_CELL = 10


def readers(workers: pd.DataFrame, leavers: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, known workers, known leavers) for the public, every organisation and every team."""
    found = [("public", np.zeros(len(workers), bool), np.zeros(len(leavers), bool))]
    for scope, role in (("organisation_id", "hr"), ("team_id", "manager")):
        for value in sorted(set(workers[scope]) | set(leavers[scope])):
            found.append((f"{role} {value}", (workers[scope] == value).to_numpy(), (leavers[scope] == value).to_numpy()))
    return found


def published(workers: pd.DataFrame, leavers: pd.DataFrame, by: str, horizon: int,
              regions: frozenset[str] | None = None, measure: str = "voluntary"):
    """(cell, worker membership, leaver membership) per cell of one query; within ``regions`` if given; of the
    aggregates' ``measure`` (voluntary, sector or moves)."""
    shown = None if regions is None else cells_within_regions(workers, leavers, by, regions)
    return [(cell, (workers[GROUPINGS[by]].astype(str) == cell.key).to_numpy(),
             (leavers[GROUPINGS[by]].astype(str) == cell.key).to_numpy())
            for cell in aggregate_forecast(workers, by, horizon, leavers=leavers, measure=measure)
            if shown is None or cell.key in shown]


def assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, horizon, regions=None, measure="voluntary"):
    """The issue's attack: a published cell minus the reader's own workers (and own leavers), every ``by``."""
    for by in GROUPINGS:
        for cell, members, left in published(workers, leavers, by, horizon, regions, measure):
            if cell.suppressed:
                continue
            for name, known, known_left in readers(workers, leavers):
                rest, left_rest = (members & ~known).sum(), (left & ~known_left).sum()
                assert rest == 0 or rest >= MIN_CELL, (name, by, cell.key, int(rest))
                if cell.observed_leavers_last_year is not None:
                    assert left_rest >= MIN_CELL or rest == left_rest == 0, (name, by, cell.key, int(left_rest))


def published_inflow(workers, leavers, inflow, by, horizon, regions=None, organisation=None):
    """(cell, worker membership) per cell of one ``GET /inflow`` answer with a figure, for a reader (``organisation``:
    an hr token's; ``regions``: a limited sector token's)."""
    body = inflow_cells(inflow, workers, by, horizon, leavers=leavers, organisation=organisation,
                        regions=frozenset() if regions is None else regions)
    return [(cell, (workers[GROUPINGS[by]].astype(str) == cell["key"]).to_numpy()) for cell in body["cells"]
            if any(cell[m] is not None for m in INFLOW_MEASURES)]


def assert_inflow_keeps_the_aggregates_suppression(workers, leavers, inflow, regions=None):
    """Every inflow cell with a figure, for every reader and horizon, is a published cell of the aggregates (the
    same key, not suppressed, shown to that reader); an hr token's are its own organisation's; a limited sector
    token gets no sector total."""
    for by in GROUPINGS:
        public = {c.key for c, _, _ in published(workers, leavers, by, 13, regions) if not c.suppressed}
        for horizon in sorted(set(inflow["horizon_weeks"])):
            for organisation in [None, *sorted(workers["organisation_id"].astype(str).unique())]:
                shown = published_inflow(workers, leavers, inflow, by, horizon, regions, organisation)
                assert {c["key"] for c, _ in shown} <= public, (by, horizon, organisation)
                if organisation is not None:
                    assert all(by == "organisation" and c["key"] == organisation for c, _ in shown)
                if regions:
                    body = inflow_cells(inflow, workers, by, horizon, leavers=leavers, regions=regions)
                    assert body["sector"] is None


def assert_no_combination_isolates_a_few(workers, leavers, queries, horizon=13, regions=None, measures=("voluntary",),
                                         inflow=None):
    """No -1/0/+1 combination of the published counts of ``queries`` (workers with the total, and
    leavers), minus what a reader knows, is exactly 1 to 9 workers (leavers) outside their scope;
    and for the public no combination is exactly a hidden cell. ``measures``: the aggregates' measures
    queried, each a query of its own; ``inflow``: the week's sector inflow, whose cells with a figure (of every
    horizon) join the published counts (a cell the aggregates publish too adds no combination)."""
    cells = [(c, m, l) for measure in measures for by in queries
             for c, m, l in published(workers, leavers, by, horizon, regions, measure)]
    staff = [np.ones(len(workers))] + [m for c, m, _ in cells if not c.suppressed]
    if inflow is not None:
        seen = {m.astype(float).tobytes() for m in staff}
        for by in queries:
            for h in sorted(set(inflow["horizon_weeks"])):
                for _, m in published_inflow(workers, leavers, inflow, by, h, regions):
                    if m.astype(float).tobytes() not in seen:
                        seen.add(m.astype(float).tobytes())
                        staff.append(m)
    outflow = [l for c, _, l in cells if c.observed_leavers_last_year is not None]
    staff_sums, outflow_sums = _combinations(staff, len(workers)), _combinations(outflow, len(leavers))
    for name, known, known_left in readers(workers, leavers):
        for sums, mine in ((staff_sums, known), (outflow_sums, known_left)):
            rest = sums[:, ~mine]
            few = ((rest == 0) | (rest == 1)).all(axis=1) & (rest.sum(axis=1) >= 1) & (rest.sum(axis=1) < MIN_CELL)
            assert not few.any(), (name, queries)
    for c, m, _ in cells:
        if c.suppressed:
            assert not (staff_sums == m).all(axis=1).any(), (queries, c.key)


def _combinations(rows: list[np.ndarray], n: int) -> np.ndarray:
    if not rows:
        return np.zeros((1, n))
    coefficients = np.array(list(itertools.product((-1, 0, 1), repeat=len(rows))))
    return coefficients @ np.vstack(rows).astype(float)


def assert_no_two_cells_isolate_a_few(workers, leavers, horizon):
    """Every sum or difference of up to two published cells of any groupings, with or without the
    total, minus what a reader knows, is never exactly 1 to 9 workers: the brute force at a size
    where every combination of all cells is out of reach."""
    rows = [np.ones(len(workers), bool)] + [m for by in GROUPINGS for c, m, _ in published(workers, leavers, by, horizon)
                                            if not c.suppressed]
    rows = np.vstack(rows).astype(np.int8)
    for name, known, _ in readers(workers, leavers):
        rest = rows[:, ~known]
        for total in (-1, 0, 1):
            for sign in (-1, 1):
                sums = total * rest[0] + rest[:, None, :] + sign * rest[None, :, :]
                for combination in (sums, total * rest[0] + rest):
                    few = ((combination == 0) | (combination == 1)).all(axis=-1) & \
                          (combination.sum(axis=-1) >= 1) & (combination.sum(axis=-1) < MIN_CELL)
                    assert not few.any(), (name, total, sign)
