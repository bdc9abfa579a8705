"""Handover plans: a successor for each client of a leaving worker, so that the client keeps a familiar face.

The plan is an assignment problem with capacities, solved exactly as a small integer
program with ``scipy.optimize.milp`` (HiGHS): each client goes to one candidate with room
under the caseload norm, or to "no successor with room" so that nobody is ever dropped
silently; a candidate with room for r more clients offers r slots, each dearer than the
last. Clients compete for the same room, so a greedy pass that serves them one by one can
give away the only familiar, steady colleague to a client who did not need them; the
solver cannot. It is an integer program rather than a plain assignment
(``linear_sum_assignment``) because of households: the cost of splitting one couples its
members' choices, which no assignment of single clients can price.

The costs are in one unit, the expected number of further handovers, because that is
what the plan is judged by (``expected_further_handovers``): a successor's own cost is
their probability of leaving within the horizon, and the other preferences are priced
against it. The prices are judgement, not estimates:

* a successor the client does not know costs ``STRANGER_COST`` (as much as a one-in-two
  chance of another handover: the first phase of a helping relationship builds most
  of the trust, docs/evidence.md#why-continuity-matters), and ``OUT_OF_HOME_STRANGER_COST``
  for a child placed out of home (``flag_out_of_home`` in client_exposure), who prefers a
  face they know more strongly than anyone: such children meet about 65 care workers, and
  the worker is often the one adult who stays;
* a household (``household_id``) costs ``HOUSEHOLD_SPLIT_COST`` for every successor its
  members go to beyond the first ("no successor" and a pinned successor count as one), so
  that a household stays with one worker where capacity allows: good practice is one
  steady professional per household. It is more than one member's other preferences add
  up to (a stranger 0.5, outside the team 0.25, another domain 0.15), so only room, the
  starter rule, a much steadier or an already known successor of an out-of-home child
  splits a household; and a split plus any successor's cost (under 3) stays below leaving
  the least needy client without one (10 x 1/3), so no client is left unplaced to keep a
  household together;
* a successor outside the leaver's team costs ``OUTSIDE_TEAM_COST``, one without work in
  the client's domain in the last year ``OTHER_DOMAIN_COST``;
* each slot costs ``LOAD_COST`` times the successor's caseload relative to the norm once
  the client is taken, so clients spread over colleagues and ties break towards room;
* a complex case (complexity ``COMPLEX_CASE_MIN`` or more) for a starter (under
  ``STARTER_TENURE_WEEKS`` of tenure) costs ``STARTER_COMPLEX_COST``: more than all the
  other preferences together can add (under 2), so an experienced colleague with room always
  takes it, and more than those and a household split together (under 3.5), but less than
  leaving the client without a successor (at least ``NO_ROOM_COST``
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
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from continuity.horizons import p_leave_within
from continuity.publication import Publication
from continuity.translatable import N_
from continuity.vocabulary import CASELOAD_NORM_PER_FTE, COMPLEX_CASE_MIN

STRANGER_COST = 0.5
OUT_OF_HOME_STRANGER_COST = 1.0
HOUSEHOLD_SPLIT_COST = 1.0
OUTSIDE_TEAM_COST = 0.25
OTHER_DOMAIN_COST = 0.15
LOAD_COST = 0.05
NO_ROOM_COST = 10.0
STARTER_COMPLEX_COST = 5.0
# The line between a starter and an experienced worker: two years in post.
STARTER_TENURE_WEEKS = 104


class Reason(str):
    """A reason for a placement, in English (the API, the CSV), that keeps its message and figures apart so that
    the workbench can say it in the page's language (``serving.templating.sentence``)."""

    message: str
    values: dict[str, object]

    def __new__(cls, message: str, **values: object) -> Reason:
        reason = super().__new__(cls, message % values if values else message)
        reason.message, reason.values = message, values
        return reason


NO_ROOM = Reason(N_("no successor with room"))
STARTER_COMPLEX = Reason(N_("complex case for a starter (under 2 years in post)"))
HOUSEHOLD_KEPT = Reason(N_("keeps the household with one worker"))
PINNED = Reason(N_("pinned by the manager"))
SAME_TEAM = Reason(N_("same team"))
SAME_ORGANISATION = Reason(N_("same organisation and region"))
ELSEWHERE = Reason(N_("outside the team, organisation or region"))
SAME_DOMAIN = Reason(N_("works in the same domain"))
ABOVE_NORM = Reason(N_("takes the caseload above the norm"))


@dataclass(frozen=True)
class Handover:
    client_id: str  # pseudonymised at ingest
    successor_id: str | None  # None: no successor with room
    reasons: tuple[Reason, ...]
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
    clients: pd.DataFrame  # client_id, household_id, domain, complexity, vulnerable, flag_out_of_home, need
    candidates: pd.DataFrame  # by worker_id: team_id, organisation_id, region, fte, caseload, tenure_weeks,
    #                           eligible, p_leave
    familiar: dict[tuple[str, str], Reason]  # (client_id, worker_id) -> how the worker knows the client
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
        stranger_cost = np.where(clients.flag_out_of_home.to_numpy(bool), OUT_OF_HOME_STRANGER_COST, STRANGER_COST)
        return (self.candidates.p_leave.to_numpy()[None, :] + stranger_cost[:, None] * stranger
                + OUTSIDE_TEAM_COST * outside_team[None, :] + OTHER_DOMAIN_COST * other_domain
                + STARTER_COMPLEX_COST * starter_complex)

    def households(self) -> dict[str, list[int]]:
        """Households with two or more of the leaver's clients: household id -> rows of ``clients``."""
        grouped = self.clients.dropna(subset=["household_id"]).groupby("household_id").groups
        return {household: list(rows) for household, rows in grouped.items() if len(rows) > 1}

    def kept_together(self, chosen: dict[str, str]) -> list[list[str]]:
        """The households (their client ids) whose members all go to one successor in ``chosen``."""
        ids = self.clients.client_id
        return [members for members in ([ids.iat[row] for row in rows] for rows in self.households().values())
                if all(c in chosen for c in members) and len({chosen[c] for c in members}) == 1]

    def handover(self, client: pd.Series, worker_id: str, taken: int, household_kept: bool = False) -> Handover:
        """The placement in plain words; ``taken`` counts the clients the plan gives this successor,
        ``household_kept`` says that the client's household goes to this successor whole."""
        worker = self.candidates.loc[worker_id]
        reasons = []
        if self.pinned.get(client.client_id) == worker_id:
            reasons.append(PINNED)
        how = self.familiar.get((client.client_id, worker_id))
        if how:
            reasons.append(how)
        if household_kept:
            reasons.append(HOUSEHOLD_KEPT)
        if self.in_team(worker_id):
            reasons.append(SAME_TEAM)
        elif worker.organisation_id == self.leaver.organisation_id and worker.region == self.leaver.region:
            reasons.append(SAME_ORGANISATION)
        else:
            reasons.append(ELSEWHERE)
        if (worker_id, client.domain) in self.domains:
            reasons.append(SAME_DOMAIN)
        p = float(worker.p_leave)
        chance = {"chance": f"{p:.0%}", "weeks": self.horizon_weeks}
        if p <= self.candidates.p_leave.median():
            reasons.append(Reason(N_("low risk of leaving (%(chance)s in %(weeks)s weeks)"), **chance))
        else:
            reasons.append(Reason(N_("risk of leaving %(chance)s in %(weeks)s weeks"), **chance))
        if worker.caseload + taken > self.capacity(worker_id) + 1e-9:
            reasons.append(ABOVE_NORM)
        starter_complex = client.complexity >= COMPLEX_CASE_MIN and self.starter(worker_id)
        if starter_complex:
            reasons.insert(0, STARTER_COMPLEX)
        return Handover(client.client_id, worker_id, tuple(reasons), p, starter_complex)


def plan_handover(situation: Situation) -> HandoverPlan:
    """The successor for each open primary client of the leaver that keeps the clients' continuity best.

    The integer program of the module docstring. Variables, in order: x[i, d] (client i goes to
    destination d: candidate j < m, or m = no successor), the slots u (candidate j's k-th slot from 0,
    taken when it has k + 1 more clients; dearer with each, so they fill in order) and z[h, d] (household
    h has members at destination d, at least one member, pinned ones included).
    """
    is_open = ~situation.clients.client_id.isin(situation.pinned).to_numpy()
    open_clients = situation.clients[is_open].reset_index(drop=True)
    n, m = len(open_clients), len(situation.candidates)
    if n == 0:
        return _plan(situation, dict(situation.pinned), "optimal")
    destinations = m + 1
    # Candidate j offers min(room, n) slots; its k-th slot (from 0) leaves it k + 1 cases above its load.
    room = np.minimum(situation.room().to_numpy(), n)
    owner = np.repeat(np.arange(m), room)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(room) - room, room)
    capacity = CASELOAD_NORM_PER_FTE * situation.candidates.fte.to_numpy()
    slot_cost = LOAD_COST * (situation.load().to_numpy()[owner] + k + 1) / capacity[owner]
    choice_cost = np.column_stack([situation.costs(open_clients), NO_ROOM_COST * open_clients.need.to_numpy()])

    open_row = np.cumsum(is_open) - 1  # row of situation.clients -> row of open_clients
    households = list(situation.households().values())
    n_x, n_u = n * destinations, len(owner)
    n_z = len(households) * destinations
    cost = np.concatenate([choice_cost.ravel(), slot_cost, np.full(n_z, HOUSEHOLD_SPLIT_COST)])
    upper = np.ones(n_x + n_u + n_z)
    upper[:n_x].reshape(n, destinations)[:, :m][:, room == 0] = 0  # no room: not a destination
    lower = np.zeros_like(upper)

    rows, columns, values, low, high = [], [], [], [], []

    def constraint(entries: list[tuple[int, float]], at_least: float, at_most: float) -> None:
        for column, value in entries:
            rows.append(len(low))
            columns.append(column)
            values.append(value)
        low.append(at_least)
        high.append(at_most)

    for i in range(n):  # one destination per client
        constraint([(i * destinations + d, 1.0) for d in range(destinations)], 1, 1)
    for j in range(m):  # a candidate's clients fill as many of its slots
        slots = np.flatnonzero(owner == j)
        constraint([(i * destinations + j, 1.0) for i in range(n)] + [(n_x + s, -1.0) for s in slots], 0, 0)
    workers = situation.candidates.index
    for h, members in enumerate(households):
        z = n_x + n_u + h * destinations
        for member in members:
            client_id = situation.clients.client_id.iat[member]
            if is_open[member]:
                for d in range(destinations):  # a member at d puts the household at d
                    constraint([(open_row[member] * destinations + d, 1.0), (z + d, -1.0)], -np.inf, 0)
            else:  # a pinned member already puts the household at their successor
                lower[z + workers.get_loc(situation.pinned[client_id])] = 1

    matrix = coo_array((values, (rows, columns)), shape=(len(low), len(cost))).tocsr()
    result = milp(cost, integrality=np.ones_like(cost), bounds=Bounds(lower, upper),
                  constraints=LinearConstraint(matrix, low, high))
    if not result.success:  # "no successor" is always open to every client, so this is a solver failure
        raise RuntimeError(f"the handover plan for {situation.leaver.worker_id!r} was not solved: {result.message}")
    chosen_destination = result.x[:n_x].reshape(n, destinations).argmax(axis=1)
    chosen = {open_clients.client_id[i]: workers[d] for i, d in enumerate(chosen_destination) if d < m}
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
    kept = {client_id for members in situation.kept_together(chosen) for client_id in members}
    handovers = []
    for _, client in situation.clients.iterrows():
        successor = chosen.get(client.client_id)
        if successor is None:
            handovers.append(Handover(client.client_id, None, (NO_ROOM,), None))
            continue
        taken[successor] = taken.get(successor, 0) + 1
        handovers.append(situation.handover(client, successor, taken[successor], client.client_id in kept))
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
               [["client_id", "household_id", "domain", "complexity", "vulnerable", "flag_out_of_home", "need"]]
               .sort_values("client_id")
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


def _how_known(row) -> Reason:
    if row.secondary:
        return Reason(N_("already knows the client (secondary worker)"))
    if row.contacts_12m:
        return Reason(N_("already knows the client (%(contacts)s contacts in the last year)"),
                      contacts=int(row.contacts_12m))
    return Reason(N_("already knows the client (worked with them in the last year)"))


def _check_pins(pinned: dict[str, str], excluded, leaver_id: str, clients: set[str], active: set[str]) -> None:
    for client_id, successor in pinned.items():
        if client_id not in clients:
            raise ValueError(f"client {client_id!r} is not an open primary client of {leaver_id!r}")
        if successor == leaver_id or successor in excluded:
            raise ValueError(f"client {client_id!r} is pinned to {successor!r}, who is leaving or excluded")
        if successor not in active:
            raise ValueError(f"client {client_id!r} is pinned to {successor!r}, who is not a worker you may "
                             "see in this week")
