"""Clients and assignments: cases arrive, close, and are handed over when workers go.

Open assignments live in flat numpy arrays (one entry per assignment) so that a week's
closures and caseload counts are vectorised; ended ones are moved to a log. A handover is
the event that makes clients' histories of workers real: when a worker leaves, each
primary client passes to the colleague who already knows them (their secondary worker)
or else to the colleague with the most room.

A handover touches only the leaver's assignments and those of their clients, so a week's
handovers run on a `focus`: a small caseload holding just those, `merge`d back once. Without
it every leaver would pass over all open assignments, and the generator grows with
positions x positions (32,000 positions took 14 times as long as 8,000).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np

from continuity.vocabulary import ASSIGNMENT_END_REASONS, COMPLEX_CASE_MIN, DOMAINS, VULNERABILITY_FLAGS

CLOSED, HANDOVER, WORKER_LEFT = (ASSIGNMENT_END_REASONS.index(r) for r in ("closed", "handover", "worker_left"))
COMPLEXITY_P = np.array([0.15, 0.25, 0.30, 0.20, 0.10])  # guess, complexity 1-5
# "Starters thrown into the most complex cases" (docs/evidence.md#reasons-for-leaving).
THROWN_IN_COMPLEXITY_P = np.array([0.05, 0.10, 0.25, 0.35, 0.25])
CASE_WEEKS = np.array([0, 20, 30, 45, 60, 80])  # guess: mean case length by complexity
SECONDARY_SHARE = 0.25  # guess: share of clients who also have a secondary worker
SECONDARY_WEEKS = 40  # guess: mean length of a secondary assignment
OWN_DOMAIN = 0.9  # guess: share of a team's clients in the team's own domain
ARRIVAL_PER_WEEK = 0.3  # share of a worker's free caseload places filled each week
# Guess: vulnerability flags by domain (youth is every jeugd client).
FLAG_P = {
    "flag_out_of_home": {"jeugd": 0.15, "wmo": 0.0, "participatie": 0.0},
    "flag_intellectual_disability": {"jeugd": 0.1, "wmo": 0.12, "participatie": 0.08},
    "flag_crisis": {"jeugd": 0.08, "wmo": 0.05, "participatie": 0.03},
}
# Guess: roughly 2 contacts a month for primary, fewer for secondary
# (docs/evidence.md#guesses-of-the-synthetic-sector).
CONTACTS_PER_DAY = {True: 2 / 30.44, False: 0.5 / 30.44}
CONTACT_MINUTES = {True: 45, False: 30}  # guess: median minutes of a contact


@dataclass
class Assignments:
    id: np.ndarray  # numbered in order of start: open assignments are always in id order
    client: np.ndarray
    row: np.ndarray  # worker row (one employment)
    slot: np.ndarray  # the position that worker holds
    primary: np.ndarray
    start: np.ndarray  # day
    complexity: np.ndarray
    end: np.ndarray  # day, -1 while open
    reason: np.ndarray  # index into ASSIGNMENT_END_REASONS, -1 while open

    @classmethod
    def empty(cls) -> Assignments:
        return cls(*(np.empty(0, dtype=np.int64) for _ in fields(cls)))

    def select(self, mask: np.ndarray) -> Assignments:
        return Assignments(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[Assignments]) -> Assignments:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


@dataclass(frozen=True)
class Clients:
    domain: np.ndarray
    complexity: np.ndarray
    flags: np.ndarray  # (n, len(VULNERABILITY_FLAGS)) bool


class Caseload:
    def __init__(self) -> None:
        self.open = Assignments.empty()
        self._ended: list[Assignments] = []
        self._clients: list[Clients] = []
        self.n_clients = 0
        self.next_id = 0
        self.base = 0  # in a focus: the first id of the assignments it starts (ids below are the caseload's)

    def new_clients(self, rng: np.random.Generator, team_domain: np.ndarray, thrown_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Register clients arriving at teams of the given domains; returns their ids and complexity."""
        n = len(team_domain)
        domain = np.where(rng.random(n) < OWN_DOMAIN, team_domain, rng.integers(0, len(DOMAINS), n))
        complexity = np.where(thrown_in, rng.choice(5, n, p=THROWN_IN_COMPLEXITY_P), rng.choice(5, n, p=COMPLEXITY_P)) + 1
        names = np.array(DOMAINS)[domain]
        flags = np.zeros((n, len(VULNERABILITY_FLAGS)), dtype=bool)
        flags[:, 0] = names == "jeugd"
        for j, flag in enumerate(VULNERABILITY_FLAGS[1:], start=1):
            p = np.array([FLAG_P[flag][d] for d in names]) * (1 + 0.25 * (complexity - 3))
            flags[:, j] = rng.random(n) < p
        self._clients.append(Clients(domain, complexity, flags))
        ids = np.arange(self.n_clients, self.n_clients + n)
        self.n_clients += n
        return ids, complexity

    def start(self, client: np.ndarray, row: np.ndarray, slot: np.ndarray, primary: np.ndarray,
              start: np.ndarray, complexity: np.ndarray) -> None:
        n = len(client)
        new = Assignments(np.arange(self.next_id, self.next_id + n), client, row, slot,
                          np.broadcast_to(primary, n).copy(), np.broadcast_to(start, n).copy(),
                          complexity, np.full(n, -1), np.full(n, -1))
        self.next_id += n
        self.open = Assignments.concat([self.open, new])

    def end(self, mask: np.ndarray, day: np.ndarray | int, reason: int) -> None:
        ended = self.open.select(mask)
        ended.end = np.broadcast_to(day, mask.sum()).copy() if np.ndim(day) == 0 else day
        ended.reason = np.full(mask.sum(), reason)
        self._ended.append(ended)
        self.open = self.open.select(~mask)

    def caseload(self, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
        """Open primary cases per position, and how many of them are complex."""
        p = self.open.primary.astype(bool)
        counts = np.bincount(self.open.slot[p], minlength=n_slots)
        complex_ = np.bincount(self.open.slot[p], weights=self.open.complexity[p] >= COMPLEX_CASE_MIN, minlength=n_slots)
        return counts, complex_

    def close_cases(self, rng: np.random.Generator, week_day: int) -> None:
        """A week of case closures; a closed case ends the client's secondary assignments too."""
        primary = self.open.primary.astype(bool)
        closes = primary & (rng.random(len(primary)) < 1.0 / CASE_WEEKS[self.open.complexity])
        closing_clients = self.open.client[closes]
        secondary_closes = ~primary & (rng.random(len(primary)) < 1.0 / SECONDARY_WEEKS)
        mask = closes | (~primary & np.isin(self.open.client, closing_clients)) | secondary_closes
        # never before the start: a case handed over earlier this week may close this week
        self.end(mask, np.maximum(week_day + rng.integers(0, 5, mask.sum()), self.open.start[mask]), CLOSED)

    def hand_over(self, slot: int, day: int, reason: int, candidates: np.ndarray, slot_rows: np.ndarray,
                  load: np.ndarray, capacity: np.ndarray) -> None:
        """End every assignment of `slot` on `day`; each primary client gets a new primary worker.

        The successor is the client's secondary worker when that is a candidate (the
        familiar face), else the candidate with the lowest caseload for their capacity.
        `load` is updated in place so that a week's handovers spread over the team.
        """
        mine = self.open.slot == slot
        primary = self.open.primary.astype(bool)
        clients = self.open.client[mine & primary]
        complexity = self.open.complexity[mine & primary]
        known = ~primary & ~mine & np.isin(self.open.client, clients) & np.isin(self.open.slot, candidates)
        known_slot = dict(zip(self.open.client[known][::-1], self.open.slot[known][::-1]))
        successors = np.empty(len(clients), dtype=np.int64)
        for i, client in enumerate(clients):
            successor = known_slot.get(client)
            if successor is None:
                successor = candidates[np.argmin((load[candidates] + 1) / capacity[candidates])]
            successors[i] = successor
            load[successor] += 1
        promoted = known & np.isin(self.open.slot * (self.n_clients + 1) + self.open.client,
                                   successors * (self.n_clients + 1) + clients)
        self.end(promoted, day, HANDOVER)
        self.end(self.open.slot == slot, day, reason)
        self.start(clients, slot_rows[successors], successors, True, day, complexity)

    def _touched(self, slots: np.ndarray, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
        """Which of `slots` (its index) a handover or rebind of it can touch each open assignment through, and
        the assignment's position: those held at the slot, and every assignment of a client whose primary
        worker holds it (the secondary workers a handover may promote). An assignment can be touched through
        two slots: held at one, its client's primary worker at the other."""
        which = np.full(n_slots, -1)
        which[slots] = np.arange(len(slots))
        held = which[self.open.slot]
        primary = self.open.primary.astype(bool) & (held >= 0)
        primary_at = np.full(self.n_clients, -1)
        primary_at[self.open.client[primary]] = held[primary]
        through_client = primary_at[self.open.client]
        position = np.arange(len(held))
        second = (through_client >= 0) & (through_client != held)
        owner = np.concatenate([held[held >= 0], through_client[second]])
        at = np.concatenate([position[held >= 0], position[second]])
        order = np.lexsort((at, owner))
        return owner[order], at[order]

    def _sub(self, positions: np.ndarray) -> Caseload:
        sub = Caseload()
        sub.open = self.open.select(positions)
        sub.n_clients, sub.next_id = self.n_clients, self.next_id
        sub.base = self.next_id
        return sub

    def focus(self, slots: np.ndarray, n_slots: int) -> Caseload:
        """The open assignments that handovers of `slots` can touch, as a caseload of their own.

        A client handed from one of `slots` to another stays inside, so handovers in sequence
        (a week's team moves) give on the focus exactly what they give on the whole caseload, in
        the same order; `merge` writes the result back.
        """
        return self._sub(np.unique(self._touched(slots, n_slots)[1]))

    def foci(self, slots: np.ndarray, n_slots: int) -> dict[int, Caseload]:
        """One focus per slot, for handovers that cannot touch each other's assignments: a week's leavers
        hand over to colleagues who stay, so no leaver's handover reaches another leaver's cases. Each then
        costs what the leaver's own cases cost, however many others leave that week."""
        owner, at = self._touched(slots, n_slots)
        bounds = np.searchsorted(owner, np.arange(len(slots) + 1))
        return {int(s): self._sub(at[bounds[i]:bounds[i + 1]]) for i, s in enumerate(slots)}

    def merge(self, subs: list[Caseload]) -> None:
        """Take back foci, all drawn from this caseload as it now is, after their handovers: their ended
        assignments, and the ones they started.

        Foci are taken in the order given, each numbering its new assignments on from the one before,
        as if their handovers had run on the whole caseload in that order; one pass over the open
        assignments serves them all.
        """
        ended: list[Assignments] = []
        started: list[Assignments] = []
        for sub in subs:
            offset = self.next_id - sub.base
            parts = [e.select(slice(None)) for e in sub._ended]
            for part in (*parts, sub.open):
                part.id = np.where(part.id >= sub.base, part.id + offset, part.id)
            ended += parts
            started.append(sub.open.select(sub.open.id >= self.next_id))
            self.next_id = sub.next_id + offset
        taken = np.concatenate([np.empty(0, dtype=np.int64), *(e.id for e in ended)])
        gone = np.zeros(len(self.open.id), dtype=bool)
        gone[np.searchsorted(self.open.id, taken[taken < (subs[0].base if subs else 0)])] = True
        self._ended.extend(ended)
        self.open = Assignments.concat([self.open.select(~gone), *started])

    def latest_start(self, slot: int) -> int:
        """The last day a case of `slot` began: a handover comes after it, never on or before."""
        starts = self.open.start[self.open.slot == slot]
        return int(starts.max(initial=-1))

    def rebind(self, slot: int, new_row: int, end_day: int, start_day: int) -> None:
        """The same person continues every case under a new employment (a transferred team)."""
        mine = self.open.slot == slot
        kept = self.open.select(mine)
        self.end(mine, end_day, WORKER_LEFT)
        self.start(kept.client, np.full(len(kept.client), new_row), kept.slot, kept.primary, start_day, kept.complexity)

    def all_assignments(self) -> Assignments:
        return Assignments.concat([*self._ended, self.open])

    def clients(self) -> Clients:
        return Clients(*(np.concatenate([getattr(c, f.name) for c in self._clients]) for f in fields(Clients)))


@dataclass(frozen=True)
class Contacts:
    client: np.ndarray
    row: np.ndarray
    day: np.ndarray
    minutes: np.ndarray


def contacts_by_month(rng: np.random.Generator, a: Assignments, export_day: int) -> Iterator[Contacts]:
    """Contacts spread uniformly over each assignment's days before the export; one per client, worker and day.

    Drawn a calendar month at a time, each month's in date order, so that a sector's 150 million
    contacts never sit in memory at once: an assignment gets a Poisson number of contacts for the
    days it runs in the month.
    """
    end = np.where(a.end < 0, export_day, a.end + 1)  # exclusive
    primary = a.primary.astype(bool)
    rate = np.where(primary, CONTACTS_PER_DAY[True], CONTACTS_PER_DAY[False])
    median = np.where(primary, CONTACT_MINUTES[True], CONTACT_MINUTES[False]) * (1 + 0.1 * (a.complexity - 3))
    first = np.datetime64(int(a.start.min(initial=export_day)), "D").astype("datetime64[M]")
    last = np.datetime64(export_day - 1, "D").astype("datetime64[M]")
    for month in np.arange(first, last + 1):
        m0 = int(month.astype("datetime64[D]").astype(np.int64))
        m1 = min(int((month + 1).astype("datetime64[D]").astype(np.int64)), export_day)
        lo, hi = np.maximum(a.start, m0), np.minimum(end, m1)
        live = np.flatnonzero(hi > lo)
        days = hi[live] - lo[live]
        n = rng.poisson(rate[live] * days)
        owner = np.repeat(live, n)
        day = lo[owner] + (rng.random(owner.size) * np.repeat(days, n)).astype(np.int64)
        minutes = np.maximum(5, np.round(median[owner] * rng.lognormal(0, 0.4, owner.size) / 5) * 5).astype(np.int64)
        client, row = a.client[owner], a.row[owner]
        order = np.lexsort((row, client, day))
        client, row, day, minutes = client[order], row[order], day[order], minutes[order]
        keep = np.ones(len(day), dtype=bool)
        keep[1:] = (day[1:] != day[:-1]) | (client[1:] != client[:-1]) | (row[1:] != row[:-1])
        yield Contacts(client[keep], row[keep], day[keep], minutes[keep])
