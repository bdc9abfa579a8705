"""Relational-continuity indices per client at a cut-off t (docs/definitions.md#continuity-indices).

An *encounter* is a contact in the window [t - window, t). A client with no contacts
in the window (or an export without a ``contacts`` table) gets one encounter per week
of the window in which an assignment to a worker ran, dated at the start of that week:
the assignment-weeks of the brief. With N encounters, n_j with worker j, K workers:

* UPC = max_j n_j / N;
* COC (Bice-Boxerman) = (sum_j n_j^2 - N) / (N (N - 1)); undefined for N < 2 and then NULL,
  shown as "not enough contacts" rather than as good or bad continuity;
* SECON = share of consecutive encounter pairs with the same worker; NULL for N < 2;
* MMCI = (1 - K / (N + 0.1)) / (1 - 1 / (N + 0.1));
* KPC = share of encounters with a worker the client already knew in the year before the
  window (a contact, or an assignment running then); NULL for a client who knew nobody
  then, because a new client cannot yet have a familiar face to keep;
* team_continuity (TCI) = max over teams T of the share of encounters given by the client's
  ``TEAM_FACES`` most-seen carers of T (a carer's team is that of their latest employment
  at t, after the team moves dated before t). The per-person indices score care shared
  by a small, stable team as poor continuity, although the sector accepts it (good practice
  is one steady professional *or* a small team the client knows). TCI credits it: a client
  who sees the same two or three colleagues of one team scores 1, whereas a team that
  keeps sending new faces, or care spread over teams, scores low. With one carer, or every
  carer in another team, it equals UPC, and it is never below UPC (T's best carer alone is
  one of its faces). NULL without encounters;
* distinct_workers_12m, new_faces_12m (workers the client first met, by an assignment
  that began or a first contact, in that year: the unfamiliar faces a client had to start
  over with) and handovers_12m (assignments ended by 'handover' or 'worker_left') over the
  52 weeks before t, whatever the window; distinct_workers_24m likewise over the 104 weeks
  before t (the exposure's count of workers a client has already had to get used to).

Workers are counted as people, not employments: where the export gives a ``person_key``,
every employment of one person is one *carer*. A team that follows its work to the
tender's winner under new employee numbers is then no new face and no handover to its
clients: an assignment ended while the same person takes the client on again within
``CONTINUED_WITHIN_DAYS`` is not counted as a handover. Without a person key each
employment is its own carer, as before.

Only rows dated before t are read; an assignment ending at or after t counts as open.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.warehouse import has_table

YEAR_DAYS = 364
WINDOW_WEEKS = 52
HANDOVER_END_REASONS = ("handover", "worker_left")
# A transfer ends one employment and starts the next a day later; a week allows for exports that
# date the new assignment at the next Monday.
CONTINUED_WITHIN_DAYS = 7
# The faces of one team a client can know as "their" team: judgement, from the sector's good practice of
# one steady professional per household, backed by at most two colleagues who know the client (for
# leave, evenings, a second opinion). A fourth face is no longer a small team from the client's side.
TEAM_FACES = 3

INDEX_COLUMNS = ("client_id", "encounters", "source", "upc", "coc", "secon", "mmci", "kpc", "team_continuity",
                 "distinct_workers_12m", "new_faces_12m", "handovers_12m", "distinct_workers_24m")

_NO_CONTACTS = "(select null::varchar as client_id, null::varchar as worker_id, null::date as contact_date where false)"

# A carer's team at t: the team of their latest employment hired before t, after its team moves dated before t.
_CARER_TEAMS = """
select coalesce(k.carer, w.worker_id) as carer,
       arg_max(coalesce(m.team_id, w.team_id), w.hire_date) as team_id
from workers w
left join carers k on k.worker_id = w.worker_id
left join (select worker_id, arg_max(detail, event_date) as team_id from hr_events
           where event_type = 'team_move' and event_date < $t group by worker_id) m on m.worker_id = w.worker_id
where w.hire_date < $t
group by all
"""
_NO_TEAMS = "select null::varchar as carer, null::varchar as team_id where false"

_CTES = """
carers as ({carers}),
open_clients as (
    select distinct client_id from assignments
    where start_date < $t and (end_date is null or end_date >= $t)
),
contact_encounters as (
    select c.client_id, coalesce(k.carer, c.worker_id) as carer, c.contact_date as encounter_date
    from {contacts} c semi join open_clients o on c.client_id = o.client_id
    left join carers k on k.worker_id = c.worker_id
    where c.contact_date >= $window_start and c.contact_date < $t
),
window_weeks as (
    select cast($t as date) - 7 * cast(k as integer) as week_start from range(1, $window_weeks + 1) as r(k)
),
uncontacted as materialized (  -- the window's assignments of open clients without contacts, before their weeks
    select a.client_id, a.worker_id, a.start_date, a.end_date from assignments a
    semi join open_clients o on o.client_id = a.client_id
    anti join (select distinct client_id from contact_encounters) e on e.client_id = a.client_id
    where a.start_date < $t and (a.end_date is null or a.end_date >= $window_start)
),
assignment_encounters as (
    select distinct a.client_id, coalesce(k.carer, a.worker_id) as carer, w.week_start as encounter_date
    from uncontacted a
    left join carers k on k.worker_id = a.worker_id
    join window_weeks w on a.start_date < w.week_start + 7 and (a.end_date is null or a.end_date >= w.week_start)
),
encounters as (
    select *, 'contacts' as source from contact_encounters
    union all
    select *, 'assignment_weeks' as source from assignment_encounters
),
pairs as (
    select client_id, carer, count(*) as n, max(encounter_date) as last_encounter
    from encounters group by client_id, carer
),
sources as (select distinct client_id, source from encounters),
client_totals as (
    select client_id, sum(n) as n_total, count(*) as workers, sum(n * n) as n_squared, max(n) as n_max
    from pairs group by client_id
),
sequences as (
    select client_id, avg(cast(carer = previous as integer)) as secon
    from (select client_id, carer,
                 lag(carer) over (partition by client_id order by encounter_date, carer) as previous
          from encounters)
    where previous is not null
    group by client_id
),
contact_history as (  -- every pair of an open client and a worker who had contacts before t, in one scan
    select c.client_id, c.worker_id, min(c.contact_date) as first_contact, max(c.contact_date) as last_contact,
           bool_or(c.contact_date >= $prior_start and c.contact_date < $window_start) as in_prior_year
    from {contacts} c semi join open_clients o on c.client_id = o.client_id
    where c.contact_date < $t
    group by c.client_id, c.worker_id
),
familiar as (
    select f.client_id, coalesce(k.carer, f.worker_id) as carer from (
        select client_id, worker_id from contact_history where in_prior_year
        union
        select client_id, worker_id from assignments a semi join open_clients o using (client_id)
        where start_date < $window_start and (end_date is null or end_date >= $prior_start)
    ) f left join carers k on k.worker_id = f.worker_id
),
known_provider as (
    select p.client_id,
           sum(p.n) filter (where f.carer is not null) as familiar_encounters
    from pairs p left join (select distinct client_id, carer from familiar) f
        on f.client_id = p.client_id and f.carer = p.carer
    group by p.client_id
),
knew_someone as (select distinct client_id from familiar),
carer_teams as ({carer_teams}),
team_faces as (  -- per client and team, the client's TEAM_FACES most-seen carers of that team
    select p.client_id, coalesce(ct.team_id, 'carer:' || p.carer) as team_id, p.n
    from pairs p left join carer_teams ct on ct.carer = p.carer
    qualify row_number() over (partition by p.client_id, coalesce(ct.team_id, 'carer:' || p.carer)
                               order by p.n desc, p.last_encounter desc, p.carer) <= {team_faces}
),
team_continuity as (
    select client_id, max(n_team) as n_team
    from (select client_id, team_id, sum(n) as n_team from team_faces group by all)
    group by client_id
),
year_workers as (
    select y.client_id,
           count(distinct coalesce(k.carer, y.worker_id)) filter (where y.recent) as distinct_workers_12m,
           count(distinct coalesce(k.carer, y.worker_id)) as distinct_workers_24m
    from (
        select client_id, worker_id, end_date is null or end_date >= $year_start as recent
        from assignments a semi join open_clients o using (client_id)
        where start_date < $t and (end_date is null or end_date >= $two_years_start)
        union all
        select client_id, worker_id, last_contact >= $year_start from contact_history
        where last_contact >= $two_years_start
    ) y left join carers k on k.worker_id = y.worker_id
    group by y.client_id
),
year_new_faces as (
    select client_id, count(*) as new_faces_12m from (
        select m.client_id, coalesce(k.carer, m.worker_id) as carer, min(m.first_met) as first_met from (
            select client_id, worker_id, start_date as first_met
            from assignments a semi join open_clients o using (client_id) where start_date < $t
            union all
            select client_id, worker_id, first_contact from contact_history
        ) m left join carers k on k.worker_id = m.worker_id
        group by all
    ) where first_met >= $year_start
    group by client_id
),
year_handovers as (
    select a.client_id, count(*) as handovers_12m
    from assignments a left join carers ka on ka.worker_id = a.worker_id
    where a.end_reason in {handover_reasons} and a.end_date >= $year_start and a.end_date < $t
      and not exists (
          select 1 from assignments b left join carers kb on kb.worker_id = b.worker_id
          where b.client_id = a.client_id and b.worker_id <> a.worker_id
            and coalesce(kb.carer, b.worker_id) = coalesce(ka.carer, a.worker_id)
            and b.start_date >= a.end_date and b.start_date <= a.end_date + {continued_within})
    group by a.client_id
),
indices as (
    select
        o.client_id,
        cast(coalesce(ct.n_total, 0) as bigint) as encounters,
        src.source,
        ct.n_max / ct.n_total as upc,
        case when ct.n_total >= 2
             then (ct.n_squared - ct.n_total) / (ct.n_total * (ct.n_total - 1)) end as coc,
        s.secon,
        (1 - ct.workers / (ct.n_total + 0.1)) / (1 - 1 / (ct.n_total + 0.1)) as mmci,
        case when ks.client_id is not null
             then coalesce(kp.familiar_encounters, 0) / ct.n_total end as kpc,
        tc.n_team / ct.n_total as team_continuity,
        coalesce(yw.distinct_workers_12m, 0) as distinct_workers_12m,
        coalesce(yn.new_faces_12m, 0) as new_faces_12m,
        coalesce(yh.handovers_12m, 0) as handovers_12m,
        coalesce(yw.distinct_workers_24m, 0) as distinct_workers_24m
    from open_clients o
    left join client_totals ct on ct.client_id = o.client_id
    left join sources src on src.client_id = o.client_id
    left join sequences s on s.client_id = o.client_id
    left join known_provider kp on kp.client_id = o.client_id
    left join knew_someone ks on ks.client_id = o.client_id
    left join team_continuity tc on tc.client_id = o.client_id
    left join year_workers yw on yw.client_id = o.client_id
    left join year_new_faces yn on yn.client_id = o.client_id
    left join year_handovers yh on yh.client_id = o.client_id
)
"""


def continuity_ctes(con: duckdb.DuckDBPyConnection) -> str:
    """The CTEs ``encounters``, ``pairs``, ``client_totals`` and ``indices``, for queries that build on them.

    Run with ``index_parameters(t, window_weeks)``.
    """
    contacts = "contacts" if has_table(con, "contacts") else _NO_CONTACTS
    reasons = "(" + ", ".join(f"'{r}'" for r in HANDOVER_END_REASONS) + ")"
    teams = _CARER_TEAMS if has_table(con, "workers") and has_table(con, "hr_events") else _NO_TEAMS
    return _CTES.format(contacts=contacts, handover_reasons=reasons, carers=_carers(con), carer_teams=teams,
                        team_faces=TEAM_FACES, continued_within=CONTINUED_WITHIN_DAYS)


def _carers(con: duckdb.DuckDBPyConnection) -> str:
    """worker_id -> carer: the person key where the export gives one, else the employment itself."""
    if has_table(con, "workers") and "person_key" in con.table("workers").columns:
        return "select worker_id, coalesce(person_key, worker_id) as carer from workers"
    return "select null::varchar as worker_id, null::varchar as carer where false"


def index_parameters(t: date, window_weeks: int) -> dict:
    if window_weeks < 1:
        raise ValueError("window_weeks must be at least 1")
    window_start = t - timedelta(weeks=window_weeks)
    return {"t": t, "window_weeks": window_weeks, "window_start": window_start,
            "prior_start": window_start - timedelta(days=YEAR_DAYS), "year_start": t - timedelta(days=YEAR_DAYS),
            "two_years_start": t - timedelta(days=2 * YEAR_DAYS)}


def continuity_indices(con: duckdb.DuckDBPyConnection, t: date, window_weeks: int = WINDOW_WEEKS) -> pd.DataFrame:
    """One row per client with an open assignment at t: ``INDEX_COLUMNS``."""
    sql = f"with {continuity_ctes(con)} select {', '.join(INDEX_COLUMNS)} from indices order by client_id"
    return con.execute(sql, index_parameters(t, window_weeks)).df()
