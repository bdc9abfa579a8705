"""The handover workbench: a team's leaving workers planned together, a warm-handover schedule, accepted plans.

**Several leavers.** The planner (``continuity.handover.planner``) plans one leaving worker at a time.
The workbench plans the leavers one after another, soonest last day first (they need a successor
first), and hands each later plan the room the earlier ones used: every successor's caseload is raised
by the clients already given to them (pins included) before the next plan is solved, so no place under
the caseload norm is given twice. The other leavers are excluded as successors. Planning them as one
assignment problem would sometimes share the room better; in turn is what a manager would do by hand
and keeps the planner's own rules (familiar faces, the starter rule, its costs) for every client.

**Warm handover.** Before the last day the leaving worker and the successor visit each client together:
``JOINT_VISITS`` visits, one more for a complex case (complexity ``COMPLEX_CASE_MIN`` or more: the
successor has more to learn) and one more for a vulnerable client (any vulnerability flag, out-of-home
placement included: trust takes longer to pass on). The visits are spread evenly over the weeks from the
plan's week to the week before the last day, the first in the plan's week, so that the client meets the
successor as early as possible and the last visit is not squeezed against the departure. A leaver
without a known date (planned on their probability) is scheduled as if they gave notice in the plan's week:
``ASSUMED_NOTICE_WEEKS`` after it, the statutory notice period of an employee (one month, BW 7:672).
Several visits in one week are allowed where the weeks are fewer than the visits: a short notice
shortens the schedule, it does not drop a visit.

**Accepted plans** are kept owner-only (``continuity.private``) under ``HOME/private/handover_plans``, one
file per score week and team (the last accepted wins): the inputs (leavers, pins, exclusions), who
accepted it and when, and its rows as downloaded. Opened again in the same week, the page re-plans from
those inputs, which gives the same plan from the same published week, and says it was accepted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from continuity.access import Grant
from continuity.advisory import NOTICE
from continuity.handover.planner import HandoverPlan, Situation, plan_handover, situation
from continuity.private import private_files, private_folder
from continuity.spreadsheet_safety import neutralise_frame
from continuity.serving.store import PublishedWeek
from continuity.serving.team import clients_to_hand_over
from continuity.vocabulary import CASELOAD_NORM_PER_FTE, COMPLEX_CASE_MIN

JOINT_VISITS = 1  # every client meets the successor with the leaving worker at least once
COMPLEX_EXTRA_VISITS = 1  # a complex case: more to pass on about the case itself
VULNERABLE_EXTRA_VISITS = 1  # a vulnerable client (out-of-home placement included): trust takes longer
ASSUMED_NOTICE_WEEKS = 4  # no known date: an employee's statutory notice period, one month (BW 7:672)
FORECAST = "forecast"  # the departure column of a leaver without a known date


class PlanningError(ValueError):
    """A choice the planner cannot honour (a pin to an excluded or leaving worker); the message says which."""


@dataclass(frozen=True)
class Leaver:
    worker_id: str
    last_day: date | None  # None: no known departure, planned on the probability
    reason: str | None  # notice, contract_end, or None


@dataclass(frozen=True)
class LeaverPlan:
    leaver: Leaver
    plan: HandoverPlan
    options: tuple[str, ...]  # the workers a client of this leaver may be pinned to
    clients: dict[str, dict[str, Any]]  # client_id -> domain, complexity, vulnerable
    schedule: dict[str, tuple[date, ...]]  # client_id -> the weeks (Mondays) of the joint visits


@dataclass(frozen=True)
class TeamPlan:
    week: date
    team_id: str
    leavers: tuple[LeaverPlan, ...]
    capacity: tuple[dict[str, Any], ...]  # per successor: caseload, taken, after, norm
    pinned: dict[str, str]
    excluded: tuple[str, ...]

    @property
    def workers(self) -> list[str]:
        """Everyone whose data the plan shows: the leavers, then the successors."""
        successors = {h.successor_id for p in self.leavers for h in p.plan.handovers if h.successor_id}
        leaving = [p.leaver.worker_id for p in self.leavers]
        return leaving + sorted(successors - set(leaving))


def joint_visits(complexity: int, vulnerable: bool) -> int:
    """The joint visits a client gets before the last day (the rule of the module docstring)."""
    return (JOINT_VISITS + COMPLEX_EXTRA_VISITS * (complexity >= COMPLEX_CASE_MIN)
            + VULNERABLE_EXTRA_VISITS * bool(vulnerable))


def visit_weeks(plan_week: date, last_day: date | None, visits: int) -> tuple[date, ...]:
    """The Mondays of the joint visits: spread evenly over the weeks that start before the last day, from the
    plan's week (a Monday) on; without a known last day, as if it were ``ASSUMED_NOTICE_WEEKS`` away."""
    last_day = last_day or plan_week + timedelta(weeks=ASSUMED_NOTICE_WEEKS)
    weeks = max(1, math.ceil((last_day - plan_week).days / 7))
    return tuple(plan_week + timedelta(weeks=(weeks * k) // visits) for k in range(visits))


def leavers_of(week: PublishedWeek, worker_ids: list[str]) -> list[Leaver]:
    """The chosen leavers with their known departures, soonest last day first, those without one after, by id."""
    leavers = []
    for worker_id in dict.fromkeys(worker_ids):
        known = week.by_worker[worker_id]["known_departure"]
        leavers.append(Leaver(worker_id, known["last_day"] if known else None, known["reason"] if known else None))
    return sorted(leavers, key=lambda leaver: (leaver.last_day is None, leaver.last_day or date.min, leaver.worker_id))


def plan_team(week: PublishedWeek, grant: Grant, team_id: str, leaving: list[str], pinned: dict[str, str],
              excluded: set[str]) -> TeamPlan:
    """The team's plan for the leavers (scored workers the grant sees; the caller checks), in turn, each later
    plan with the room the earlier ones used (see the module docstring). Raises PlanningError for a pin the
    planner cannot honour."""
    leavers = leavers_of(week, leaving)
    hidden = week.hidden_from(grant)
    taken: Counter[str] = Counter()
    plans = []
    for leaver in leavers:
        clients = {c["client_id"]: c for c in clients_to_hand_over(week, leaver.worker_id)}
        others = {other.worker_id for other in leavers} - {leaver.worker_id}
        try:
            now = situation(week.publication, leaver.worker_id,
                            pinned={c: s for c, s in pinned.items() if c in clients},
                            excluded=excluded | others, hidden=hidden)
        except ValueError as error:
            raise PlanningError(str(error)) from error
        plan = plan_handover(_with_taken(now, taken))
        taken.update(h.successor_id for h in plan.handovers if h.successor_id)
        schedule = {c: visit_weeks(week.score_date, leaver.last_day,
                                   joint_visits(clients[c]["complexity"], clients[c]["vulnerable"])) for c in clients}
        options = tuple(w for w in now.candidates.index if now.candidates.at[w, "eligible"] or w in pinned.values())
        plans.append(LeaverPlan(leaver, plan, options, clients, schedule))
    planned = {c for p in plans for c in p.clients}
    return TeamPlan(week.score_date, team_id, tuple(plans), _capacity(week, taken),
                    {c: s for c, s in pinned.items() if c in planned}, tuple(sorted(excluded)))


def _with_taken(now: Situation, taken: Counter[str]) -> Situation:
    """The situation with each candidate's caseload raised by the clients earlier plans gave them."""
    if not taken:
        return now
    extra = pd.Series(taken, dtype=float).reindex(now.candidates.index, fill_value=0.0)
    return dataclasses.replace(now, candidates=now.candidates.assign(caseload=now.candidates.caseload + extra))


def _capacity(week: PublishedWeek, taken: Counter[str]) -> tuple[dict[str, Any], ...]:
    """Per successor: open primary cases at the score date, clients the plans give them, and the caseload norm."""
    snapshot = week.publication.table("worker_snapshot").set_index("worker_id")
    rows = []
    for worker_id in sorted(taken):
        caseload = float(snapshot.at[worker_id, "caseload"])
        norm = CASELOAD_NORM_PER_FTE * float(snapshot.at[worker_id, "fte"])
        rows.append({"worker_id": worker_id, "caseload": caseload, "taken": taken[worker_id],
                     "after": caseload + taken[worker_id], "norm": float(norm),
                     "above_norm": caseload + taken[worker_id] > norm + 1e-9})
    return tuple(rows)


def plan_rows(team_plan: TeamPlan, status: str) -> list[dict[str, Any]]:
    """One row per client to hand over, in plan order: what the CSV holds and the accepted plan keeps."""
    rows = []
    for leaver_plan in team_plan.leavers:
        leaver = leaver_plan.leaver
        for handover in leaver_plan.plan.handovers:
            client = leaver_plan.clients[handover.client_id]
            rows.append({
                "leaving_worker_id": leaver.worker_id,
                "last_day": leaver.last_day.isoformat() if leaver.last_day else None,
                "departure": leaver.reason or FORECAST,
                "client_id": handover.client_id, "domain": client["domain"], "complexity": client["complexity"],
                "vulnerable": client["vulnerable"], "successor_id": handover.successor_id,
                "pinned": handover.successor_id is not None
                and team_plan.pinned.get(handover.client_id) == handover.successor_id,
                "starter_complex": handover.starter_complex, "reasons": "; ".join(handover.reasons),
                "joint_visits": len(leaver_plan.schedule[handover.client_id]),
                "visit_weeks": " ".join(d.isoformat() for d in leaver_plan.schedule[handover.client_id]),
                "week": team_plan.week.isoformat(), "status": status,
            })
    return rows


CSV_COLUMNS = ["leaving_worker_id", "last_day", "departure", "client_id", "case_number", "domain", "complexity",
               "vulnerable", "successor_id", "pinned", "starter_complex", "reasons", "joint_visits", "visit_weeks",
               "week", "status", "notice"]


def plan_csv(rows: list[dict[str, Any]]) -> bytes:
    """The plan for Dutch Excel (``;``, a byte-order mark), every text cell neutralised against formula injection
    (ids and reasons come from outside), the advisory notice on every row as in the risk list's export."""
    frame = pd.DataFrame([row | {"notice": NOTICE} for row in rows], columns=CSV_COLUMNS)
    return neutralise_frame(frame).to_csv(index=False, sep=";").encode("utf-8-sig")


class AcceptedPlans:
    """Accepted plans, one owner-only JSON file per score week and team under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, week: date, team_id: str) -> Path:
        # A team id from an HR export may hold any character: the file is named by its hash.
        return self.root / week.isoformat() / f"{hashlib.sha256(team_id.encode()).hexdigest()[:32]}.json"

    def accept(self, team_plan: TeamPlan, grant: Grant, rows: list[dict[str, Any]]) -> dict[str, Any]:
        record = {
            "team_id": team_plan.team_id, "week": team_plan.week.isoformat(),
            "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "role": grant.role.value, "token_id": grant.token_id,
            "leaving": [p.leaver.worker_id for p in team_plan.leavers], "pinned": team_plan.pinned,
            "excluded": list(team_plan.excluded), "rows": rows,
        }
        path = self._path(team_plan.week, team_plan.team_id)
        private_folder(path.parent)
        with private_files():
            incoming = path.with_suffix(".incoming")
            incoming.write_text(json.dumps(record, indent=2, default=str))
            incoming.replace(path)  # a reader sees the old plan or the new, never half of one
        return record

    def accepted(self, week: date, team_id: str) -> dict[str, Any] | None:
        path = self._path(week, team_id)
        return json.loads(path.read_text()) if path.exists() else None
