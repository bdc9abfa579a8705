"""The weekly simulation of the sector: every position, every week, vectorised over positions.

Each week starts by reading the state that the records hold before its Monday t (the
oracle hazards), then draws who leaves, hands their clients over, writes the week's HR
events and cases, and fills the positions whose vacancy has run its course (each vacancy is kept in
a `records.VacancyLog`). Loops run over the week's events (a handful of leavers, moves and hires),
never over all workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from continuity.vocabulary import CASELOAD_NORM_PER_FTE, CONTRACT_TYPES, TERMINATION_REASONS

from . import hazard
from .caseload import CLOSED, HANDOVER, SECONDARY_SHARE, WORKER_LEFT, ARRIVAL_PER_WEEK, Caseload
from .people import FTE_CHOICES, MAX_SCALE, MAX_STEP, Persons, Terms, draw_persons, draw_terms
from .records import EventLog, OracleLog, VacancyLog, WorkerLog
from .organisations import Sector, Transfer
from .policy import Policy
from .worlds import World

NEVER = -(10**6)
PERMANENT = CONTRACT_TYPES.index("permanent")
VOLUNTARY, INVOLUNTARY, RETIREMENT, END_OF_CONTRACT = (
    TERMINATION_REASONS.index(r) for r in ("voluntary", "involuntary", "retirement", "end_of_temporary_contract")
)
TRANSFER = -2  # an exit kind recorded as involuntary: the team passes to a tender's winner

# docs/evidence.md#outflow: 12 of about 30 points of organisation-leaving are moves to another
# employer inside the sector; with about 21 points voluntary, 0.55 of voluntary leavers move (some find no post).
MOVE_SHARE = 0.55
MOVER_WAIT_WEEKS = 26  # guess: a mover who finds no post within half a year has left the sector
VACANCY_WEEKS = (2, 13)  # guess: "a vacancy of a few weeks"
# Sick leave, docs/evidence.md#sick-leave: 5-6.4% of working time in sociaal werk; onset rate tuned to that with
# the spell lengths below (guess: 70% short spells of 1-2 weeks, the rest longer, mean 10 weeks).
SICK_ONSET_WEEKLY = 0.0125
SICK_CASELOAD_RATIO = 1.3  # caseload raises sick leave; size a guess (docs/evidence.md#hazard-ratios-per-driver)
SHORT_SPELL_P = 0.7
LONG_SPELL_MEAN_WEEKS = 10
# Guesses for the yearly rates of routine HR events.
PROMOTION_YEARLY = 0.02
TRAINING_YEARLY = 1.5
FTE_CHANGE_YEARLY = 0.03
TEAM_MOVE_YEARLY = 0.04
MANAGER_CHANGE_YEARLY = 0.15
APPRAISAL_P = 0.8
RENEWAL_PERMANENT = 0.6  # a renewed temporary contract becomes permanent, else one more year
OVERTIME_BASE_HOURS = 2.0  # per month per fte, rising with caseload above norm
OVERTIME_PER_EXCESS = 15.0


@dataclass(frozen=True)
class Simulated:
    sector: Sector
    workers: WorkerLog
    events: EventLog
    caseload: Caseload
    oracle: OracleLog
    start_day: int
    n_weeks: int
    sick_share: float
    transfers: int  # employments ended because a lost tender moved the team to the winner
    vacancies: VacancyLog


@dataclass(frozen=True)
class _Mover:
    """A voluntary leaver looking for a post at another employer of the sector."""

    expiry: int  # the last week a vacancy can still take them
    organisation: int  # the employer they left
    person: int
    traits: Persons


class _Positions:
    """The state of every position's current holder (or vacancy), as arrays over positions."""

    def __init__(self, team: np.ndarray) -> None:
        n = len(team)
        self.team = team.copy()
        self.row = np.full(n, -1)
        self.person = np.full(n, -1)
        self.fill_week = np.zeros(n, dtype=np.int64)
        self.vacancy = np.full(n, -1)  # the open vacancy's number (`records.VacancyLog`), -1 when occupied
        for name in ("hire_day", "hire_week", "birth_year", "gender", "occupation", "pay_scale", "pay_step",
                     "contract_type", "contract_end", "step_week"):
            setattr(self, name, np.zeros(n, dtype=np.int64))
        for name in ("fte", "load", "frailty", "sick_proneness"):
            setattr(self, name, np.zeros(n))
        self.step_withheld = np.zeros(n, dtype=bool)
        self.thrown_in = np.zeros(n, dtype=bool)
        self.last_step_day = np.zeros(n, dtype=np.int64)
        self.manager_change_day = np.full(n, NEVER)
        self.sick_start = np.full(n, -1)  # day the ongoing spell started, -1 when not sick
        self.sick_end = np.full(n, -1)  # planned last day of the ongoing spell
        self.spell_weeks = np.zeros(n, dtype=np.int64)  # weeks of the latest spell so far
        self.last_sick_week = np.full(n, NEVER)

    @property
    def occupied(self) -> np.ndarray:
        return self.row >= 0

    def persons(self, slots: np.ndarray) -> Persons:
        return Persons(self.birth_year[slots], self.gender[slots], self.occupation[slots], self.pay_scale[slots],
                       self.pay_step[slots], self.fte[slots], self.frailty[slots], self.sick_proneness[slots])

    def capacity(self) -> np.ndarray:
        return np.maximum(CASELOAD_NORM_PER_FTE * self.fte * self.load, 1.0)


class _Groups:
    """Positions grouped by team and by organisation, each group in position order: who is in a team
    or an employer is then a lookup, not a pass over every position."""

    def __init__(self, slots: np.ndarray, team: np.ndarray, team_org: np.ndarray) -> None:
        self._by_team = self._group(slots, team[slots])
        self._by_org = self._group(slots, team_org[team[slots]])
        self._all = slots

    @staticmethod
    def _group(slots: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(key, kind="stable")  # stable: position order within a group
        return key[order], slots[order]

    @staticmethod
    def _members(grouped: tuple[np.ndarray, np.ndarray], key: int) -> np.ndarray:
        keys, slots = grouped
        return slots[np.searchsorted(keys, key, side="left"):np.searchsorted(keys, key, side="right")]

    def of_team(self, team: int) -> np.ndarray:
        return self._members(self._by_team, team)

    def of_org(self, org: int) -> np.ndarray:
        return self._members(self._by_org, org)

    def successors(self, slot_team: int, slot_org: int) -> np.ndarray:
        """Who can take over a leaver's clients: the team, else the organisation, else anyone."""
        for candidates in (self.of_team(slot_team), self.of_org(slot_org), self._all):
            if candidates.size:
                return candidates
        raise RuntimeError("no worker left in the sector to take over clients")


@dataclass(frozen=True)
class Week:
    """A week's workers at risk as `Simulation.watch` sees them: the counterfactual check's measure of outflow."""

    week: int
    rows: np.ndarray  # employments at risk
    voluntary: np.ndarray  # the oracle's weekly hazard of voluntary leaving (no frailty)
    voluntary_p: np.ndarray  # the probability the draw used: with the worker's frailty
    left_voluntarily: np.ndarray  # bool


class Simulation:
    """`oracle_sink` receives the oracle's rows a month at a time (`records.OracleLog`).

    `policy` (`synth.policy`): the funding part is in the `sector` already (`build_sector`'s
    `secure_from`); the rest, and the aligned draws, act here from the policy's week on. `watch`, when
    given, sees each week's workers at risk (`Week`).
    """

    def __init__(self, sector: Sector, rng: np.random.Generator, start_day: int, n_weeks: int, world: World,
                 oracle_sink: Callable[[dict[str, np.ndarray]], None], policy: Policy | None = None,
                 watch: Callable[[Week], None] | None = None) -> None:
        self.sector, self.rng, self.start_day, self.n_weeks, self.world = sector, rng, start_day, n_weeks, world
        self.policy, self.watch = policy, watch
        self.policy_week = None if policy is None else \
            (int(np.datetime64(policy.from_day, "D").astype(np.int64)) - start_day) // 7
        self._future: tuple[int, int] | None = None  # the aligned draws' seed once the policy week is reached
        self.pos = _Positions(sector.slot_team)
        self.workers = WorkerLog.empty()
        self.events = EventLog()
        self.vacancies = VacancyLog.empty()
        self.caseload = Caseload()
        self.oracle = OracleLog(oracle_sink)
        self.team_exits = np.zeros((len(sector.teams.team_id), 26), dtype=np.int64)
        self.movers: list[_Mover] = []
        self.n_persons = 0
        self.n_managers = len(sector.teams.team_id)
        self.appraisal_week = rng.integers(0, 52, len(sector.org_ids))
        self.transfers = {tr.week: [] for tr in sector.transfers}
        for tr in sector.transfers:
            self.transfers[tr.week].append(tr)
        self.sick_weeks = 0
        self.worker_weeks = 0
        self.n_transferred = 0

    # -- set-up -------------------------------------------------------------------------

    def _year(self, day: int) -> int:
        return int(np.datetime64(day, "D").astype("datetime64[Y]").astype(int)) + 1970

    def _hire(self, slots: np.ndarray, persons: Persons, terms: Terms, hire_day: np.ndarray,
              contract_end: np.ndarray, person_ids: np.ndarray) -> np.ndarray:
        p = self.pos
        rows = self.workers.append(
            person=person_ids, team=p.team[slots], occupation=persons.occupation, birth_year=persons.birth_year,
            gender=persons.gender, contract_type=terms.contract_type, contract_end=contract_end, fte=persons.fte,
            pay_scale=persons.pay_scale, pay_step=persons.pay_step, hire_day=hire_day,
        )
        p.row[slots], p.person[slots], p.hire_day[slots] = rows, person_ids, hire_day
        p.hire_week[slots] = (hire_day - self.start_day) // 7
        for name in ("birth_year", "gender", "occupation", "pay_scale", "pay_step", "fte", "frailty", "sick_proneness"):
            getattr(p, name)[slots] = getattr(persons, name)
        for name in ("contract_type", "load", "step_withheld", "thrown_in"):
            getattr(p, name)[slots] = getattr(terms, name)
        p.contract_end[slots] = contract_end
        p.last_step_day[slots] = hire_day
        p.step_week[slots] = p.hire_week[slots]
        p.manager_change_day[slots] = NEVER
        p.sick_start[slots], p.spell_weeks[slots], p.last_sick_week[slots] = -1, 0, NEVER
        return rows

    def _new_person_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.n_persons, self.n_persons + n)
        self.n_persons += n
        return ids

    def _staff_at_start(self) -> None:
        """The workforce present at the start: hired in the past, with a caseload under way."""
        rng, p, t = self.rng, self.pos, self.start_day
        slots = np.arange(len(p.team))
        persons = draw_persons(rng, self.sector.teams.team_type[p.team], self._year(t), incumbents=True)
        age = self._year(t) - persons.birth_year
        tenure_days = (np.minimum(rng.exponential(5.0, len(slots)), age - 21) * 365.25).astype(np.int64)
        hire_day = t - 7 - np.maximum(tenure_days, 0)
        terms = draw_terms(rng, len(slots))
        # Incumbents past their first year are nearly all permanent (guess).
        settled = tenure_days > 365
        terms.contract_type[settled] = np.where(rng.random(settled.sum()) < 0.95, PERMANENT, 1)
        temporary = terms.contract_type != PERMANENT
        contract_end = np.where(temporary, t + rng.integers(1, 365, len(slots)), -1)
        step_known = (persons.pay_step > 0) & (tenure_days > 365)
        rows = self._hire(slots, persons, terms, hire_day, contract_end, self._new_person_ids(len(slots)))
        # The last step before the start is an HR event, so "years without a step" is in the data;
        # the employment row then holds the step before it. Withheld or top-of-scale steps are older.
        stalled = p.step_withheld | (p.pay_step >= MAX_STEP)
        ago = np.where(stalled, rng.integers(52, 6 * 52, len(slots)), rng.integers(0, 52, len(slots))) * 7
        step_day = t - 1 - ago
        step_known &= step_day > hire_day
        for r in rows[step_known]:
            self.workers.pay_step[r] -= 1
        self.events.add(rows[step_known], step_day[step_known], "scale_step",
                        detail=[f"{s}-{st}" for s, st in zip(p.pay_scale[step_known], p.pay_step[step_known])])
        p.last_step_day[step_known] = step_day[step_known]
        p.step_week[step_known] = (step_day[step_known] - t) // 7
        # Open cases begun up to a year before the start (never before the worker's hire).
        n_cases = rng.binomial(np.round(p.capacity()).astype(int), 0.95)
        owner = np.repeat(slots, n_cases)
        start = np.maximum(hire_day[owner] + 1, t - 1 - rng.integers(0, 365, owner.size))
        self._open_cases(owner, start)

    # -- cases --------------------------------------------------------------------------

    def _open_cases(self, owner: np.ndarray, start: np.ndarray) -> None:
        """New clients for the given positions; some also get a secondary worker from the team."""
        p, rng = self.pos, self.rng
        starter = (start - p.hire_day[owner]) < hazard.STARTER_WEEKS * 7
        clients, complexity = self.caseload.new_clients(rng, self.sector.teams.domain[p.team[owner]],
                                                        p.thrown_in[owner] & starter)
        self.caseload.start(clients, p.row[owner], owner, True, start, complexity)
        wants = rng.random(owner.size) < SECONDARY_SHARE
        second = self._random_colleague(owner[wants])
        ok = second >= 0
        idx = np.flatnonzero(wants)[ok]
        self.caseload.start(clients[idx], p.row[second[ok]], second[ok], False,
                            np.maximum(start[idx], p.hire_day[second[ok]] + 1), complexity[idx])

    def _random_colleague(self, slots: np.ndarray) -> np.ndarray:
        """A random other occupied position of each position's team; -1 where there is none."""
        p = self.pos
        members = np.flatnonzero(p.occupied)
        members = members[np.argsort(p.team[members], kind="stable")]
        teams = p.team[members]
        first = np.searchsorted(teams, p.team[slots], side="left")
        count = np.searchsorted(teams, p.team[slots], side="right") - first
        where = np.empty(len(p.team), dtype=np.int64)
        where[members] = np.arange(len(members))
        # a uniform pick among the (count - 1) others: skip over the position itself
        pick = first + (self.rng.random(slots.size) * np.maximum(count - 1, 0)).astype(np.int64)
        pick += pick >= where[slots]
        return np.where(count > 1, members[np.minimum(pick, len(members) - 1)], -1)

    # -- a week ---------------------------------------------------------------------------

    def run(self) -> Simulated:
        self._staff_at_start()
        for week in range(self.n_weeks):
            self._week(week)
        self._close_open_spells()
        self.oracle.flush()
        return Simulated(self.sector, self.workers, self.events, self.caseload, self.oracle, self.start_day,
                         self.n_weeks, self.sick_weeks / max(self.worker_weeks, 1), self.n_transferred, self.vacancies)

    def _draws(self, k: int, job: int) -> None:
        """After the policy's week, each job of each week draws from a stream of its own (`synth.policy`).

        The policy's week itself still draws as without it: the policy's acts that week take no draws and
        its caseload cap comes last, so the week's draws (the overtime of a month that ended before the
        policy among them) are those of the sector without it.
        """
        if self.policy_week is None or k <= self.policy_week:
            return
        if self._future is None:  # the state here is the same under every policy: so is this seed
            self._future = (int(self.rng.integers(2**62)), self.policy.replicate)
        self.rng = np.random.default_rng([*self._future, k, job])

    def _week(self, k: int) -> None:
        self._draws(k, 0)
        p, rng = self.pos, self.rng
        t = self.start_day + 7 * k
        self._end_spells(t)
        at_risk = np.flatnonzero(p.occupied & (p.hire_day < t))
        counts, complex_ = self.caseload.caseload(len(p.team))
        age = self._year(t) - p.birth_year[at_risk]
        transfers = self.transfers.get(k, [])
        moving_team = np.isin(p.team[at_risk], [tr.old_team for tr in transfers])
        ends = (p.contract_type[at_risk] != PERMANENT) & (p.contract_end[at_risk] >= t) & (p.contract_end[at_risk] < t + 7)
        ring_col = k % 26
        drivers = hazard.Drivers(
            tenure_weeks=(t - p.hire_day[at_risk]) / 7,
            age=age,
            caseload_ratio=counts[at_risk] / (CASELOAD_NORM_PER_FTE * p.fte[at_risk]),
            complex_share=complex_[at_risk] / np.maximum(counts[at_risk], 1),
            weeks_since_scale_step=(t - p.last_step_day[at_risk]) / 7,
            weeks_since_manager_change=(t - p.manager_change_day[at_risk]) / 7,
            team_leavers_26w=self.team_exits[p.team[at_risk]].sum(axis=1),
            temporary=p.contract_type[at_risk] != PERMANENT,
            weeks_since_sick=k - p.last_sick_week[at_risk],
            last_spell_weeks=p.spell_weeks[at_risk],
            funding_insecure=self.sector.insecure[p.team[at_risk], k],
        )
        self.team_exits[:, ring_col] = 0  # the column now holds week k - 26, outside the next window
        voluntary = self.world.voluntary_hazard(drivers)
        other = hazard.other_exits(age, ends, moving_team)
        other_p = other.combined()
        self.oracle.add(p.row[at_risk], t, voluntary, other_p)

        # aligned: one draw per position, so a worker's draw is the same whatever happened to the others
        u = rng.random(len(p.team))[at_risk] if self._future is not None else rng.random(at_risk.size)
        realised = np.minimum(voluntary * p.frailty[at_risk], 1.0)
        leaves_voluntarily = u < realised
        leaves_otherwise = ~leaves_voluntarily & (u < realised + other_p)
        if self.watch is not None:
            self.watch(Week(k, p.row[at_risk], voluntary, realised, leaves_voluntarily))
        self._draws(k, 1)
        kind = np.full(at_risk.size, VOLUNTARY)
        kind[leaves_otherwise] = self._other_kind(other, leaves_otherwise)
        leaving = leaves_voluntarily | leaves_otherwise
        self._exits(at_risk[leaving], kind[leaving], t, k, counts.copy(), transfers)
        for tr in transfers:
            p.team[p.team == tr.old_team] = tr.new_team

        present = np.flatnonzero(p.occupied & (p.hire_day < t))
        self._draws(k, 2)
        self._renewals(present, t)
        self._draws(k, 3)
        self._hr_events(present, t, k, counts)
        self._draws(k, 4)
        self._manager_changes(t)
        self._draws(k, 5)
        self._team_moves(present, t)
        self._draws(k, 6)
        self.caseload.close_cases(self.rng, t)
        self._draws(k, 7)
        self._arrivals(present, t)
        self._draws(k, 8)
        self._fill_vacancies(k, t)
        self._draws(k, 9)
        if k > 0 and self._month(t) != self._month(t - 7):
            self._overtime(present, t)
        if self._in_force(k) and self.policy.caseload_cap is not None:
            self._cap_caseloads(t)
        sick = present[p.sick_start[present] >= 0]
        p.last_sick_week[sick] = k
        p.spell_weeks[sick] += 1
        self.sick_weeks += sick.size
        self.worker_weeks += present.size

    def _other_kind(self, other: hazard.OtherExits, mask: np.ndarray) -> np.ndarray:
        """Which competing exit happened, in proportion to its probability (a transfer always wins)."""
        parts = np.column_stack([other.retirement[mask], other.involuntary[mask], other.end_of_contract[mask]])
        cumulative = np.cumsum(parts, axis=1)
        pick = (self.rng.random(mask.sum())[:, None] * cumulative[:, -1:] >= cumulative).sum(axis=1)
        kind = np.array([RETIREMENT, INVOLUNTARY, END_OF_CONTRACT])[np.minimum(pick, 2)]
        return np.where(other.transfer[mask] > 0, TRANSFER, kind)

    # -- exits ---------------------------------------------------------------------------

    def _exits(self, slots: np.ndarray, kinds: np.ndarray, t: int, k: int, load: np.ndarray,
               transfers: list[Transfer]) -> None:
        p, rng = self.pos, self.rng
        days = t + rng.integers(0, 5, slots.size)
        days = np.where(kinds == END_OF_CONTRACT, p.contract_end[slots], days)
        transfer_of = {tr.old_team: tr for tr in transfers}
        days = np.array([transfer_of[p.team[s]].end_day if kd == TRANSFER else d
                         for s, kd, d in zip(slots, kinds, days)], dtype=np.int64)
        staying = p.occupied.copy()
        staying[slots] = False
        pools = _Groups(np.flatnonzero(staying), p.team, self.sector.teams.org)
        capacity = p.capacity()
        cases = self.caseload.foci(slots, len(p.team))
        order = np.argsort(kinds == TRANSFER, kind="stable")  # leavers hand over before teams transfer
        for s, kind, day in zip(slots[order], kinds[order], days[order]):
            row = p.row[s]
            self.workers.termination_day[row] = int(day)
            self.workers.termination_reason[row] = INVOLUNTARY if kind == TRANSFER else int(kind)
            if p.sick_start[s] >= 0:
                self.events.add([row], p.sick_start[s], "sick_leave", end=min(p.sick_end[s], day))
                p.sick_start[s] = -1
            if kind == TRANSFER:
                self._transfer(cases[s], s, int(day), transfer_of[p.team[s]])
                continue
            successors = pools.successors(p.team[s], self.sector.teams.org[p.team[s]])
            cases[s].hand_over(s, int(day), WORKER_LEFT, successors, p.row, load, capacity)
            self.team_exits[p.team[s], k % 26] += 1
            if kind == VOLUNTARY and rng.random() < MOVE_SHARE:
                self.movers.append(_Mover(k + MOVER_WAIT_WEEKS, int(self.sector.teams.org[p.team[s]]),
                                          int(p.person[s]), p.persons(np.array([s]))))
            p.vacancy[s] = self.vacancies.open(int(p.team[s]), int(p.occupation[s]), float(p.fte[s]), int(day) + 1,
                                               int(row))
            p.row[s] = -1
            p.fill_week[s] = k + rng.integers(*VACANCY_WEEKS)
        self.caseload.merge([cases[s] for s in slots[order]])

    def _transfer(self, cases: Caseload, slot: int, end_day: int, transfer: Transfer) -> None:
        """The person is hired by the tender's winner the next day and keeps their clients."""
        p = self.pos
        self.n_transferred += 1
        p.team[slot] = transfer.new_team
        terms = Terms(p.contract_type[[slot]], np.zeros(1, dtype=np.int64), p.load[[slot]],
                      p.step_withheld[[slot]], p.thrown_in[[slot]])
        new_row = self._hire(np.array([slot]), p.persons(np.array([slot])), terms, np.array([end_day + 1]),
                             p.contract_end[[slot]], p.person[[slot]])[0]
        cases.rebind(slot, int(new_row), end_day, end_day + 1)

    # -- routine HR -------------------------------------------------------------------------

    def _renewals(self, present: np.ndarray, t: int) -> None:
        """A temporary contract that reached its end without an exit was renewed on its last day."""
        p, rng = self.pos, self.rng
        due = present[(p.contract_type[present] != PERMANENT) & (p.contract_end[present] >= t)
                      & (p.contract_end[present] < t + 7)]
        permanent = rng.random(due.size) < RENEWAL_PERMANENT
        new_end = np.where(permanent, -1, p.contract_end[due] + 364)
        new_type = np.where(permanent, PERMANENT, p.contract_type[due])
        self.events.add(p.row[due], p.contract_end[due], "contract_renewal", end=new_end,
                        detail=[CONTRACT_TYPES[c] for c in new_type])
        p.contract_type[due], p.contract_end[due] = new_type, new_end

    def _hr_events(self, present: np.ndarray, t: int, k: int, counts: np.ndarray) -> None:
        p, rng = self.pos, self.rng
        n = present.size
        day = t + rng.integers(0, 5, n)
        rows = p.row[present]

        step = ((k - p.step_week[present]) % 52 == 0) & (k > p.step_week[present]) \
            & ~p.step_withheld[present] & (p.pay_step[present] < MAX_STEP)
        if self._in_force(k) and self.policy.scale_step_weeks is not None:
            # a step this week for whoever would otherwise start next week past the longest wait
            step |= (t + 7 - p.last_step_day[present]) / 7 > self.policy.scale_step_weeks
        promoted = ~step & (rng.random(n) < hazard.weekly(PROMOTION_YEARLY)) & (p.pay_scale[present] < MAX_SCALE)
        s, pr = present[step], present[promoted]
        p.pay_step[s] = np.minimum(p.pay_step[s] + 1, MAX_STEP)  # a policy's step at the top leaves the step as is
        p.pay_scale[pr] += 1
        p.pay_step[pr] = np.maximum(p.pay_step[pr] - 2, 0)
        for mask, kind in ((step, "scale_step"), (promoted, "promotion")):
            changed = present[mask]
            p.last_step_day[changed] = day[mask]
            p.step_week[changed] = k
            self.events.add(rows[mask], day[mask], kind,
                            detail=[f"{a}-{b}" for a, b in zip(p.pay_scale[changed], p.pay_step[changed])])

        trained = rng.random(n) < TRAINING_YEARLY / hazard.WEEKS_PER_YEAR
        self.events.add(rows[trained], day[trained], "training")
        org = self.sector.teams.org[p.team[present]]
        appraised = (self.appraisal_week[org] == k % 52) & (rng.random(n) < APPRAISAL_P)
        self.events.add(rows[appraised], day[appraised], "appraisal")
        refte = rng.random(n) < hazard.weekly(FTE_CHANGE_YEARLY)
        shift = rng.integers(1, len(FTE_CHOICES), refte.sum())
        current = np.searchsorted(FTE_CHOICES, p.fte[present[refte]])
        p.fte[present[refte]] = FTE_CHOICES[(current + shift) % len(FTE_CHOICES)]
        self.events.add(rows[refte], day[refte], "fte_change", value=p.fte[present[refte]])

        above = counts[present] > CASELOAD_NORM_PER_FTE * p.fte[present]
        onset_p = SICK_ONSET_WEEKLY * p.sick_proneness[present] * np.where(above, SICK_CASELOAD_RATIO, 1.0)
        falls_ill = (p.sick_start[present] < 0) & (rng.random(n) < onset_p)
        ill = present[falls_ill]
        weeks = np.where(rng.random(ill.size) < SHORT_SPELL_P, rng.integers(1, 3, ill.size),
                         1 + rng.geometric(1 / LONG_SPELL_MEAN_WEEKS, ill.size))
        p.sick_start[ill] = day[falls_ill]
        p.sick_end[ill] = day[falls_ill] + 7 * weeks - 3
        p.spell_weeks[ill] = 0

    def _in_force(self, k: int) -> bool:
        return self.policy_week is not None and k >= self.policy_week

    def _cap_caseloads(self, t: int) -> None:
        """The caseload policy: no one starts next week above the cap, nor takes new clients beyond it.

        The newest primary cases above a worker's cap end this week (with the client's secondary
        assignments), referred to help outside the sector's positions: the policy pays for capacity the
        simulation does not staff. Handovers can still push a worker over the cap within a week.
        """
        p = self.pos
        norm = CASELOAD_NORM_PER_FTE * p.fte
        limit = np.floor(self.policy.caseload_cap * norm + 1e-9)
        p.load = np.minimum(p.load, np.maximum(limit, 1.0) / norm)
        counts, _ = self.caseload.caseload(len(p.team))
        excess = np.where(p.occupied, np.maximum(counts - limit, 0), 0).astype(np.int64)
        if not excess.any():
            return
        cases = self.caseload.open
        primary = np.flatnonzero(cases.primary.astype(bool) & (excess[cases.slot] > 0))
        primary = primary[np.lexsort((-cases.id[primary], cases.slot[primary]))]  # per worker, newest first
        first = np.searchsorted(cases.slot[primary], cases.slot[primary], side="left")
        rank = np.arange(primary.size) - first
        ending = primary[rank < excess[cases.slot[primary]]]
        clients = cases.client[ending]
        mask = np.zeros(len(cases.id), dtype=bool)
        mask[ending] = True
        mask |= ~cases.primary.astype(bool) & np.isin(cases.client, clients)
        self.caseload.end(mask, np.maximum(t + 4, cases.start[mask]), CLOSED)

    def _end_spells(self, t: int) -> None:
        """Spells whose last day fell before t are recorded with their end date."""
        p = self.pos
        done = np.flatnonzero((p.sick_start >= 0) & (p.sick_end < t))
        self.events.add(p.row[done], p.sick_start[done], "sick_leave", end=p.sick_end[done])
        p.sick_start[done] = -1

    def _close_open_spells(self) -> None:
        """At the export, a spell still running has no end date yet."""
        p = self.pos
        export_day = self.start_day + 7 * self.n_weeks
        self._end_spells(export_day)
        running = np.flatnonzero(p.sick_start >= 0)
        self.events.add(p.row[running], p.sick_start[running], "sick_leave")

    def _manager_changes(self, t: int) -> None:
        """A manager leaves or moves: everyone in the team gets a manager_change with the new id."""
        p, rng = self.pos, self.rng
        teams = np.unique(p.team[p.occupied])
        changing = teams[rng.random(teams.size) < hazard.weekly(MANAGER_CHANGE_YEARLY)]
        staff = _Groups(np.flatnonzero(p.occupied), p.team, self.sector.teams.org)
        for team in changing:
            day = t + int(rng.integers(0, 5))
            self.n_managers += 1
            members = staff.of_team(team)
            members = members[p.hire_day[members] < day]
            self.events.add(p.row[members], day, "manager_change",
                            detail=np.full(members.size, f"M{self.n_managers:04d}", dtype=object))
            p.manager_change_day[members] = day

    def _team_moves(self, present: np.ndarray, t: int) -> None:
        """A worker moves to the smallest team of the organisation; clients stay with the old team."""
        p, rng = self.pos, self.rng
        teams = self.sector.teams
        movers = present[rng.random(present.size) < hazard.weekly(TEAM_MOVE_YEARLY)]
        if movers.size == 0:
            return
        # Each move sees the moves before it: team sizes, members and caseloads are kept up to date
        # here rather than recounted over all positions and cases per mover.
        staff = _Groups(np.flatnonzero(p.occupied), p.team, teams.org)
        org_teams = _Groups(np.arange(len(teams.team_id)), np.arange(len(teams.team_id)), teams.org)  # teams as members
        staffed = np.bincount(p.team[p.occupied], minlength=len(teams.team_id))
        sizes = np.bincount(p.team, minlength=len(teams.team_id))
        moved: list[int] = []
        load, _ = self.caseload.caseload(len(p.team))
        capacity = p.capacity()
        cases = self.caseload.focus(movers, len(p.team))
        for s in movers:
            own = p.team[s]
            live = org_teams.of_org(teams.org[own])
            others = live[(staffed[live] > 0) & (live != own)]
            colleagues = staff.of_team(own)
            colleagues = np.unique(np.concatenate([colleagues[p.team[colleagues] == own],
                                                   [m for m in moved if p.team[m] == own]]).astype(np.int64))
            colleagues = colleagues[colleagues != s]
            if others.size == 0 or colleagues.size == 0:
                continue
            target = others[np.argmin(sizes[others])]
            day = max(t + int(rng.integers(0, 5)), cases.latest_start(s) + 1)
            cases.hand_over(s, day, HANDOVER, colleagues, p.row, load, capacity)
            load[s] = 0
            p.team[s] = target
            staffed[own] -= 1
            staffed[target] += 1
            sizes[own] -= 1
            sizes[target] += 1
            moved.append(int(s))
            self.events.add([p.row[s]], day, "team_move", detail=[teams.team_id[target]])
        self.caseload.merge([cases])

    def _arrivals(self, present: np.ndarray, t: int) -> None:
        """New clients fill part of each worker's free places."""
        p, rng = self.pos, self.rng
        counts, _ = self.caseload.caseload(len(p.team))
        free = np.maximum(np.round(p.capacity()[present]).astype(int) - counts[present], 0)
        n_new = rng.binomial(free, ARRIVAL_PER_WEEK)
        owner = np.repeat(present, n_new)
        self._open_cases(owner, t + rng.integers(0, 5, owner.size))

    def _fill_vacancies(self, k: int, t: int) -> None:
        """Vacancies go first to movers from another organisation of the sector, else to new people."""
        p, rng = self.pos, self.rng
        slots = np.flatnonzero(~p.occupied & (p.fill_week <= k))
        if slots.size == 0:
            return
        self.movers = [m for m in self.movers if m.expiry >= k]
        persons = draw_persons(rng, self.sector.teams.team_type[p.team[slots]], self._year(t), incumbents=False)
        ids = np.full(slots.size, -1)
        for i, org in enumerate(self.sector.teams.org[p.team[slots]]):
            match = next((j for j, m in enumerate(self.movers) if m.organisation != org), None)
            if match is None:
                continue
            mover = self.movers.pop(match)
            ids[i] = mover.person
            for name in Persons.__dataclass_fields__:
                getattr(persons, name)[i] = getattr(mover.traits, name)[0]
        fresh = ids < 0
        ids[fresh] = self._new_person_ids(fresh.sum())
        terms = draw_terms(rng, slots.size)
        hire_day = t + rng.integers(0, 5, slots.size)
        contract_end = np.where(terms.contract_weeks > 0, hire_day + 7 * terms.contract_weeks - 1, -1)
        rows = self._hire(slots, persons, terms, hire_day, contract_end, ids)
        self.vacancies.fill(p.vacancy[slots], hire_day, rows)
        p.vacancy[slots] = -1

    def _overtime(self, present: np.ndarray, t: int) -> None:
        """Overtime hours of the month just ended for those who worked in it, dated on its first day (or the hire day)."""
        p, rng = self.pos, self.rng
        month_start = int(self._month(t - 7).astype("datetime64[D]").astype(np.int64))
        month_end = int(self._month(t).astype("datetime64[D]").astype(np.int64))
        present = present[p.hire_day[present] < month_end]
        counts, _ = self.caseload.caseload(len(p.team))
        excess = np.maximum(counts[present] / (CASELOAD_NORM_PER_FTE * p.fte[present]) - 1.0, 0.0)
        hours = rng.poisson(p.fte[present] * (OVERTIME_BASE_HOURS + OVERTIME_PER_EXCESS * excess))
        worked = hours > 0
        self.events.add(p.row[present[worked]], np.maximum(month_start, p.hire_day[present[worked]]), "overtime",
                        value=hours[worked].astype(float))

    @staticmethod
    def _month(day: int) -> np.datetime64:
        return np.datetime64(day, "D").astype("datetime64[M]")
