"""The tender calendar at the score date t: the funding contracts running at t, the scored workers on each,
and what the approaching end adds to their leaving, for ``GET /funding-contracts`` and the sector page.

* **The contracts** are the ``funding_contracts`` awarded before t whose funded period contains t. Each
  says whether its successor is already known at t (awarded before t): ``renewed`` (a contract of the
  same organisation and market starting by the day after its end), ``lost`` (a rival's contract for the
  market starting the day after its end) or ``open`` (no successor known: the tender is still to come).
* **The workers on a contract** are the scored workers of its organisation whose team works for its
  market (municipality and domain): the team's market in the optional ``teams`` table, else the team's
  region and the worker's main domain (``situation.worker_snapshot``). A worker whose market has two
  running contracts is on the one ending last.
* **What the end adds.** Per worker, the probability of leaving voluntarily before the contract's end
  (within the window from t to the end, at most the published curve's 52 weeks) is the forecaster's with
  the *funding clock running*: every 4 weeks, ``months_to_funding_end`` counts down as it will (every
  other input as scored at t), and the probability of leaving within those weeks is the model's
  conditional one for those inputs, ``(F(k + 4) - F(k)) / (1 - F(k))`` of its cumulative incidence F. Where the
  countdown changes nothing the model reads, the product telescopes to F at the window: the published
  probability itself. So a contract ending in 9 months counts the last 6 months as the model scores a
  worker whose funding ends within 6 months, which a score held at t (9 months) would miss. The same
  with the end far away, ``months_to_funding_end`` never under ``FAR_MONTHS`` (6 years, the long
  contracts of docs/evidence.md#tenders-and-funding-contracts and of the ``long_funding_contracts``
  scenario; a value the training weeks hold, unlike the ten-year cap), is the counterfactual. The
  difference, summed over the contract's workers, is the model's expected *extra* departures before the
  end: what the approaching end adds. Model-based, not causal (as the scenarios, ``forecasts.scenarios``),
  and only as large as the funding effect the model learnt.

The answers read these two published tables only (``continuity.published.TENDER_CALENDAR`` and
``TENDER_CALENDAR_WORKERS``); the sums, client counts and suppression are theirs
(``forecasts.tender_calendar``).
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from continuity.features.snapshot_sql import DAYS_PER_MONTH
from continuity.warehouse import has_table

CURVE_WEEKS = 52  # the published survival curves run from week 0 to week 52
FAR_MONTHS = 72.0  # the end "far away": as forecasts.scenarios.LONG_CONTRACT_MONTHS
CLOCK_WEEKS = 4  # the funding clock moves the model's input every 4 weeks
RENEWED, LOST, OPEN = "renewed", "lost", "open"
CONTRACT_COLUMNS = ["contract_id", "organisation_id", "municipality", "domain", "start_date", "end_date",
                    "tendered", "successor", "weeks_to_end"]
WORKER_COLUMNS = ["worker_id", "contract_id", "window_weeks", "p_until_end", "p_until_end_far"]

_RUNNING_SQL = f"""
select f.contract_id, f.organisation_id, f.municipality, f.domain, f.start_date, f.end_date, f.tendered,
       case when exists (select 1 from funding_contracts r
                         where r.organisation_id = f.organisation_id and r.municipality = f.municipality
                           and r.domain = f.domain and r.contract_id <> f.contract_id and r.awarded_date < $t
                           and r.start_date <= f.end_date + 1 and r.end_date > f.end_date) then '{RENEWED}'
            when exists (select 1 from funding_contracts l
                         where l.organisation_id <> f.organisation_id and l.municipality = f.municipality
                           and l.domain = f.domain and l.awarded_date < $t and l.start_date > f.end_date
                           and l.start_date <= f.end_date + 1) then '{LOST}'
            else '{OPEN}' end as successor
from funding_contracts f
where f.awarded_date < $t and f.start_date <= $t and f.end_date >= $t
order by f.end_date, f.contract_id
"""


def running_contracts(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    """The funding contracts running at t (awarded before it), with their successor known at t and the
    whole weeks from t to the end."""
    if not has_table(con, "funding_contracts"):
        return pd.DataFrame(columns=CONTRACT_COLUMNS)
    contracts = con.execute(_RUNNING_SQL, {"t": t}).df()
    days = (pd.to_datetime(contracts.end_date) - pd.Timestamp(t)).dt.days
    contracts["weeks_to_end"] = np.ceil(days / 7).astype(int)
    contracts["tendered"] = contracts.tendered.astype(bool)
    return contracts[CONTRACT_COLUMNS]


def worker_markets(con: duckdb.DuckDBPyConnection, workers: pd.DataFrame) -> pd.DataFrame:
    """worker_id, organisation_id, municipality, domain: the market each worker's team serves.
    ``workers``: worker_id, organisation_id, team_id, region and domain (the main domain) at t."""
    teams = (con.execute("select team_id, municipality, domain from teams").df() if has_table(con, "teams")
             else pd.DataFrame(columns=["team_id", "municipality", "domain"]))
    listed = workers[["worker_id", "organisation_id", "team_id"]].merge(teams, on="team_id", how="left")
    return pd.DataFrame({"worker_id": workers.worker_id.to_numpy(),
                         "organisation_id": workers.organisation_id.to_numpy(),
                         "municipality": listed.municipality.fillna(pd.Series(workers.region.to_numpy())).to_numpy(),
                         "domain": listed.domain.fillna(pd.Series(workers.domain.to_numpy())).to_numpy()})


def contract_members(contracts: pd.DataFrame, markets: pd.DataFrame) -> pd.DataFrame:
    """worker_id, contract_id, weeks_to_end: each worker on the running contract of their market ending last."""
    if contracts.empty or markets.empty:
        return pd.DataFrame(columns=["worker_id", "contract_id", "weeks_to_end"])
    matched = markets.merge(contracts[["contract_id", "organisation_id", "municipality", "domain", "end_date",
                                       "weeks_to_end"]], on=["organisation_id", "municipality", "domain"])
    matched = matched.sort_values(["worker_id", "end_date", "contract_id"]).drop_duplicates("worker_id", keep="last")
    return matched[["worker_id", "contract_id", "weeks_to_end"]].reset_index(drop=True)


def _with_clock(forecaster, rows: pd.DataFrame, window: np.ndarray, floor: float) -> np.ndarray:
    """P(leaving voluntarily within each row's window) with months_to_funding_end counting down (never under
    ``floor``), one step of ``CLOCK_WEEKS`` at a time: one minus the product of the model's conditional
    probabilities of leaving within each step, each with the months at the step's start.

    A step scores only the rows it changes (the window still running); a row whose months stay the same over
    its whole window (at the floor from the start, or no funding end) is scored once, to the window's end:
    its conditional probabilities multiply to that one (the product telescopes)."""
    start = rows.months_to_funding_end.to_numpy(dtype=float)
    steps_at = np.arange(0, int(window.max(initial=0)), CLOCK_WEEKS)
    months = np.maximum(np.maximum(start[:, None] - steps_at[None, :] * 7 / DAYS_PER_MONTH, 0.0), floor)
    running = steps_at[None, :] < window[:, None]
    same = (months == months[:, :1]) | (np.isnan(months) & np.isnan(months[:, :1]))
    still = (same | ~running).all(axis=1)
    staying = np.ones(len(rows))
    for k in steps_at.tolist():
        step = running[:, k // CLOCK_WEEKS] & (~still | (k == 0))
        if not step.any():
            continue
        index = np.flatnonzero(step)
        end = np.where(still[index], window[index], np.clip(window[index], k, k + CLOCK_WEEKS))
        steps = sorted({k, *end.tolist()})
        incidence = forecaster.predict_incidence(
            rows.iloc[index].assign(months_to_funding_end=months[index, k // CLOCK_WEEKS]), steps)
        at_start = incidence[:, 0]
        at_end = incidence[np.arange(len(index)), np.searchsorted(steps, end)]
        left = np.clip(1.0 - at_start, 1e-12, None)
        staying[index] *= 1.0 - np.clip((at_end - at_start) / left, 0.0, 1.0)
    return 1.0 - staying


def until_end(forecaster, snapshot: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Per member: the forecaster's probability of leaving voluntarily before the contract's end (the window, at
    most 52 weeks) with the funding clock running, and the same with the funding end far away.
    ``snapshot``: the scored snapshot (the model's inputs)."""
    if members.empty:
        return pd.DataFrame(columns=WORKER_COLUMNS)
    window = members.weeks_to_end.clip(lower=0, upper=CURVE_WEEKS).astype(int).to_numpy()
    rows = snapshot.set_index("worker_id").loc[members.worker_id].reset_index()
    return pd.DataFrame({"worker_id": members.worker_id.to_numpy(), "contract_id": members.contract_id.to_numpy(),
                         "window_weeks": window, "p_until_end": _with_clock(forecaster, rows, window, 0.0),
                         "p_until_end_far": _with_clock(forecaster, rows, window, FAR_MONTHS)})


def tender_calendar(con: duckdb.DuckDBPyConnection, t: date, forecaster, snapshot: pd.DataFrame,
                    worker_snapshot: pd.DataFrame, risk: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The week's two calendar tables: ``tender_calendar`` (the running contracts) and
    ``tender_calendar_workers`` (the scored workers on them, with their probabilities before the end)."""
    contracts = running_contracts(con, t)
    workers = risk[["worker_id", "organisation_id", "team_id"]].merge(
        worker_snapshot[["worker_id", "region", "domain"]], on="worker_id")
    members = contract_members(contracts, worker_markets(con, workers))
    return {"tender_calendar": contracts, "tender_calendar_workers": until_end(forecaster, snapshot, members)}
