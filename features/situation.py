"""The state at the score date that the answers need besides the scores, read from the contract tables.

The weekly run publishes these with the scores (``continuity.published``), so that handover
plans and sector aggregates are computed from the published week alone:

* ``worker_snapshot``: the model's input at t, with each worker's *main domain*, the domain
  of most of their open primary cases (``NO_CASELOAD`` for a worker with none, so that the
  cells of every grouping still add up to the same total);
* ``voluntary_leavers``: who left voluntarily in the year before t, the event the
  probabilities forecast, with team, region and domain on their last working day;
* ``client_familiarity``: for the open primary clients of the scored workers, who knows
  each client: an open secondary assignment, any assignment running in the last year, or
  contacts in the last year (the client's own primary worker included; a planner leaves
  out the leaver);
* ``client_continuity``: for the open clients of the scored workers, the new faces,
  distinct workers and handovers of the last year, and the team continuity (the client
  discontinuity monitor);
* ``worker_domains``: the domains each worker had cases in during the last year;
* ``known_departures``: scored workers with a known last day (``continuity.features.known_departures``).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.features.continuity_indices import continuity_indices
from continuity.features.known_departures import known_departures
from continuity.warehouse import has_table

NO_CASELOAD = "no caseload"
YEAR_DAYS = 364

_MAIN_DOMAIN_SQL = """
with cases as (
    select r.worker_id, a.domain, count(*) as n
    from _reference r join assignments a on a.worker_id = r.worker_id
    where a.role = 'primary' and a.start_date < r.at and (a.end_date is null or a.end_date >= r.at)
    group by r.worker_id, a.domain
)
select worker_id, domain from cases
qualify row_number() over (partition by worker_id order by n desc, domain) = 1
"""

# Team and region come from the last weekly snapshot before leaving (a team move changes both);
# a leaver without one (left within the first weeks) keeps the values of the HR export.
_LEAVERS_SQL = """
select w.worker_id, w.organisation_id,
       coalesce(s.team_id, w.team_id) as team_id, coalesce(s.region, w.region) as region,
       w.occupation, w.termination_date
from workers w
left join ({last_place}) s on s.worker_id = w.worker_id
where w.termination_reason = 'voluntary' and w.termination_date < $t and w.termination_date >= $since
order by w.worker_id
"""
_LAST_SNAPSHOT_SQL = """
select worker_id, team_id, region from snapshots
qualify row_number() over (partition by worker_id order by snapshot_date desc) = 1
"""
_NO_SNAPSHOT_SQL = "select worker_id, team_id, region from workers where false"

_OPEN = "a.start_date < $t and (a.end_date is null or a.end_date >= $t)"

_FAMILIARITY_SQL = f"""
with primaries as (
    select distinct a.client_id, a.worker_id
    from assignments a semi join _scored s on s.worker_id = a.worker_id
    where a.role = 'primary' and {_OPEN}
),
clients as (select distinct client_id from primaries),
known as (
    select a.client_id, a.worker_id, a.role = 'secondary' and (a.end_date is null or a.end_date >= $t) as secondary,
           0 as contacts
    from assignments a semi join clients c on c.client_id = a.client_id
    where a.start_date < $t and (a.end_date is null or a.end_date >= $since)
    {{contacts}}
)
select k.client_id, k.worker_id, bool_or(k.secondary) as secondary, sum(k.contacts)::bigint as contacts_12m
from known k
group by k.client_id, k.worker_id
order by k.client_id, k.worker_id
"""
_FAMILIARITY_CONTACTS_SQL = """
    union all
    select c.client_id, c.worker_id, false, 1
    from contacts c semi join clients cl on cl.client_id = c.client_id
    where c.contact_date < $t and c.contact_date >= $since
"""

_CONTINUITY_SQL = f"""
with clients as (
    select distinct a.client_id from assignments a semi join _scored s on s.worker_id = a.worker_id where {_OPEN}
)
select i.client_id, i.new_faces_12m::bigint as new_faces_12m,
       i.distinct_workers_12m::bigint as distinct_workers_12m, i.handovers_12m::bigint as handovers_12m,
       i.team_continuity
from _indices i semi join clients c on c.client_id = i.client_id
order by i.client_id
"""

_DOMAINS_SQL = """
select distinct worker_id, domain from assignments
where start_date < $t and (end_date is null or end_date >= $since)
order by worker_id, domain
"""


def main_domains(con: duckdb.DuckDBPyConnection, reference: pd.DataFrame) -> pd.Series:
    """Main domain per worker on the worker's reference date (``reference``: worker_id, at)."""
    if reference.empty:
        return pd.Series(dtype=object)
    con.register("_reference", reference)
    try:
        domains = con.execute(_MAIN_DOMAIN_SQL).df()
    finally:
        con.unregister("_reference")
    return domains.set_index("worker_id")["domain"]


def worker_snapshot(con: duckdb.DuckDBPyConnection, t: date, snapshot: pd.DataFrame) -> pd.DataFrame:
    """The scored snapshot with each worker's main domain at t."""
    domains = main_domains(con, pd.DataFrame({"worker_id": snapshot.worker_id, "at": t}))
    return snapshot.assign(domain=snapshot.worker_id.map(domains).fillna(NO_CASELOAD))


def voluntary_leavers(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    last_place = _LAST_SNAPSHOT_SQL if has_table(con, "snapshots") else _NO_SNAPSHOT_SQL
    leavers = con.execute(_LEAVERS_SQL.format(last_place=last_place),
                          {"t": t, "since": t - timedelta(days=YEAR_DAYS)}).df()
    at_leaving = leavers[["worker_id", "termination_date"]].rename(columns={"termination_date": "at"})
    leavers["domain"] = leavers.worker_id.map(main_domains(con, at_leaving)).fillna(NO_CASELOAD)
    return leavers.drop(columns="termination_date")


def client_familiarity(con: duckdb.DuckDBPyConnection, t: date, scored: pd.Series) -> pd.DataFrame:
    contacts = _FAMILIARITY_CONTACTS_SQL if has_table(con, "contacts") else ""
    con.register("_scored", pd.DataFrame({"worker_id": scored}))
    try:
        return con.execute(_FAMILIARITY_SQL.format(contacts=contacts),
                           {"t": t, "since": t - timedelta(days=YEAR_DAYS)}).df()
    finally:
        con.unregister("_scored")


def client_continuity(con: duckdb.DuckDBPyConnection, t: date, scored: pd.Series,
                      indices: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per open client of the scored workers: new faces, distinct workers and handovers in the 52 weeks before t,
    as ``continuity_indices`` counts them (people, not employments), and the team continuity of the window.

    New faces are the sector's count of unfamiliar workers a client had to start over with, which
    distinct_workers_12m (everyone seen, long-known workers too) does not tell. ``indices``: the
    ``continuity_indices`` at t where the caller has them already (the weekly run's exposure needs them too)."""
    con.register("_scored", pd.DataFrame({"worker_id": scored}))
    con.register("_indices", continuity_indices(con, t) if indices is None else indices)
    try:
        return con.execute(_CONTINUITY_SQL, {"t": t}).df()
    finally:
        con.unregister("_scored")
        con.unregister("_indices")


def worker_domains(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    return con.execute(_DOMAINS_SQL, {"t": t, "since": t - timedelta(days=YEAR_DAYS)}).df()


def situation(con: duckdb.DuckDBPyConnection, t: date, snapshot: pd.DataFrame,
              indices: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every situation table of the published week, for the workers of ``snapshot`` (those scored); ``indices``
    as ``client_continuity`` takes them."""
    return {
        "worker_snapshot": worker_snapshot(con, t, snapshot),
        "voluntary_leavers": voluntary_leavers(con, t),
        "client_familiarity": client_familiarity(con, t, snapshot.worker_id),
        "client_continuity": client_continuity(con, t, snapshot.worker_id, indices),
        "worker_domains": worker_domains(con, t),
        "known_departures": known_departures(con, t, snapshot),
    }
