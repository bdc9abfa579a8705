"""Small-cell suppression for the sector aggregates, decided once for every grouping and every reader.

A sector body may ask ``by=region`` and ``by=organisation`` (and domain, occupation) and
combine the answers; an hr token also knows every worker of its organisation, and a
manager every worker of their team, with their figures. Every answer is computed from
the same workers, and the pattern is a function of the counts alone, so it is the same
for every horizon and every query. It is decided jointly, so that no reader learns a
figure about 1 to ``min_cell - 1`` workers outside their own scope:

1. a published cell minus what a reader knows of it leaves none or at least ``min_cell``
   workers, for the public (who knows nothing: every cell under ``min_cell`` is hidden),
   every organisation and every team;
2. within a grouping, the cells sum to the sector total, which is public; the hidden
   cells' sum is therefore known, so a grouping hides either nothing, or at least two
   cells whose remainder for every reader is safe in the sense of 1 (the next-smallest
   cells are hidden until that holds);
3. across groupings, a published figure is a sum over the workers of its cell. A hidden
   cell's figure can be computed from the published ones (by any combination of sums and
   differences, e.g. a region minus the organisations inside it) exactly when the cell's
   membership vector lies in the span of the published cells' and the total's, over the
   "atoms" of the cross-classification of every grouping, organisation and team. An
   insider also knows their own atoms, so for them the test runs on the atoms outside
   their scope. A hidden cell stays hidden from the public; an insider may compute one
   only when its remainder is safe in the sense of 1. The part of one cell in another
   (region minus the other organisations in it: one organisation's part of the region)
   can be computable even when every cell is published, so these intersections are
   tested the same way. While some group is exposed, the smallest published cell whose
   hiding protects it is hidden too.

Last year's observed leavers are a second count with the same rules, decided after the
workers' pattern (a hidden cell publishes nothing) on the leavers' atoms. A leaver count
tells about everyone of the cell, not only about those who left: a published 0 says that
every worker of a small cell stayed. So a leaver remainder is safe only when it is at
least ``min_cell``, or when the cell holds nobody (worker or leaver) outside the reader's
scope; a count under ``min_cell``, 0 included, is never published.

Scopes are single organisations and single teams. A manager token over several teams is
protected as far as its teams' union leaves a safe remainder: a manager of all but one
team of an organisation, with the organisation's cell, learns the last team's sum, which
no pattern short of hiding every organisation prevents.

This is the linear criterion of classical cell suppression; it does not protect against
an attacker who uses bounds (a count is never negative), which can narrow a hidden cell
to an interval, and it treats the atoms that are empty as known: a hidden cell with no
leavers (outside a reader's scope) is not protected in the leaver test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

Cell = tuple[str, str]  # (grouping column, key)


@dataclass(frozen=True)
class Pattern:
    """The cells that publish nothing, and the (more) cells whose observed leavers are withheld."""

    hidden: frozenset[Cell]
    outflow_hidden: frozenset[Cell]


@dataclass(frozen=True)
class _Count:
    """One counted population cut into atoms, as every reader sees it.

    ``sets`` are the groups a reader must not isolate, over the atoms that hold somebody
    counted: the cells (the first ``cells`` rows) and the intersections of two cells of
    different groupings (a region minus the other organisations in it is one organisation's
    part of the region). ``counted`` and ``told`` are readers x sets (reader 0 the public,
    who knows no atom): the counted figure of each set outside the reader's scope, and how
    many people that figure tells about (for leavers: the set's workers too). ``inside`` are
    the atoms each reader knows.
    """

    sets: np.ndarray
    cells: int
    inside: list[np.ndarray]
    counted: np.ndarray
    told: np.ndarray
    min_cell: int

    @classmethod
    def of(cls, membership: np.ndarray, groups: list[str], outside: np.ndarray, counts: np.ndarray,
           people: np.ndarray, min_cell: int) -> _Count:
        pairs = [membership[i] * membership[j] for i, j in itertools.combinations(range(len(groups)), 2)
                 if groups[i] != groups[j] and (membership[i] * membership[j] * people).any()]
        sets = np.vstack([membership, *pairs])
        counted = counts > 0
        return cls(sets[:, counted], len(membership), [np.flatnonzero(~row[counted]) for row in outside],
                   (outside * counts) @ sets.T, (outside * people) @ sets.T, min_cell)

    @property
    def membership(self) -> np.ndarray:
        return self.sets[:self.cells]

    def small(self, cells: np.ndarray) -> np.ndarray:
        """readers x columns of ``cells`` (cells x k, 0/1): whether each union leaves a reader a small remainder."""
        return (self.counted[:, :self.cells] @ cells < self.min_cell) & (self.told[:, :self.cells] @ cells > 0)

    def at_risk(self, hidden: np.ndarray) -> np.ndarray:
        """readers x sets: what a reader may not learn, for the public every hidden cell and every
        small intersection, for an insider those whose remainder outside their scope is small."""
        wanted = (self.counted < self.min_cell) & (self.told > 0)
        wanted[0, :self.cells] = hidden
        wanted[:, :self.cells] &= hidden
        return wanted & (self.counted > 0)

    def exposed(self, hidden: np.ndarray, readers=None, sets=None) -> tuple[int, int] | None:
        """The first (reader, set) at risk that the reader can compute from the published cells,
        the total and their own atoms; only among ``readers`` and ``sets`` when given.

        A set is computable when it lies in the span of the published rows and the reader's unit
        atoms; projecting out the published rows once leaves, per reader, a least-squares problem
        over their own atoms only."""
        if not self.sets.shape[1]:  # nobody counted: no figure to compute
            return None
        known = np.vstack([self.membership[~hidden], np.ones(self.sets.shape[1])])
        _, singular, basis = np.linalg.svd(known, full_matrices=False)
        basis = basis[singular > singular[0] * max(known.shape) * np.finfo(float).eps]
        residual = self.sets - (self.sets @ basis.T) @ basis
        left = (residual ** 2).sum(axis=1)
        risk = self.at_risk(hidden)
        for reader in range(len(self.inside)) if readers is None else readers:
            targets = np.flatnonzero(risk[reader]) if sets is None else [t for t in sets if risk[reader, t]]
            if not len(targets):
                continue
            own = self.inside[reader]
            if own.size:
                gram = np.eye(own.size) - basis[:, own].T @ basis[:, own]
                mine = residual[np.ix_(targets, own)]
                explained = np.einsum("ij,ij->i", mine @ np.linalg.pinv(gram, rcond=1e-10, hermitian=True), mine)
            else:
                explained = 0.0
            found = np.asarray(targets)[left[targets] - explained < 1e-6]
            if found.size:
                return reader, int(found[0])
        return None


def _atoms(workers: pd.DataFrame, leavers: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    frames = [workers[columns].astype(str).assign(workers=1, leavers=0)]
    if leavers is not None:
        frames.append(leavers[columns].astype(str).assign(workers=0, leavers=1))
    return pd.concat(frames).groupby(columns, as_index=False)[["workers", "leavers"]].sum()


def suppression_pattern(workers: pd.DataFrame, groupings: list[str], scopes: list[str], min_cell: int,
                        leavers: pd.DataFrame | None = None) -> Pattern:
    """The pattern over the cells of ``groupings`` for readers scoped by each value of each ``scopes`` column.

    ``workers`` (and ``leavers``) have one row per scored worker (last year's leaver), with
    every grouping and scope column.
    """
    cells = [(g, key) for g in groupings for key in sorted(workers[g].astype(str).unique())]
    if len(workers) < min_cell:
        return Pattern(frozenset(cells), frozenset(cells))
    atoms = _atoms(workers, leavers, list(dict.fromkeys([*groupings, *scopes])))
    membership = np.array([(atoms[g] == key).to_numpy() for g, key in cells], dtype=float).reshape(len(cells), -1)
    outside = np.vstack([np.ones(len(atoms), dtype=bool)] +
                        [(atoms[s] != value).to_numpy() for s in scopes for value in sorted(atoms[s].unique())])
    groups = [g for g, _ in cells]
    n_workers, n_leavers = atoms.workers.to_numpy(float), atoms.leavers.to_numpy(float)
    # a cell holding every worker is the public total itself: it is never hidden
    never = {c for c, n in zip(cells, membership @ n_workers) if n == len(workers)}
    hidden = _decide(_Count.of(membership, groups, outside, n_workers, n_workers, min_cell), cells, set(), never)
    if leavers is None:
        return Pattern(frozenset(hidden), frozenset(hidden))
    outflow = _Count.of(membership, groups, outside, n_leavers, n_workers + n_leavers, min_cell)
    return Pattern(frozenset(hidden), frozenset(_decide(outflow, cells, hidden, set())))


def _decide(count: _Count, cells: list[Cell], hidden: set[Cell], never: set[Cell]) -> set[Cell]:
    """``hidden`` grown until rules 1-3 hold for ``count``; the cells in ``never`` stay published."""
    index = {c: i for i, c in enumerate(cells)}
    sizes = count.counted[0]

    def mask(chosen) -> np.ndarray:
        return np.isin(np.arange(len(cells)), [index[c] for c in chosen])

    def smallest(chosen) -> list[Cell]:
        return sorted(chosen, key=lambda c: (sizes[index[c]], c))

    small = count.small(np.eye(len(cells))).any(axis=0)  # rule 1
    hidden = hidden | {c for c, s in zip(cells, small) if s and c not in never}
    while True:
        recoverable = _recoverable_remainder(count, cells, hidden, mask)
        if recoverable:
            hidden.add(smallest(recoverable)[0])
            continue
        open_cells = smallest(c for c in cells if c not in hidden and c not in never)
        exposure = count.exposed(mask(hidden))
        if exposure is None or not open_cells:
            return hidden
        reader, target = exposure
        breaking = next((c for c in open_cells if count.exposed(mask(hidden | {c}), [reader], [target]) is None), None)
        hidden.add(breaking or open_cells[0])


def _recoverable_remainder(count: _Count, cells: list[Cell], hidden: set[Cell], mask) -> list[Cell]:
    """The published cells of the first grouping whose hidden cells' union is known and small to some reader."""
    for g in dict.fromkeys(c[0] for c in cells):
        mine = [c for c in cells if c[0] == g and c in hidden]
        published = [c for c in cells if c[0] == g and c not in hidden]
        if mine and published and (len(mine) == 1 or count.small(mask(mine)[:, None]).any()):
            return published
    return []
