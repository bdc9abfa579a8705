"""Small-cell suppression for the sector aggregates, decided once for every grouping together.

A sector body may ask ``by=region`` and ``by=organisation`` (and domain, occupation) and
combine the answers. Every answer is computed from the same scored workers, and the
suppression pattern is a function of the worker counts alone, so it is the same for
every horizon and every query. It is decided jointly, so that a cell hidden in one
query cannot be recovered from another:

1. primary suppression: every cell with fewer than ``min_cell`` workers;
2. within a grouping, the cells sum to the sector total, which is public; the hidden
   cells' sum is therefore known, so a grouping hides either nothing, or at least two
   cells together holding at least ``min_cell`` workers (the next-smallest cells are
   hidden until that holds);
3. across groupings, a published figure is a sum over the workers of its cell. A hidden
   cell's figure can be computed from the published ones (by any combination of sums and
   differences, e.g. a region minus the organisations inside it) exactly when the cell's
   membership vector lies in the span of the published cells' and the total's. Worker
   figures (counts, expected leavers) are sums over the cross-classification of all
   groupings, so the test runs on those "atoms"; it is repeated on the atoms of last
   year's leavers when their outflow is published. While some hidden cell is determined,
   the smallest published cell whose hiding breaks that is hidden too.

This is the linear criterion of classical cell suppression; it does not protect against
an attacker who knows which atoms are empty or uses bounds (a count is never negative),
which can narrow a hidden cell to an interval. A hidden cell with no leavers last year
is not protected in the leaver test: that its outflow was zero may be learnt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Cell = tuple[str, str]  # (grouping column, key)


@dataclass(frozen=True)
class _Lattice:
    """Membership of every grouping cell in the atoms of one population."""

    rows: dict[Cell, np.ndarray]

    @classmethod
    def of(cls, keys: pd.DataFrame, groupings: list[str]) -> _Lattice:
        atoms = keys[groupings].astype(str).drop_duplicates().sort_values(groupings).reset_index(drop=True)
        return cls({(g, key): (atoms[g] == key).to_numpy(dtype=float)
                    for g in groupings for key in sorted(atoms[g].unique())})

    def determined(self, cell: Cell, hidden: set[Cell]) -> bool:
        target = self.rows.get(cell)
        if target is None or not target.any():
            return False
        known = [row for c, row in self.rows.items() if c not in hidden] + [np.ones_like(target)]
        published = np.vstack(known)
        return np.linalg.matrix_rank(np.vstack([published, target])) == np.linalg.matrix_rank(published)


def suppressed_cells(keys: pd.DataFrame, groupings: list[str], min_cell: int,
                     leavers: pd.DataFrame | None = None) -> set[Cell]:
    """The (grouping column, key) cells to hide; ``keys`` has one row per scored worker."""
    sizes = {(g, str(key)): int(n) for g in groupings for key, n in keys[g].astype(str).value_counts().items()}
    if len(keys) < min_cell:
        return set(sizes)
    # a cell holding every worker is the public total itself: it is never hidden
    sizes = {cell: n for cell, n in sizes.items() if n < len(keys)}
    hidden = {cell for cell, n in sizes.items() if n < min_cell}
    lattices = [_Lattice.of(keys, groupings)]
    if leavers is not None and len(leavers):
        lattices.append(_Lattice.of(leavers, groupings))

    def by_size(cells) -> list[Cell]:
        return sorted(cells, key=lambda c: (sizes[c], c))

    while True:
        recoverable = _recoverable_remainder(sizes, hidden, groupings, min_cell)
        if recoverable:
            hidden.add(by_size(recoverable)[0])
            continue
        exposed = [c for c in by_size(hidden) if any(lattice.determined(c, hidden) for lattice in lattices)]
        if not exposed:
            return hidden
        cell = exposed[0]
        published = by_size(set(sizes) - hidden)
        if not published:
            return hidden
        breaking = [c for c in published
                    if not any(lattice.determined(cell, hidden | {c}) for lattice in lattices)]
        hidden.add((breaking or published)[0])


def _recoverable_remainder(sizes: dict[Cell, int], hidden: set[Cell], groupings: list[str],
                           min_cell: int) -> list[Cell]:
    """The published cells of the first grouping whose hidden cells' sum (total minus published) is small."""
    for g in groupings:
        cells = [c for c in sizes if c[0] == g]
        mine = [c for c in cells if c in hidden]
        published = [c for c in cells if c not in hidden]
        if mine and published and (len(mine) == 1 or sum(sizes[c] for c in mine) < min_cell):
            return published
    return []
