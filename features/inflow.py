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

**Where voluntary leavers go.** Each voluntary exit carries its destination (``features.destinations``:
``move`` to another employment of the sector within ``MOVE_WINDOW_WEEKS``, ``sector`` when it left the
sector, ``censored`` while the window runs, ``unknown`` without a ``person_key``), so that the moves and
the leavers of the sector are forecast from the same cells as the exits. A destination is known only once
the window has passed, so they are counted up to ``MOVE_WINDOW_WEEKS`` before the data end (``moves_until``).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from continuity.features.destinations import MOVE_WINDOW_WEEKS, availability, exit_destinations
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
    return con.execute("select min(termination_date) from workers").fetchall()[0][0]


def flows(con: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """kind (``hire`` or ``exit``), day, worker_id and the cell columns of every hire and exit dated in [start, end)."""
    cells = con.execute(_WORKER_CELLS).df()
    parts = []
    for kind, column in (("hire", "hire_date"), ("exit", "termination_date")):
        day = pd.to_datetime(cells[column])
        inside = cells[(day >= pd.Timestamp(start)) & (day < pd.Timestamp(end))]
        parts.append(inside.assign(kind=kind, day=pd.to_datetime(inside[column]))[["kind", "day", "worker_id",
                                                                                     *CELL_COLUMNS]])
    return pd.concat(parts, ignore_index=True)


def with_destinations(con: duckdb.DuckDBPyConnection, events: pd.DataFrame, known_by: date) -> pd.DataFrame:
    """``events`` (of ``flows``) with each voluntary exit's ``destination`` as a run on ``known_by`` knows it
    (``exit_destinations``); null for hires and the other exits. An exit more than ``MOVE_WINDOW_WEEKS``
    before ``known_by`` has the destination any later run gives it: the new employment that makes it a move
    starts within the window."""
    found = exit_destinations(con, known_by).set_index("worker_id")["destination"]
    exits = events["kind"] == "exit"
    return events.assign(destination=events["worker_id"].map(found).where(exits).astype(object))


def why_no_moves(con: duckdb.DuckDBPyConnection, first: pd.Timestamp, end: pd.Timestamp) -> str | None:
    """Why moves and leavers of the sector cannot be forecast at ``end`` (the export cannot tell a move, or
    under ``MIN_WEEKS`` of exits with a known destination), None where they can."""
    found = availability(con)
    if not found.known:
        return found.reason
    weeks = (moves_until(end) - first).days / 7
    if weeks < MIN_WEEKS:
        return (f"the export records exits with a known destination (over {MOVE_WINDOW_WEEKS} weeks before the "
                f"data end) over {max(weeks, 0):.0f} weeks, fewer than the {MIN_WEEKS} a rate is counted over")
    return None


def moves_until(end: pd.Timestamp) -> pd.Timestamp:
    """The end of the window moves are counted in: every voluntary exit before it has a known destination."""
    return pd.Timestamp(end) - pd.Timedelta(weeks=MOVE_WINDOW_WEEKS)


def _vacancy_clients_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Per date t of ``dates``, the clients waiting on a vacancy open at t; nothing without vacancies."""
    if not has_table(con, "vacancies"):
        return "select null::date as t, null::varchar as client_id where false"
    return """
        select distinct d.t, a.client_id
        from vacancies v join workers w on w.worker_id = v.vacated_by
        join assignments a on a.worker_id = v.vacated_by
        join dates d on v.opened_on < d.t and (v.filled_on is null or v.filled_on >= d.t)
                    and w.termination_date < d.t
        where a.start_date <= w.termination_date and (a.end_date is null or a.end_date >= w.termination_date)
    """


MASK_WEEKS = 128
"""The weeks one pass can tell contacts in: a case's contact weeks are the bits of one 128-bit number."""


def _clients_sql(con: duckdb.DuckDBPyConnection) -> str:
    """One row per date t of ``$dates`` and client with a case open at t (``clients_at``), all dates in one
    pass: a sector's 13 past dates each scanning its 150 million contacts took most of a week's inflow
    tables. Whether a case's worker has seen the client in the 13 weeks before t is a bit test: each pair of
    client and worker carries the weeks it had contacts in (counted back from the last date, ``$last``) as
    the bits of one number, so the dates must be whole weeks apart and span under ``MASK_WEEKS`` (``_spans``)."""
    if not has_table(con, "contacts"):
        raise ValueError("the export has no contacts: who has seen a client cannot be told")
    days = 7 * STEADY_WEEKS
    return f"""
    with dates as (select unnest($dates::date[]) as t),
    cells as ({_WORKER_CELLS}),
    contact_weeks as (  -- bit w: a contact in the w-th week before $last
        select client_id, worker_id,
               bit_or(1::uhugeint << ((cast($last as date) - contact_date - 1) // 7)::uhugeint) as weeks
        from contacts
        where contact_date >= cast($first as date) - {days} and contact_date < cast($last as date)
        group by client_id, worker_id
    ),
    open_cases as (
        select d.t, a.client_id, a.worker_id, a.domain, a.role, a.start_date,
               w.hire_date < d.t and (w.termination_date is null or w.termination_date >= d.t)
               and (c.weeks >> ((cast($last as date) - d.t) // 7)::uhugeint)
                   & {(1 << STEADY_WEEKS) - 1}::uhugeint <> 0 as seen
        from assignments a join workers w using (worker_id)
        join dates d on a.start_date < d.t and (a.end_date is null or a.end_date >= d.t)
        left join contact_weeks c on c.client_id = a.client_id and c.worker_id = a.worker_id
    ),
    lead as (
        select t, client_id, coalesce(bool_or(seen), false) as steady,
               arg_max({{'worker_id': worker_id, 'domain': domain}}, (role = 'primary', start_date)) as lead
        from open_cases group by t, client_id
    ),
    waiting as ({_vacancy_clients_sql(con)})
    select l.t as date, l.client_id, not l.steady as unseen, v.client_id is not null as vacancy,
           c.region, c.occupation, l.lead.domain as domain, c.organisation_id
    from lead l join cells c on c.worker_id = l.lead.worker_id
    left join waiting v on v.t = l.t and v.client_id = l.client_id
    """


def _spans(dates: list[date]) -> list[dict]:
    """The query parameters of ``_clients_sql`` for ``dates``, in as few passes as their span allows."""
    ordered = sorted(set(dates))
    if any((b - a).days % 7 for a, b in zip(ordered, ordered[1:])):
        raise ValueError("the dates of the clients without a steady worker must be whole weeks apart")
    spans: list[list[date]] = []
    for t in ordered:
        if spans and (t - spans[-1][0]).days // 7 + STEADY_WEEKS <= MASK_WEEKS:
            spans[-1].append(t)
        else:
            spans.append([t])
    return [{"dates": span, "first": span[0], "last": span[-1]} for span in spans]


def clients_at(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    """One row per client with a case open at t: client_id, unseen, vacancy (bools) and the cell columns
    (domain of the case; region, occupation and organisation of its primary worker, else of any worker)."""
    sql = f"select * exclude (date) from ({_clients_sql(con)}) order by client_id"
    return con.execute(sql, *_spans([t])).df()


def client_counts(con: duckdb.DuckDBPyConnection, dates: list[date]) -> pd.DataFrame:
    """``clients_at`` on each of ``dates``, counted per date and combination of the cell columns: ``open``
    clients, of whom ``without`` a steady worker (unseen or waiting on a vacancy) and ``vacancy`` (waiting on
    one). What the forecasts read: a sector's open clients are hundreds of thousands of rows a date, their
    combinations of cells some thousands."""
    sql = f"""
    select date, {", ".join(CELL_COLUMNS)}, count(*) as open, count(*) filter (where unseen or vacancy) as without,
           count(*) filter (where vacancy) as vacancy
    from ({_clients_sql(con)}) group by all order by all
    """
    counts = pd.concat([con.execute(sql, span).df() for span in _spans(dates)], ignore_index=True)
    return counts.assign(date=pd.to_datetime(counts["date"]))


GROUPINGS = {"region": "region", "organisation": "organisation_id", "domain": "domain", "occupation": "occupation"}
"""The published groupings and their cell columns: the aggregates' (``forecasts.aggregates.GROUPINGS``)."""
SECTOR = "sector"
"""The grouping (and key) of the whole sector as one cell."""
MIN_WEEKS = 26
"""The least history (from the first recorded leaver to the data end) a rate is counted over: a half year."""
GAP_DATES = 13
GAP_SPACING_WEEKS = 4
"""The past dates of the clients without a steady worker: the year before the data end, four weeks apart (every
season, and far enough apart that a leaver's clients wait on one date only: vacancies last 2-13 weeks), as the
backtest takes them (``benchmarks/sector_inflow.py``)."""


def inflow_history(con: duckdb.DuckDBPyConnection, as_of: date) -> dict:
    """What the week's inflow forecasts (``forecasts.inflow_table``) read at ``as_of`` (the data end's next day),
    as that function's arguments: the hires and exits since the first recorded leaver (each with every
    grouping's cell and the sector), the open clients on the past dates, and why either cannot be forecast (no
    leaver recorded, under ``MIN_WEEKS`` of history, no contacts), None where they can. The exits carry their
    destination (``with_destinations``), counted for the moves up to ``moves_until`` (``why_moves`` says why
    not: no ``person_key``, one employer, too short a history)."""
    end = pd.Timestamp(as_of)
    first = records_from(con)
    first = None if first is None else pd.Timestamp(first)
    history = {"end": end, "first": first, "events": None, "why_flows": _why_no_flows(first, end),
               "past_clients": None, "gap_weeks": None, "why_gap": None, "moves_until": moves_until(end),
               "why_moves": None}
    if history["why_flows"] is None:
        events = with_destinations(con, flows(con, first.date(), end.date()), as_of).assign(**{SECTOR: SECTOR})
        history["events"] = events.assign(day=pd.to_datetime(events["day"]))
        history["why_moves"] = why_no_moves(con, first, end)
    if not has_table(con, "contacts"):
        return history | {"why_gap": "the export has no contacts: who has seen a client cannot be told"}
    start = pd.Timestamp(con.execute("select min(contact_date) from contacts").fetchall()[0][0] or end)
    dates = [end - pd.Timedelta(weeks=GAP_SPACING_WEEKS * k) for k in range(GAP_DATES)]
    dates = [t for t in dates if t - pd.Timedelta(weeks=STEADY_WEEKS) >= start]  # 13 weeks of contacts behind
    if not dates:
        return history | {"why_gap": f"the export's contacts span less than {STEADY_WEEKS} weeks: who has seen a "
                                     f"client in the last {STEADY_WEEKS} weeks cannot be told"}
    past = client_counts(con, [t.date() for t in dates]).assign(**{SECTOR: SECTOR})
    return history | {"past_clients": past, "gap_weeks": (end - min(dates)).days / 7 or float(GAP_SPACING_WEEKS)}


def _why_no_flows(first: pd.Timestamp | None, end: pd.Timestamp) -> str | None:
    if first is None:
        return "the export records no leaver: hires and exits cannot be counted from a known start"
    weeks = (end - first).days / 7
    if weeks < MIN_WEEKS:
        return (f"the export records hires and exits over {weeks:.0f} weeks (from its first leaver on), fewer than "
                f"the {MIN_WEEKS} a rate is counted over")
    return None
