"""Hires, exits and the clients without a steady worker, read from the warehouse for the inflow forecasts.

**Flows.** A hire is an employment's ``hire_date``, an exit its ``termination_date`` (every reason: the
net change in staff counts every leaver), each in the cell of the worker then: region and organisation
of the employment, occupation, and the domain of the team (``teams.domain``; without it the domain of
most of the worker's cases; else ``unknown``). A team passing to a tender's winner is an exit at the
old employer and a hire at the new one, as the export records it. The export records every leaver
from its first termination on, but of the hires before that only those who stayed: flows are counted
from ``records_from`` on.

**Clients without a steady worker** at a date t (a Monday, data before t only): a client with a case
open at t none of whose workers (still employed at t, on a case open at t) has had a contact with them
in the 13 weeks before t (``unseen``), or whose worker left a post still vacant at t (``vacancy``:
the leaver named by ``vacancies.vacated_by`` had the client's case on their last day). Without
contacts no client counts as seen, so the count is reported only where the export has contacts.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.warehouse import has_table

CELL_COLUMNS = ("region", "occupation", "domain", "organisation_id")
"""The cells of the inflow forecasts: the aggregates' groupings (``forecasts.aggregates.GROUPINGS``)."""
STEADY_WEEKS = 13
"""A worker who has seen the client in the last 13 weeks is the client's steady worker (the issue's definition)."""

_WORKER_CELLS = """
with case_domain as (
    select worker_id, mode(domain) as domain from assignments group by worker_id
)
select w.worker_id, w.hire_date, w.termination_date, w.region, w.occupation, w.organisation_id,
       coalesce(t.domain, c.domain, 'unknown') as domain
from workers w left join teams t using (team_id) left join case_domain c using (worker_id)
"""


def records_from(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first day the export records leavers on (its first termination); None without any."""
    return con.execute("select min(termination_date) from workers").fetchone()[0]


def flows(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """kind (``hire`` or ``exit``), day and the cell columns of every hire and exit dated in [start, end)."""
    cells = con.execute(_WORKER_CELLS).df()
    parts = []
    for kind, column in (("hire", "hire_date"), ("exit", "termination_date")):
        day = pd.to_datetime(cells[column])
        inside = cells[(day >= pd.Timestamp(start)) & (day < pd.Timestamp(end))]
        parts.append(inside.assign(kind=kind, day=pd.to_datetime(inside[column]))[["kind", "day", *CELL_COLUMNS]])
    return pd.concat(parts, ignore_index=True)


def _vacancy_clients_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The clients waiting on a vacancy open at $t, or nothing where the export has no vacancies."""
    if not has_table(con, "vacancies"):
        return "select null::varchar as client_id where false"
    return """
        select distinct a.client_id
        from vacancies v join workers w on w.worker_id = v.vacated_by
        join assignments a on a.worker_id = v.vacated_by
        where v.opened_on < $t and (v.filled_on is null or v.filled_on >= $t)
          and w.termination_date < $t
          and a.start_date <= w.termination_date and (a.end_date is null or a.end_date >= w.termination_date)
    """


def clients_at(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    """One row per client with a case open at t: client_id, unseen, vacancy (bools) and the cell columns
    (domain of the case; region, occupation and organisation of its primary worker, else of any worker)."""
    if not has_table(con, "contacts"):
        raise ValueError("the export has no contacts: who has seen a client cannot be told")
    sql = f"""
    with cells as ({_WORKER_CELLS}),
    open_cases as (
        select a.client_id, a.worker_id, a.domain, a.role, a.start_date,
               (w.hire_date < $t and (w.termination_date is null or w.termination_date >= $t)) as employed
        from assignments a join workers w using (worker_id)
        where a.start_date < $t and (a.end_date is null or a.end_date >= $t)
    ),
    seen as (
        select distinct client_id, worker_id from contacts where contact_date >= $since and contact_date < $t
    ),
    steady as (
        select distinct o.client_id from open_cases o join seen s using (client_id, worker_id) where o.employed
    ),
    waiting as ({_vacancy_clients_sql(con)}),
    lead as (
        select client_id, arg_max(worker_id, (role = 'primary', start_date)) as worker_id,
               arg_max(domain, (role = 'primary', start_date)) as domain
        from open_cases group by client_id
    )
    select l.client_id, l.client_id not in (select client_id from steady) as unseen,
           l.client_id in (select client_id from waiting) as vacancy,
           c.region, c.occupation, l.domain, c.organisation_id
    from lead l join cells c using (worker_id)
    """
    return con.execute(sql, {"t": t, "since": t - timedelta(weeks=STEADY_WEEKS)}).df()
