"""Clients and assignments: cases arrive, close, and are handed over when workers go.

Open assignments live in flat numpy arrays (one entry per assignment) so that a week's
closures and caseload counts are vectorised; ended ones are moved to a log. A handover is
the event that makes clients' histories of workers real: when a worker leaves, each
primary client passes to the colleague who already knows them (their secondary worker)
or else to the colleague with the most room.
"""

from __future__ import annotations

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
        new = Assignments(client, row, slot, np.broadcast_to(primary, n).copy(), np.broadcast_to(start, n).copy(),
                          complexity, np.full(n, -1), np.full(n, -1))
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


def draw_contacts(rng: np.random.Generator, a: Assignments, export_day: int) -> Contacts:
    """Contacts spread uniformly over each assignment's days before the export; one per client, worker and day."""
    end = np.where(a.end < 0, export_day, a.end + 1)
    days = np.maximum(end - a.start, 0)
    primary = a.primary.astype(bool)
    n = rng.poisson(np.where(primary, CONTACTS_PER_DAY[True], CONTACTS_PER_DAY[False]) * days)
    owner = np.repeat(np.arange(len(n)), n)
    day = a.start[owner] + (rng.random(owner.size) * days[owner]).astype(np.int64)
    median = np.where(primary[owner], CONTACT_MINUTES[True], CONTACT_MINUTES[False]) * (1 + 0.1 * (a.complexity[owner] - 3))
    minutes = np.maximum(5, np.round(median * rng.lognormal(0, 0.4, owner.size) / 5) * 5).astype(np.int64)
    client, row = a.client[owner], a.row[owner]
    order = np.lexsort((row, client, day))
    client, row, day, minutes = client[order], row[order], day[order], minutes[order]
    first = np.ones(len(day), dtype=bool)
    first[1:] = (day[1:] != day[:-1]) | (client[1:] != client[:-1]) | (row[1:] != row[:-1])
    return Contacts(client[first], row[first], day[first], minutes[first])
