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
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

Cell = tuple[str, str]  # (grouping column, key)
RANK_TOLERANCE = 1e-10
"""Squared singular values below this share of the largest count as zero: the 0/1 cell rows of a sector keep
their smallest true singular values far above it, and the round-off of the Gram matrix far below."""


@dataclass(frozen=True)
class Pattern:
    """The cells that publish nothing, and the (more) cells whose observed leavers are withheld."""

    hidden: frozenset[Cell]
    outflow_hidden: frozenset[Cell]


@dataclass(frozen=True)
class _Count:
    """One counted population, as every reader sees it, over its signatures.

    The atoms that hold somebody counted and fall in the same cell of every grouping (the same
    ``signature``) are one column: every set is a union of whole signatures, so a set lies in the
    span of others over the atoms exactly when it does over the signatures (its equations for two
    atoms of one signature are the same equation), and a week of 150,000 workers has some
    thousands of signatures against tens of thousands of atoms. An insider knows their atoms: the
    columns whose counted atoms are all within their scope (``own``); a column with an atom outside
    stays unknown to them, with the pattern it had.

    ``sets`` are the groups a reader must not isolate: the cells (the first ``cells`` rows) and
    the intersections of two cells of different groupings (a region minus the other organisations
    in it is one organisation's part of the region). ``counted`` and ``told`` are the public's
    figure of each set and how many people that figure tells about (for leavers: the set's workers
    too); ``inside_counted`` and ``inside_told`` (insiders x sets, sparse) what of them lies within
    each insider's scope, so that the insider's remainder is the difference.
    """

    sets: sparse.csr_matrix
    cells: int
    counted: np.ndarray
    told: np.ndarray
    inside_counted: sparse.csr_matrix
    inside_told: sparse.csr_matrix
    own: list[np.ndarray]
    min_cell: int
    _last_span: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, atoms: pd.DataFrame, cells: list[Cell], scopes: list[str], counts: np.ndarray, people: np.ndarray,
           min_cell: int) -> _Count:
        groupings = list(dict.fromkeys(g for g, _ in cells))
        signature = atoms.groupby(groupings, sort=True).ngroup().to_numpy()
        n_signatures = int(signature.max()) + 1 if len(signature) else 0
        first = pd.DataFrame({"signature": signature}).drop_duplicates().index.to_numpy()
        keys = atoms.iloc[first][groupings].astype(str).to_numpy()[np.argsort(signature[first])]
        index = {cell: i for i, cell in enumerate(cells)}
        # each signature's cell in every grouping (-1: a key no cell has, as for a leaver's organisation gone since)
        cell_of = np.array([[index.get((g, key), -1) for key in keys[:, k]] for k, g in enumerate(groupings)],
                           dtype=int).reshape(len(groupings), n_signatures)
        people_of = np.bincount(signature, weights=people, minlength=n_signatures)
        # the intersections of two cells of different groupings that hold somebody, in the order of the cell pairs
        links = [(cell_of[a], cell_of[b]) for a, b in itertools.combinations(range(len(groupings)), 2)]
        found = np.unique(np.concatenate([np.stack([i, j], axis=1)[(people_of > 0) & (i >= 0) & (j >= 0)]
                                          for i, j in links] or [np.empty((0, 2), dtype=int)]), axis=0)
        pair_row = {(int(i), int(j)): len(cells) + r for r, (i, j) in enumerate(found)}
        rows_of, columns_of = [], []
        for row in cell_of:
            rows_of += [c for c in row.tolist() if c >= 0]
            columns_of += np.flatnonzero(row >= 0).tolist()
        for first_cells, second_cells in links:
            for column, pair in enumerate(zip(first_cells.tolist(), second_cells.tolist())):
                if pair in pair_row:
                    rows_of.append(pair_row[pair])
                    columns_of.append(column)
        sets = sparse.csr_matrix((np.ones(len(rows_of)), (np.array(rows_of, dtype=int),
                                                          np.array(columns_of, dtype=int))),
                                 shape=(len(cells) + len(found), n_signatures))
        counted_of = np.bincount(signature, weights=counts, minlength=n_signatures)
        readers = [(s, value) for s in scopes for value in sorted(atoms[s].unique())]
        reader_of = {r: i for i, r in enumerate(readers)}
        rows = np.concatenate([[reader_of[(s, v)] for v in atoms[s]] for s in scopes]).astype(int)
        columns = np.tile(signature, len(scopes))

        def inside(weights: np.ndarray) -> sparse.csr_matrix:
            within = sparse.csr_matrix((np.tile(weights, len(scopes)), (rows, columns)),
                                       shape=(len(readers), n_signatures))
            return (within @ sets.T).tocsr()

        # the signatures whose counted atoms all lie within one reader's scope are that reader's own
        is_counted = counts > 0
        owners: list[list[int]] = [[] for _ in readers]
        for s in scopes:
            spread = pd.DataFrame({"signature": signature[is_counted], "scope": atoms[s].to_numpy()[is_counted]})
            single = spread.groupby("signature")["scope"].agg(["nunique", "first"])
            for column, value in single[single["nunique"] == 1]["first"].items():
                owners[reader_of[(s, value)]].append(int(column))
        kept = counted_of > 0
        position = np.cumsum(kept) - 1
        own = [np.array(sorted(position[o]), dtype=int) for o in owners]
        return cls(sets[:, np.flatnonzero(kept)].tocsr(), len(cells), sets @ counted_of, sets @ people_of,
                   inside(counts), inside(people), own, min_cell)

    @property
    def sizes(self) -> np.ndarray:
        """The public's count of each cell."""
        return self.counted[:self.cells]

    def small(self, cells: np.ndarray) -> np.ndarray:
        """Per column of ``cells`` (cells x k, 0/1): whether its union leaves some reader a small remainder."""
        counted, told = self.counted[:self.cells] @ cells, self.told[:self.cells] @ cells
        inside_counted = self.inside_counted[:, :self.cells] @ cells
        inside_told = self.inside_told[:, :self.cells] @ cells
        public = (counted < self.min_cell) & (told > 0)
        insiders = ((counted - inside_counted) < self.min_cell) & ((told - inside_told) > 0)
        return public | insiders.any(axis=0)

    @cached_property
    def _touched(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per insider: the sets their scope touches, and the counted and told remainder of each outside it (the
        only sets whose figures differ from the public's), read once from the sparse rows."""
        out = []
        for r in range(self.inside_counted.shape[0]):
            rows = [(m.indices[m.indptr[r]:m.indptr[r + 1]], m.data[m.indptr[r]:m.indptr[r + 1]])
                    for m in (self.inside_counted, self.inside_told)]
            among = np.union1d(rows[0][0], rows[1][0])
            inside = [np.zeros(len(among)) for _ in rows]
            for values, (columns, data) in zip(inside, rows):
                values[np.searchsorted(among, columns)] = data
            out.append((among, self.counted[among] - inside[0], self.told[among] - inside[1]))
        return out

    @cached_property
    def _overlaps(self) -> tuple[np.ndarray, np.ndarray]:
        """Every set's inner product with every cell and, last, with the total (a row of ones), and its own
        squared norm: what the coordinates along any published span are made of (``exposures``)."""
        with_total = sparse.vstack([self.sets[:self.cells], np.ones((1, self.sets.shape[1]))]).tocsr()
        return ((self.sets @ with_total.T).toarray(),
                np.asarray(self.sets.multiply(self.sets).sum(axis=1)).ravel())

    def _remainders(self, reader: int, among: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The counted and told figures of the sets ``among`` outside ``reader``'s scope (0: the public, all)."""
        counted, told = self.counted[among], self.told[among]
        if reader:
            counted = counted - _dense_row(self.inside_counted, reader - 1)[among]
            told = told - _dense_row(self.inside_told, reader - 1)[among]
        return counted, told

    def _at_risk(self, reader: int, hidden: np.ndarray, among: np.ndarray, counted: np.ndarray,
                 told: np.ndarray) -> np.ndarray:
        """Of the sets ``among`` (with ``_remainders``), those ``reader`` (0: the public) may not learn: for the
        public every hidden cell and every small intersection, for an insider those whose remainder outside
        their scope is small."""
        wanted = (counted < self.min_cell) & (told > 0)
        is_cell = among < self.cells
        cell_hidden = hidden[np.where(is_cell, among, 0)]
        wanted = np.where(is_cell, cell_hidden if reader == 0 else wanted & cell_hidden, wanted)
        return among[wanted & (counted > 0)]

    def exposed(self, hidden: np.ndarray, readers=None, sets=None) -> tuple[int, int] | None:
        """The first (reader, set) at risk that the reader can compute from the published cells,
        the total and their own signatures; only among ``readers`` and ``sets`` when given. Reader 0 is the
        public, reader i the insider ``i - 1`` of ``inside_counted``."""
        return next(self.exposures(hidden, readers, sets), None)

    def exposures(self, hidden: np.ndarray, readers=None, sets=None) -> Iterator[tuple[int, int]]:
        """Per reader (in order), their first set at risk that they can compute, as ``exposed``.

        A set is computable when it lies in the span of the published rows and the reader's own unit
        columns; projecting out the published rows once leaves, per reader, a least-squares problem over
        their own columns only. An insider without own columns computes what the public does: of the
        sets at risk for them, only those their scope touches can differ from the public's, which were
        checked first."""
        if not self.sets.shape[1]:  # nobody counted: no figure to compute
            return
        span = self._combined_span(hidden, np.empty(0, dtype=int))
        all_sets = np.arange(self.sets.shape[0]) if sets is None else np.asarray(sets, dtype=int)
        at_risk = []
        for reader in range(len(self.own) + 1) if readers is None else readers:
            own = self.own[reader - 1] if reader else np.empty(0, dtype=int)
            if reader and not own.size and readers is None and sets is None:
                targets = self._at_risk(reader, hidden, *self._touched[reader - 1])
            else:
                targets = self._at_risk(reader, hidden, all_sets, *self._remainders(reader, all_sets))
            if len(targets):
                at_risk.append((reader, own, targets))
        if not at_risk:
            return
        # The coordinates along the published span of the sets some reader may not learn: their overlaps with
        # the published rows (read from those with every cell, made once) times U / S, a dense product; the
        # sparse rows times the span's basis, for every set, was most of the search at 150,000 workers.
        wanted = np.zeros(self.sets.shape[0], dtype=bool)
        for _, _, targets in at_risk:  # marked, not sorted: a leaver count puts most sets at risk for every insider
            wanted[targets] = True
        needed = np.flatnonzero(wanted)
        row_of = np.full(self.sets.shape[0], -1)
        row_of[needed] = np.arange(len(needed))
        overlaps, norms = self._overlaps
        published = np.flatnonzero(~hidden)
        with_published = np.column_stack([overlaps[np.ix_(needed, published)], overlaps[needed, -1]])
        scaled = span.u / span.singular
        coordinates = with_published @ scaled
        left = norms[needed] - (coordinates ** 2).sum(axis=1)
        # Each set's least-squares combination of the published rows, by row: an insider's own columns of every
        # set's projection onto the span are then this times the published rows' few entries in those columns,
        # a sparse product, where the coordinates times the span's basis at those columns was dense (sets x
        # rank x own columns: most of a pass at 150,000 workers, for organisations with hundreds of own columns).
        if any(own.size for _, own, _ in at_risk):
            combination = np.ascontiguousarray(scaled @ coordinates.T)
        for reader, own, targets in at_risk:
            at = row_of[targets]
            unexplained = left[at]
            if own.size:
                basis = span.basis(own)
                gram = np.eye(own.size) - basis.T @ basis
                mine = self.sets[targets][:, own].toarray() - (span.rows[:, own].T @ combination)[:, at].T
                unexplained = unexplained - np.einsum("ij,ij->i", mine @ np.linalg.pinv(gram, rcond=1e-10,
                                                                                        hermitian=True), mine)
            found = targets[unexplained < 1e-6]
            if found.size:
                yield reader, int(found[0])

    def breaking(self, hidden: np.ndarray, reader: int, target: int, candidates: list[int]) -> int | None:
        """The first of the published cells ``candidates`` whose hiding as well leaves ``reader`` unable to compute
        ``target`` (an exposure of ``exposed``); None when none does.

        One decomposition of the rows the reader combines (the published cells, the total and their own columns), not
        one per candidate: a row whose leverage is below 1 lies in the span of the others, and hiding it
        changes nothing; a row of leverage 1 is the only one reaching the direction ``S^-1 U_row`` (in the
        coordinates of ``V``), and hiding it takes exactly that direction out of the span, so the target
        stays computable when its squared residual plus its squared part along that direction stays below
        the tolerance ``exposed`` uses."""
        own = self.own[reader - 1] if reader else np.empty(0, dtype=int)
        published = np.flatnonzero(~hidden)
        span = self._combined_span(hidden, own)
        u, singular = span.u, span.singular
        target_row = self.sets[target].toarray().ravel()
        coordinates = span.coordinates(target_row)
        residual = target_row @ target_row - coordinates @ coordinates
        position = np.searchsorted(published, candidates)
        leverage = (u[position] ** 2).sum(axis=1)
        direction = u[position] / singular
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        breaks = (leverage > 1 - 1e-9) & (residual + (direction @ coordinates) ** 2 >= 1e-6)
        first = np.flatnonzero(breaks)
        return int(candidates[first[0]]) if first.size else None

    def _combined_span(self, hidden: np.ndarray, own: np.ndarray) -> Span:
        """``_span`` of what a reader combines: the published cells, the total and their ``own`` unit columns.

        The public's span of the current pattern is kept beside the last insider's: every exposure a pass
        found is checked again on the public span, and each one still standing decomposes its reader's
        (``breaking``). With one span kept, each check made the public span anew: at 150,000 workers some
        2,000 exposures a pass, a decomposition of about a thousand rows each."""
        key = (hidden.tobytes(), own.tobytes())
        if key not in self._last_span:
            unit = sparse.csr_matrix((np.ones(own.size), (np.arange(own.size), own)),
                                     shape=(own.size, self.sets.shape[1]))
            rows = sparse.vstack([self.sets[np.flatnonzero(~hidden)], np.ones((1, self.sets.shape[1])), unit])
            for kept in [k for k in self._last_span if k[0] != key[0] or (own.size and k[1])]:
                del self._last_span[kept]
            self._last_span[key] = _span(rows.tocsr())
        return self._last_span[key]


def _dense_row(matrix: sparse.csr_matrix, row: int) -> np.ndarray:
    """One row of ``matrix`` as a dense vector, from its index pointers: indexing the sparse row at every set
    (``matrix[row, among]``) took milliseconds per reader, two thirds of a pattern at 150,000 workers."""
    out = np.zeros(matrix.shape[1])
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    out[matrix.indices[start:end]] = matrix.data[start:end]
    return out


@dataclass(frozen=True)
class Span:
    """The thin SVD of ``rows`` (U, S and, on demand, columns of V^T, of the nonzero singular values)."""

    u: np.ndarray
    singular: np.ndarray
    rows: sparse.csc_matrix

    def basis(self, columns: np.ndarray) -> np.ndarray:
        """The ``columns`` of V^T: all of it (rows x signatures) for every reader was most of the search at 150,000
        workers, where an insider's least squares needs their own columns alone."""
        return np.asarray(self.rows[:, columns].T @ self.u).T / self.singular[:, None]

    def coordinates(self, vector: np.ndarray) -> np.ndarray:
        """V^T ``vector``: the vector's coordinates along the span."""
        return self.u.T @ (self.rows @ vector) / self.singular


def _span(rows: sparse.csr_matrix) -> Span:
    """The thin SVD of ``rows`` from the eigenvectors of their Gram matrix: a few hundred cells against thousands
    of signatures, and each column in four cells, so the Gram matrix is cheap where a dense SVD of the rows is
    not. Its eigenvalues are the squared singular values: those below ``RANK_TOLERANCE`` of the largest are the
    rank's round-off."""
    gram = (rows @ rows.T).toarray()
    eigenvalues, vectors = np.linalg.eigh(gram)
    keep = eigenvalues > eigenvalues[-1] * RANK_TOLERANCE
    return Span(vectors[:, keep], np.sqrt(eigenvalues[keep]), rows.tocsc())  # by column: ``basis`` reads a few


def atoms(workers: pd.DataFrame, leavers: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """Workers and leavers counted per combination of ``columns``, sorted: what a pattern is decided on."""
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
    counted = atoms(workers, leavers, list(dict.fromkeys([*groupings, *scopes])))
    n_workers, n_leavers = counted.workers.to_numpy(float), counted.leavers.to_numpy(float)
    count = _Count.of(counted, cells, scopes, n_workers, n_workers, min_cell)
    # a cell holding every worker is the public total itself: it is never hidden
    never = {c for c, n in zip(cells, count.sizes) if n == len(workers)}
    hidden = _decide(count, cells, set(), never)
    if leavers is None:
        return Pattern(frozenset(hidden), frozenset(hidden))
    outflow = _Count.of(counted, cells, scopes, n_leavers, n_workers + n_leavers, min_cell)
    return Pattern(frozenset(hidden), frozenset(_decide(outflow, cells, hidden, set())))


def _decide(count: _Count, cells: list[Cell], hidden: set[Cell], never: set[Cell]) -> set[Cell]:
    """``hidden`` grown until rules 1-3 hold for ``count``; the cells in ``never`` stay published."""
    index = {c: i for i, c in enumerate(cells)}
    sizes = count.sizes

    def mask(chosen) -> np.ndarray:
        return np.isin(np.arange(len(cells)), [index[c] for c in chosen])

    def smallest(chosen) -> list[Cell]:
        return sorted(chosen, key=lambda c: (sizes[index[c]], c))

    small = count.small(np.eye(len(cells)))  # rule 1
    hidden = hidden | {c for c, s in zip(cells, small) if s and c not in never}
    while recoverable := _recoverable_remainder(count, cells, hidden, mask):
        hidden.add(smallest(recoverable)[0])
    # Every reader's exposure found in one pass over the readers, then broken one by one, each checked again
    # first once a cell was hidden since the pass (that hiding may have broken it), rather than a pass per
    # hidden cell: at 150,000 workers a pass reads some 13,000 insiders and finds some 2,000.
    found = list(count.exposures(mask(hidden)))
    while found:
        searched = set(hidden)
        for reader, target in found:
            open_cells = smallest(c for c in cells if c not in hidden and c not in never)
            if not open_cells:
                return hidden
            if len(hidden) > len(searched) and count.exposed(mask(hidden), [reader], [target]) is None:
                continue
            breaking = count.breaking(mask(hidden), reader, target, [index[c] for c in open_cells])
            hidden.add(open_cells[0] if breaking is None else cells[breaking])
            # rule 2 restored at once, the exposures found still to be checked: a new pass for each (as leaver
            # counts, small, need at 150,000 workers) took most of the search
            while recoverable := _recoverable_remainder(count, cells, hidden, mask):
                hidden.add(smallest(recoverable)[0])
        # The next pass, over whom it can find anything for: hiding only narrows what a reader can compute, so
        # a reader without an exposure in this pass can only be exposed by a cell hidden since (a new set not
        # to learn). The readers exposed in it are read whole, everyone else on those cells alone: the same
        # first exposure per reader as a pass over everyone, which after each round of the leavers' count (a
        # few hundred hidings at 150,000 workers) was most of the search.
        again = dict(count.exposures(mask(hidden), readers=sorted({reader for reader, _ in found})))
        for reader, target in count.exposures(mask(hidden), sets=[index[c] for c in hidden - searched]):
            again.setdefault(reader, target)
        found = sorted(again.items())
    return hidden


def _recoverable_remainder(count: _Count, cells: list[Cell], hidden: set[Cell], mask) -> list[Cell]:
    """The published cells of the first grouping whose hidden cells' union is known and small to some reader."""
    for g in dict.fromkeys(c[0] for c in cells):
        mine = [c for c in cells if c[0] == g and c in hidden]
        published = [c for c in cells if c[0] == g and c not in hidden]
        if mine and published and (len(mine) == 1 or count.small(mask(mine)[:, None]).any()):
            return published
    return []
