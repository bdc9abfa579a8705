"""Whether a client's case is still open when its worker leaves: what turns a worker's probability of leaving
into the client's expected handovers.

About a quarter of the cases open when a worker is scored close or move on before that worker leaves, and
those never need a handover; the worker's probability alone over-counts a client's handovers by about a
third (``continuity bench handovers``: O/E 0.76 unweighted, 0.98 with this weight, README "Expected
handovers against what happened"). So each (client, worker) pair open at the score date gets

    handover_weight = sum over weeks k = 1..h of  P(the worker leaves in week k | leaves within h) x
                                                  P(the pair's case is still open in week k)

* the week of leaving from the worker's own published curve (the increments of its cumulative incidence,
  normalised; evenly over the weeks where the curve is flat at zero);
* the case still open from ``CaseSurvival``: a Kaplan-Meier curve of assignment durations per domain, fitted
  on the assignments known before the score date (ended for any reason but the worker leaving: an event;
  still open, or ended by the worker leaving: censored, since a worker's leaving is what is forecast, not a
  case's end), conditional on the case's age; a pair holding several assignments is open while any is,
  taken as independent.

A client's expected handovers within h weeks are then the sum over their workers of p_hw x handover_weight.
The weight is a property of the case and the curve's shape, not of the probability's level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from continuity.published import HANDOVER_HORIZON, HANDOVER_WEIGHT

WORKER_LEFT = "worker_left"  # the assignments' end_reason when their worker left
_DURATIONS_SQL = """
select domain, datediff('day', start_date, case when end_date < $t then end_date else $t end) / 7 as weeks,
       coalesce(end_date < $t, false) and end_reason is distinct from $worker_left as event, count(*) as n
from assignments where start_date < $t
group by all
"""


@dataclass(frozen=True)
class CaseSurvival:
    """Per domain, the Kaplan-Meier step function of an assignment's weeks until it ends for a reason other
    than its worker leaving, from the assignments known before an origin (the module docstring)."""

    curves: dict[str, tuple[np.ndarray, np.ndarray]]  # domain ("" for all domains) -> (timeline, survival)

    @classmethod
    def before(cls, origin: pd.Timestamp, assignments: pd.DataFrame) -> CaseSurvival:
        start, end = pd.to_datetime(assignments["start_date"]), pd.to_datetime(assignments["end_date"])
        known = assignments[start < origin]
        ended = end[known.index] < origin
        weeks = (end[known.index].where(ended, origin) - start[known.index]).dt.days / 7
        event = ended & known["end_reason"].ne(WORKER_LEFT)
        durations = pd.DataFrame({"domain": known["domain"], "weeks": weeks, "event": event})
        return cls.from_durations(durations.groupby(["domain", "weeks", "event"]).size().rename("n").reset_index())

    @classmethod
    def in_warehouse(cls, con: duckdb.DuckDBPyConnection, t: date) -> CaseSurvival:
        """``before`` the score date t for the warehouse's assignments, counted in SQL: at 150,000 positions
        the 12M assignments as a frame were most of the exposure step's 11 GB."""
        return cls.from_durations(con.execute(_DURATIONS_SQL, {"t": t, "worker_left": WORKER_LEFT}).df())

    @classmethod
    def from_durations(cls, durations: pd.DataFrame) -> CaseSurvival:
        """From ``n`` assignments per (``domain``, ``weeks`` until ended or the origin, ``event``): the
        Kaplan-Meier estimate with the counts as weights is the one of the assignments one by one."""
        groups = {"": durations.index, **durations.groupby("domain").groups}
        curves = {}
        for domain, rows in groups.items():
            fitted = KaplanMeierFitter().fit(durations.weeks.loc[rows].astype(float),
                                             durations.event.loc[rows].astype(bool), weights=durations.n.loc[rows])
            curves[domain] = (fitted.survival_function_.index.to_numpy(float),
                              fitted.survival_function_.iloc[:, 0].to_numpy(float))
        return cls(curves)

    def at(self, domain: str, weeks: np.ndarray) -> np.ndarray:
        """S(weeks) of the domain's curve (all domains' for a domain without history before the origin)."""
        timeline, survival = self.curves.get(domain, self.curves[""])
        return survival[np.searchsorted(timeline, weeks, side="right") - 1]

    def still_open(self, domains: pd.Series, ages: np.ndarray, weeks: np.ndarray) -> np.ndarray:
        """P(open `weeks` later | open at age `ages`), one row per assignment, one column per week."""
        out = np.empty((len(ages), len(weeks)))
        for domain in domains.unique():
            rows = np.flatnonzero(domains.to_numpy() == domain)
            now = self.at(domain, ages[rows])
            later = self.at(domain, ages[rows, None] + weeks[None, :])
            out[rows] = np.divide(later, now[:, None], out=np.zeros_like(later), where=now[:, None] > 0)
        return out


def pair_open_by_week(origin: pd.Timestamp, open_assignments: pd.DataFrame, cases: CaseSurvival,
                      horizon: int = HANDOVER_HORIZON) -> pd.DataFrame:
    """P(the pair's case is still open in the middle of week k), k = 1..`horizon` (columns), one row per
    (client_id, worker_id) of `open_assignments` (the index): open while any of its assignments is.

    `cases`: the case curves, fitted on the assignments known before `origin`."""
    weeks = np.arange(1, horizon + 1) - 0.5
    ages = ((origin - pd.to_datetime(open_assignments["start_date"])).dt.days / 7).to_numpy(float)
    still_open = cases.still_open(open_assignments["domain"], ages, weeks)
    closed = pd.DataFrame(np.log(np.clip(1 - still_open, 1e-300, None)), index=open_assignments.index)
    return 1 - np.exp(closed.groupby([open_assignments["client_id"], open_assignments["worker_id"]]).sum())


def leaving_by_week(incidence: np.ndarray, p_leave: np.ndarray) -> np.ndarray:
    """P(leaving voluntarily in week k), k = 1..horizon, per worker: the increments of the cumulative incidence
    (weeks 1..horizon), scaled to add up to p_leave; evenly over the weeks where the incidence is flat at zero."""
    steps = np.diff(incidence, axis=1, prepend=0.0).clip(min=0)
    total = steps.sum(axis=1, keepdims=True)
    shape = np.divide(steps, total, out=np.full_like(steps, 1 / steps.shape[1]), where=total > 0)
    return shape * p_leave[:, None]


def with_handover_weight(con: duckdb.DuckDBPyConnection, t: date, clients: pd.DataFrame, curves: pd.DataFrame,
                         horizon: int = HANDOVER_HORIZON) -> pd.DataFrame:
    """``clients`` (the week's client_exposure pairs) with ``handover_weight_<h>w`` (the module docstring).

    ``curves``: the week's survival curves (worker_id, week 0.., survival). The pairs open at t are those of
    ``features.exposure``: an assignment started before t and not ended before it."""
    if clients.empty:
        return clients.assign(**{HANDOVER_WEIGHT: pd.Series(dtype=float)})
    con.register("_pair_workers", clients[["worker_id"]].drop_duplicates())
    try:
        open_ = con.execute(
            "select client_id, worker_id, domain, start_date from assignments "
            "semi join _pair_workers using (worker_id) where start_date < $t and (end_date is null or end_date >= $t)",
            {"t": t}).df()
    finally:
        con.unregister("_pair_workers")
    open_by_week = pair_open_by_week(pd.Timestamp(t), open_, CaseSurvival.in_warehouse(con, t), horizon)
    incidence = 1.0 - (curves[curves["week"].between(1, horizon)]
                       .pivot(index="worker_id", columns="week", values="survival"))
    shape = pd.DataFrame(leaving_by_week(incidence.to_numpy(float), np.ones(len(incidence))), index=incidence.index)
    pairs = pd.MultiIndex.from_frame(clients[["client_id", "worker_id"]])
    weight = (shape.loc[clients["worker_id"]].to_numpy() * open_by_week.loc[pairs].to_numpy()).sum(axis=1)
    return clients.assign(**{HANDOVER_WEIGHT: weight})
