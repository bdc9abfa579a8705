"""Notices: the hr_event a leaving is announced by, a number of weeks before the last day.

The weekly simulation decides the week a worker leaves; the notice is dated back from that last
day by a notice period, from a stream of its own, so who leaves and when is the same with or
without notices. Two kinds (``detail`` of the event, ``vocabulary.NOTICE_GIVERS``):

* ``worker``: a voluntary leaver resigns. The Dutch statutory notice period for an employee is one
  month (Burgerlijk Wetboek art. 7:672); people often give notice a little earlier than they must.
* ``employer``: a temporary contract of six months or more that ends unrenewed is announced at least
  one month before its end (the *aanzegtermijn*, BW art. 7:668); every temporary contract of the
  synthetic sector lasts six months or more.

The export also holds the notices already given for a last day after the export date, the known
departures of the coming weeks: those workers are still employed at the export (no termination
date), so they are drawn here, from the oracle's hazard of the last simulated week and the renewal
chance of a contract ending just after it.
"""

from __future__ import annotations

import numpy as np

from continuity.vocabulary import NOTICE_GIVERS, TERMINATION_REASONS

from .hazard import TEMPORARY_RENEWAL
from .records import EVENT
from .simulate import Simulated

# Guess on BW art. 7:672: one statutory month, plus up to four weeks given early.
WORKER_NOTICE_DAYS = (31, 59)
# Guess on BW art. 7:668: the one-month aanzegtermijn, plus up to two weeks given early.
EMPLOYER_NOTICE_DAYS = (31, 45)
VOLUNTARY, END_OF_CONTRACT = (TERMINATION_REASONS.index(r) for r in ("voluntary", "end_of_temporary_contract"))
WORKER, EMPLOYER = NOTICE_GIVERS


def _lead(rng: np.random.Generator, days: tuple[int, int], n: int) -> np.ndarray:
    return rng.integers(days[0], days[1] + 1, n)


def _add(sim: Simulated, rows: np.ndarray, last_day: np.ndarray, lead: np.ndarray, giver: str,
         before: int | None = None) -> None:
    """Notices of `rows` for `last_day`, given `lead` days before it but never before the hire; with `before`,
    only those given before that day (the export date)."""
    hire = np.asarray(sim.workers.hire_day)[rows]
    given = np.maximum(last_day - lead, hire)
    keep = (given <= last_day) if before is None else (given < before)
    sim.events.add(rows[keep], given[keep], "notice", end=last_day[keep],
                   detail=np.full(int(keep.sum()), giver, dtype=object))


def add_notices(sim: Simulated, rng: np.random.Generator) -> None:
    """Write the notices of the simulated leavers and of those already announced at the export into ``sim.events``."""
    w = sim.workers.arrays()
    export_day = sim.start_day + 7 * sim.n_weeks
    for reason, giver, days in ((VOLUNTARY, WORKER, WORKER_NOTICE_DAYS),
                                (END_OF_CONTRACT, EMPLOYER, EMPLOYER_NOTICE_DAYS)):
        rows = np.flatnonzero(w["termination_reason"] == reason)
        _add(sim, rows, w["termination_day"][rows], _lead(rng, days, rows.size), giver)

    # Resignations already given for a last day after the export: the weekly hazard of the last week.
    o = sim.oracle.last_week
    rows = o["row"]
    rows_active = w["termination_day"][rows] < 0
    rows, hazard = rows[rows_active], o["hazard_voluntary"][rows_active]
    weeks = rng.geometric(np.clip(hazard, 1e-9, 1.0))
    last_day = export_day + 7 * (weeks - 1) + rng.integers(0, 5, rows.size)
    _add(sim, rows, last_day, _lead(rng, WORKER_NOTICE_DAYS, rows.size), WORKER, before=export_day)

    # Temporary contracts ending just after the export and announced as not renewed.
    e = sim.events.arrays()
    renewal = np.flatnonzero(e["event_type"] == EVENT["contract_renewal"])
    contract_end = w["contract_end"].copy()
    ordered = renewal[np.lexsort((e["day"][renewal], e["row"][renewal]))]
    if ordered.size:
        latest = ordered[np.r_[e["row"][ordered][1:] != e["row"][ordered][:-1], True]]  # a row's last renewal
        contract_end[e["row"][latest]] = e["end"][latest]
    active = np.flatnonzero((w["termination_day"] < 0) & (contract_end >= export_day)
                            & (contract_end <= export_day + EMPLOYER_NOTICE_DAYS[1]))
    ends = active[rng.random(active.size) >= TEMPORARY_RENEWAL]
    _add(sim, ends, contract_end[ends], _lead(rng, EMPLOYER_NOTICE_DAYS, ends.size), EMPLOYER, before=export_day)
