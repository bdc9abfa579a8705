"""Handover plans: a successor for each client of a leaving worker, so that the client keeps a familiar face.

The plan is an assignment problem with capacities, solved exactly with
``scipy.optimize.linear_sum_assignment``: every candidate with room for r more clients
under the caseload norm becomes r slots, every client a row, and each client also gets
one "no successor with room" column so that nobody is ever dropped silently. Clients
compete for the same room, so a greedy pass that serves them one by one can give away
the only familiar, steady colleague to a client who did not need them; the solver cannot.

The costs are in one unit, the expected number of further handovers, because that is
what the plan is judged by (``expected_further_handovers``): a successor's own cost is
their probability of leaving within the horizon, and the other preferences are priced
against it. The prices are judgement, not estimates:

* a successor the client does not know costs ``STRANGER_COST`` (as much as a one-in-two
  chance of another handover: the first phase of a helping relationship builds most
  of the trust, docs/evidence.md#why-continuity-matters);
* a successor outside the leaver's team costs ``OUTSIDE_TEAM_COST``, one without work in
  the client's domain in the last year ``OTHER_DOMAIN_COST``;
* each slot costs ``LOAD_COST`` times the successor's caseload relative to the norm once
  the client is taken, so clients spread over colleagues and ties break towards room;
* a complex case (complexity ``COMPLEX_CASE_MIN`` or more) for a starter (under
  ``STARTER_TENURE_WEEKS`` of tenure) costs ``STARTER_COMPLEX_COST``: more than all the
  other preferences together can add (under 2), so an experienced colleague with room always
  takes it, but less than leaving the client without a successor (at least ``NO_ROOM_COST``
  x 4/3 for a complex case), so a starter still takes it when nobody else can; the plan then
  flags it (``Handover.starter_complex``). Starters thrown into the most complex cases is a
  reason the sector's own research gives for leaving (docs/evidence.md), and the client needs
  the experience;
* "no successor" costs ``NO_ROOM_COST`` times the client's published need (complexity and
  vulnerability, ``docs/definitions.md#client-need``), more than any successor, so every client who can
  be placed is placed, and when room runs short the neediest clients are placed first.

Everything is read from the published week (``continuity.published``): the leaver's open
primary clients, who already knows each of them, each worker's domains, caseload and fte
at the score date, and the probabilities. Candidates are the scored workers in the
leaver's team or in the same organisation and region, except the leaver, the excluded and
those the caller may not see (``Situation.hidden``). Room is ``CASELOAD_NORM_PER_FTE * fte -
caseload`` (primary cases), shared across the leaver's clients; a manager's pins are placed
first and use up room, even beyond the norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from continuity.horizons import p_leave_within
from continuity.publication import Publication
from continuity.vocabulary import CASELOAD_NORM_PER_FTE, COMPLEX_CASE_MIN

STRANGER_COST = 0.5
OUTSIDE_TEAM_COST = 0.25
OTHER_DOMAIN_COST = 0.15
LOAD_COST = 0.05
NO_ROOM_COST = 10.0
STARTER_COMPLEX_COST = 5.0
# The line between a starter and an experienced worker: two years in post.
STARTER_TENURE_WEEKS = 104
NO_ROOM = "no successor with room"
STARTER_COMPLEX = "complex case for a starter (under 2 years in post)"


@dataclass(frozen=True)
class Handover:
    client_id: str  # pseudonymised at ingest
    successor_id: str | None  # None: no successor with room
    reasons: tuple[str, ...]
    successor_p_leave: float | None
    starter_complex: bool = False  # a complex case given to a starter because nobody else had room


@dataclass(frozen=True)
class HandoverPlan:
    leaving_worker_id: str
    date: date
    horizon_weeks: int
    method: str  # "optimal" or "least-loaded"
    handovers: tuple[Handover, ...]
    expected_further_handovers: float  # sum of the successors' P(leave within the horizon)
    risk_assumption: str | None  # how P(leave within the horizon) was obtained when not published

    @property
    def unplaced(self) -> tuple[str, ...]:
        return tuple(h.client_id for h in self.handovers if h.successor_id is None)

    def to_frame(self) -> pd.DataFrame:
        columns = ["client_id", "successor_id", "reasons", "successor_p_leave", "starter_complex"]
        return pd.DataFrame([{"client_id": h.client_id, "successor_id": h.successor_id,
                              "reasons": list(h.reasons), "successor_p_leave": h.successor_p_leave,
                              "starter_complex": h.starter_complex} for h in self.handovers],
                            columns=columns)


@dataclass(frozen=True)
class Situation:
    """Everything both planners read, gathered once per request: the clients, the candidates and who knows whom."""

    t: date
    leaver: pd.Series
    clients: pd.DataFrame  # client_id, domain, complexity, vulnerable, need
    candidates: pd.DataFrame  # by worker_id: team_id, organisation_id, region, fte, caseload, tenure_weeks,
    #                           eligible, p_leave
    familiar: dict[tuple[str, str], str]  # (client_id, worker_id) -> how the worker knows the client
    domains: frozenset[tuple[str, str]]  # (worker_id, domain) with work in the last year
    pinned: dict[str, str]
    horizon_weeks: int
    risk_assumption: str | None

    def capacity(self, worker_id: str) -> float:
        return CASELOAD_NORM_PER_FTE * self.candidates.at[worker_id, "fte"]

    def load(self) -> pd.Series:
        """Cases per candidate once the pins are placed."""
        pins = pd.Series(list(self.pinned.values()), dtype=object).value_counts()
        return self.candidates.caseload + pins.reindex(self.candidates.index, fill_value=0)

    def room(self) -> pd.Series:
        """Whole free places per eligible candidate after the pins; pinned-only workers get none."""
        free = CASELOAD_NORM_PER_FTE * self.candidates.fte - self.load()
        return np.floor(free + 1e-9).clip(lower=0).astype(int).where(self.candidates.eligible, 0)

    def in_team(self, worker_id: str) -> bool:
        return self.candidates.at[worker_id, "team_id"] == self.leaver.team_id

    def starter(self, worker_id: str) -> bool:
        return bool(self.candidates.at[worker_id, "tenure_weeks"] < STARTER_TENURE_WEEKS)

    def costs(self, clients: pd.DataFrame) -> np.ndarray:
        """Each candidate's cost for each client (clients x candidates), without the load of the slot."""
        workers, shape = self.candidates.index, (len(clients), len(self.candidates))
        stranger = np.array([[(c, w) not in self.familiar for w in workers] for c in clients.client_id],
                            dtype=bool).reshape(shape)
        other_domain = np.array([[(w, d) not in self.domains for w in workers] for d in clients.domain],
                                dtype=bool).reshape(shape)
        outside_team = (self.candidates.team_id != self.leaver.team_id).to_numpy()
        starter_complex = ((clients.complexity.to_numpy() >= COMPLEX_CASE_MIN)[:, None]
                           & (self.candidates.tenure_weeks.to_numpy() < STARTER_TENURE_WEEKS)[None, :])
        return (self.candidates.p_leave.to_numpy()[None, :] + STRANGER_COST * stranger
                + OUTSIDE_TEAM_COST * outside_team[None, :] + OTHER_DOMAIN_COST * other_domain
                + STARTER_COMPLEX_COST * starter_complex)

    def handover(self, client: pd.Series, worker_id: str, taken: int) -> Handover:
        """The placement in plain words; ``taken`` counts the clients the plan gives this successor."""
        worker = self.candidates.loc[worker_id]
        reasons = []
        if self.pinned.get(client.client_id) == worker_id:
            reasons.append("pinned by the manager")
        how = self.familiar.get((client.client_id, worker_id))
        if how:
            reasons.append(f"already knows the client ({how})")
        if self.in_team(worker_id):
            reasons.append("same team")
        elif worker.organisation_id == self.leaver.organisation_id and worker.region == self.leaver.region:
            reasons.append("same organisation and region")
        else:
            reasons.append("outside the team, organisation or region")
        if (worker_id, client.domain) in self.domains:
            reasons.append("works in the same domain")
        p = float(worker.p_leave)
        chance = f"{p:.0%} in {self.horizon_weeks} weeks"
        if p <= self.candidates.p_leave.median():
            reasons.append(f"low risk of leaving ({chance})")
        else:
            reasons.append(f"risk of leaving {chance}")
        if worker.caseload + taken > self.capacity(worker_id) + 1e-9:
            reasons.append("takes the caseload above the norm")
        starter_complex = client.complexity >= COMPLEX_CASE_MIN and self.starter(worker_id)
        if starter_complex:
            reasons.insert(0, STARTER_COMPLEX)
        return Handover(client.client_id, worker_id, tuple(reasons), p, starter_complex)


def plan_handover(situation: Situation) -> HandoverPlan:
    """The successor for each open primary client of the leaver that keeps the clients' continuity best."""
    open_clients = situation.clients[~situation.clients.client_id.isin(situation.pinned)].reset_index(drop=True)
    n = len(open_clients)
    # Candidate j offers min(room, n) slots; its k-th slot (from 0) leaves it k + 1 cases above its load.
    per_candidate = np.minimum(situation.room().to_numpy(), n)
    owner = np.repeat(np.arange(len(per_candidate)), per_candidate)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(per_candidate) - per_candidate, per_candidate)
    capacity = CASELOAD_NORM_PER_FTE * situation.candidates.fte.to_numpy()
    after = (situation.load().to_numpy()[owner] + k + 1) / capacity[owner]
    costs = np.full((n, len(owner) + n), np.inf)
    costs[:, :len(owner)] = situation.costs(open_clients)[:, owner] + LOAD_COST * after[None, :]
    costs[np.arange(n), len(owner) + np.arange(n)] = NO_ROOM_COST * open_clients.need.to_numpy()
    rows, columns = linear_sum_assignment(costs)
    workers = situation.candidates.index
    chosen = {open_clients.client_id[i]: workers[owner[j]] for i, j in zip(rows, columns) if j < len(owner)}
    return _plan(situation, chosen | situation.pinned, "optimal")


def naive_plan(situation: Situation) -> HandoverPlan:
    """The baseline a manager would do by hand: each client in turn to the least-loaded colleague with room.

    Team colleagues come first, then the wider pool; load is caseload over the norm and
    grows with each client given. Same situation (pins, exclusions and room) as ``plan_handover``.
    """
    free, load = situation.room().to_dict(), situation.load().to_dict()
    capacity = (CASELOAD_NORM_PER_FTE * situation.candidates.fte).to_dict()
    team = set(situation.candidates.index[situation.candidates.team_id == situation.leaver.team_id])
    chosen = dict(situation.pinned)
    for client_id in situation.clients.client_id:
        if client_id in chosen:
            continue
        with_room = [w for w, places in free.items() if places > 0]
        pool = [w for w in with_room if w in team] or with_room
        if not pool:
            continue
        successor = min(pool, key=lambda w: (load[w] / capacity[w], w))
        chosen[client_id] = successor
        free[successor] -= 1
        load[successor] += 1
    return _plan(situation, chosen, "least-loaded")


def _plan(situation: Situation, chosen: dict[str, str], method: str) -> HandoverPlan:
    taken: dict[str, int] = {}
    handovers = []
    for _, client in situation.clients.iterrows():
        successor = chosen.get(client.client_id)
        if successor is None:
            handovers.append(Handover(client.client_id, None, (NO_ROOM,), None))
            continue
        taken[successor] = taken.get(successor, 0) + 1
        handovers.append(situation.handover(client, successor, taken[successor]))
    further = math.fsum(h.successor_p_leave for h in handovers if h.successor_p_leave is not None)
    return HandoverPlan(situation.leaver.worker_id, situation.t, situation.horizon_weeks,
                        method, tuple(handovers), further, situation.risk_assumption)


def situation(publication: Publication, leaver_id: str, *, pinned: dict[str, str] | None = None,
              excluded: set[str] | frozenset = frozenset(), hidden: set[str] | frozenset = frozenset(),
              horizon_weeks: int = 52) -> Situation:
    """The leaver's situation in the published week, for both planners.

    ``pinned`` maps client_id to a successor the manager fixed; ``excluded`` workers are never
    chosen; ``hidden`` workers are those the caller may not see: never a candidate, and a pin
    to one is answered as a pin to a worker not scored this week, so that the answer does not
    tell whether the id exists elsewhere.
    """
    pinned = pinned or {}
    snapshot = publication.table("worker_snapshot")
    risk = publication.table("risk_scores")
    active = snapshot[["worker_id", "region", "fte", "caseload", "tenure_weeks"]].merge(risk, on="worker_id")
    active = active[~active.worker_id.isin(hidden)].set_index("worker_id", drop=False).sort_index()
    if leaver_id not in active.index:
        raise ValueError(f"worker {leaver_id!r} is not scored in the week of {publication.score_date}")
    leaver = active.loc[leaver_id]
    exposure = publication.table("client_exposure")
    clients = (exposure[(exposure.worker_id == leaver_id) & (exposure.role == "primary")]
               [["client_id", "domain", "complexity", "vulnerable", "need"]].sort_values("client_id")
               .reset_index(drop=True))
    _check_pins(pinned, excluded, leaver_id, set(clients.client_id), set(active.index))

    nearby = (active.team_id == leaver.team_id) | (
        (active.organisation_id == leaver.organisation_id) & (active.region == leaver.region))
    eligible = nearby & ~active.index.isin(set(excluded) | {leaver_id})
    candidates = active[eligible | active.index.isin(set(pinned.values()))].copy()
    candidates["eligible"] = eligible[candidates.index]
    p_leave, assumption = p_leave_within(candidates, horizon_weeks)
    candidates["p_leave"] = p_leave

    familiarity = publication.table("client_familiarity")
    known = familiarity[familiarity.client_id.isin(clients.client_id) & (familiarity.worker_id != leaver_id)]
    familiar = {(row.client_id, row.worker_id): _how_known(row) for row in known.itertuples()}
    domains = publication.table("worker_domains")
    return Situation(publication.score_date, leaver, clients, candidates, familiar,
                     frozenset(zip(domains.worker_id, domains.domain)), dict(pinned), horizon_weeks, assumption)


def _how_known(row) -> str:
    if row.secondary:
        return "secondary worker"
    if row.contacts_12m:
        return f"{int(row.contacts_12m)} contacts in the last year"
    return "worked with them in the last year"


def _check_pins(pinned: dict[str, str], excluded, leaver_id: str, clients: set[str], active: set[str]) -> None:
    for client_id, successor in pinned.items():
        if client_id not in clients:
            raise ValueError(f"client {client_id!r} is not an open primary client of {leaver_id!r}")
        if successor == leaver_id or successor in excluded:
            raise ValueError(f"client {client_id!r} is pinned to {successor!r}, who is leaving or excluded")
        if successor not in active:
            raise ValueError(f"client {client_id!r} is pinned to {successor!r}, who is not a worker you may "
                             "see in this week")
