"""The point-in-time feature query, written once for a calendar of any length.

``snapshot_at`` runs it with one date and ``build_snapshots`` with every Monday, so a
single snapshot and the weekly table can never disagree. Every join reads a row only
when the column that dates it (``dated_by`` in ``features/contract.py``) lies before the
snapshot date t; the ``also_dated`` columns are only ever compared as "before t" or
"at or after t", so any value at or after t reads the same as "not yet known":

* a termination at or after t leaves the worker active;
* an assignment ending at or after t is open;
* a sick spell's days are counted up to ``least(end_date + 1, t)``, so a spell ending
  at or after t is ongoing and clipped at t.

A ``contract_renewal``'s ``end_date`` is the planned end of the new contract, fixed when
the renewal is signed, and is read as such (like ``workers.contract_end_date``).

The query is parameterised by ``$dates`` (a DATE list). Caps keep the model features
free of NULLs: "weeks since" an event that never happened is the weeks since hire;
weeks are capped at ``WEEKS_CAP`` and funding months at ``FUNDING_MONTHS_CAP``.
"""

from __future__ import annotations

from continuity.features.feature_spec import RECORDED_FEATURES
from continuity.vocabulary import CASELOAD_NORM_PER_FTE, COMPLEX_CASE_MIN, VULNERABILITY_FLAGS

WEEKS_CAP = 520
FUNDING_MONTHS_CAP = 120
STARTER_WEEKS = 104
DAYS_PER_MONTH = 365.25 / 12

ID_COLUMNS = ("worker_id", "snapshot_date", "organisation_id", "team_id", "region", "occupation")
SNAPSHOT_COLUMNS = ID_COLUMNS + tuple(name for name in RECORDED_FEATURES if name not in ID_COLUMNS)

_ANY_VULNERABILITY = " or ".join(VULNERABILITY_FLAGS)

# A worker's funding is their team's market chain when the ``teams`` table names the team (``tf``): the
# contracts of the same organisation, municipality and domain, as the synthetic sector's hazard reads it.
# Otherwise (no teams table, or a team it lacks) it is the organisation's chain over all its markets.
_FUNDING_SCOPE = ("{alias}.municipality is not distinct from tf.municipality "
                  "and {alias}.domain is not distinct from tf.domain")

# The calendar and the workers active at each of its dates.
_ACTIVE = """
calendar as (select unnest($dates::date[]) as snapshot_date),
active as (
    select w.*, c.snapshot_date
    from workers w join calendar c on w.hire_date < c.snapshot_date
    where w.termination_date is null or w.termination_date >= c.snapshot_date
),
"""

# Worker state that changes by hr_events: each change holds from the day after its event_date until the next
# change of its kind. One timeline per worker of every day something changed, each day carrying the latest
# change of every kind so far (a struct, so that a change recording no value still replaces the one before)
# and in force until the next such day (``superseded``): one range join per snapshot, not one per kind (five
# range joins were half the features build at 150,000 positions). A range join on these intervals is much faster than
# DuckDB's ASOF join at this shape.
_STATE_CHANGES = {
    "team": (("team_move",), "struct_pack(team_id := detail)"),
    "fte": (("fte_change",), "struct_pack(fte := value)"),
    "renewal": (("contract_renewal",), "struct_pack(contract_type := detail, contract_end_date := end_date)"),
    # a step and a promotion on one day: the greater detail, deterministically
    "scale": (("scale_step", "promotion"), "struct_pack(scale_step := detail, event_date := event_date)"),
    "manager": (("manager_change",), "struct_pack(event_date := event_date)"),
}
_WORKER_STATES = f"""
    select worker_id, event_date,
           {", ".join(f"last_value({kind} ignore nulls) over running as {kind}" for kind in _STATE_CHANGES)},
           lead(event_date, 1, date '9999-12-31') over (partition by worker_id order by event_date) as superseded
    from (
        select worker_id, event_date, {", ".join(f"max({kind}) as {kind}" for kind in _STATE_CHANGES)}
        from (
            {" union all ".join(
                f"select worker_id, event_date, "
                + ", ".join(f"{value} as {k}" if k == kind else f"null as {k}" for k in _STATE_CHANGES)
                + " from hr_events where event_type in (" + ", ".join(f"'{e}'" for e in event_types) + ")"
                for kind, (event_types, value) in _STATE_CHANGES.items())}
        )
        group by worker_id, event_date
    )
    window running as (partition by worker_id order by event_date rows unbounded preceding)
"""


def _in_force(alias: str, on: str) -> str:
    return f"{alias}.worker_id = a.worker_id and {on} > {alias}.event_date and {on} <= {alias}.superseded"


# What does not depend on the calendar: each worker's state changes and open cases over time, the leavers and
# the first awards. ``build_snapshots`` makes them tables once and runs ``DATED_SNAPSHOT_SQL`` over the calendar
# a block of dates at a time; ``SNAPSHOT_SQL`` holds them as CTEs, for one date.
DATE_FREE_TABLES = {
    "worker_states": _WORKER_STATES,
    "primary_cases": f"""
    select worker_id, client_id, start_date, end_date, complexity,
           cast(complexity >= {COMPLEX_CASE_MIN} as integer) as is_complex, {_ANY_VULNERABILITY} as vulnerable
    from assignments where role = 'primary'
""",
    "vulnerable_spans": f"""
    -- a vulnerable client counts once while any of their primary cases with the worker is open: such
    -- cases of one worker and client that overlap or touch merge into one span (gaps and islands)
    select worker_id, min(start_date) as start_date, max(end_date) as end_date
    from (
        select *, sum(cast(coalesce(start_date > reached, true) as integer)) over (
                      partition by worker_id, client_id order by start_date, end_date
                      rows unbounded preceding) as span
        from (
            select worker_id, client_id, start_date, coalesce(end_date, date '9999-12-31') as end_date,
                   max(coalesce(end_date, date '9999-12-31')) over (
                       partition by worker_id, client_id order by start_date, coalesce(end_date, date '9999-12-31')
                       rows between unbounded preceding and 1 preceding) as reached
            from primary_cases where vulnerable
        )
    )
    group by worker_id, client_id, span
""",
    "case_changes": f"""
    -- a case is open at t when start_date < t <= end_date: it adds to the caseload from the day after
    -- its start and leaves it from the day after its end, so the open cases at t are running sums of
    -- these changes, with no row per case and week
    select worker_id, start_date as event_date, 1 as cases, complexity, is_complex, 0 as vulnerable
    from primary_cases
    union all
    select worker_id, end_date, -1, -complexity, -is_complex, 0 from primary_cases where end_date is not null
    union all
    select worker_id, start_date, 0, 0, 0, 1 from vulnerable_spans
    union all
    select worker_id, end_date, 0, 0, 0, -1 from vulnerable_spans where end_date < date '9999-12-31'
""",
    "open_cases": f"""
    -- the open cases from the day after each change until the next (``superseded``), as the state CTEs
    select worker_id, event_date,
           cast(sum(sum(cases)) over running as bigint) as caseload,
           cast(sum(sum(complexity)) over running as bigint) as complexity_total,
           cast(sum(sum(is_complex)) over running as bigint) as complex_cases,
           cast(sum(sum(vulnerable)) over running as bigint) as vulnerable_clients,
           lead(event_date, 1, date '9999-12-31') over (partition by worker_id order by event_date) as superseded
    from case_changes
    group by worker_id, event_date
    window running as (partition by worker_id order by event_date rows unbounded preceding)
""",
    "leavers": f"""
    -- a leaver counts for the team they were in when they left
    select a.termination_date, coalesce(ws.team.team_id, a.team_id) as team_id
    from workers a
    left join worker_states ws on {_in_force("ws", "a.termination_date")}
    where a.termination_date is not null
""",
    "first_award": f"""
    select organisation_id, null::varchar as municipality, null::varchar as domain, min(awarded_date) as first_awarded
    from funding_contracts group by organisation_id
    union all
    select organisation_id, municipality, domain, min(awarded_date)
    from funding_contracts where exists (select 1 from teams) group by organisation_id, municipality, domain
""",
}

_DATED_CTES = f"""
state as (
    select
        a.*,
        coalesce(ws.team.team_id, a.team_id) as team_at_t,
        coalesce(ws.fte.fte, a.fte) as fte_at_t,
        coalesce(ws.renewal.contract_type, a.contract_type) as contract_type_at_t,
        case when ws.renewal is null then a.contract_end_date else ws.renewal.contract_end_date end
            as contract_end_at_t,
        coalesce(cast(split_part(ws.scale.scale_step, '-', 1) as integer), a.pay_scale) as pay_scale_at_t,
        coalesce(ws.scale.event_date, a.hire_date) as last_scale_change,
        ws.manager.event_date as last_manager_change
    from active a
    left join worker_states ws on {_in_force("ws", "a.snapshot_date")}
),
windowed_events as (
    -- the weeks t each event can count in, after ``known`` and before ``reach``: the 52 weeks after it (a
    -- sick spell's after its end); a month's overtime only from the month's end to 13 weeks after its first
    -- day. Overtime is most of the events (one a month per worker): joining it to 13 weeks, not 52, is
    -- what keeps this join from growing with the sector times a year of weeks.
    select worker_id, event_type, event_date, end_date, value,
           case when event_type = 'overtime'
                then cast(date_trunc('month', event_date) + interval 1 month as date) - 1
                else event_date end as known,
           case when event_type = 'sick_leave' then coalesce(end_date, date '9999-12-30') + 365
                when event_type = 'overtime' then event_date + 92
                else event_date + 365 end as reach
    from hr_events
    where event_type in ('sick_leave', 'overtime', 'manager_change', 'team_move')
),
event_windows as (
    select
        e.worker_id, c.snapshot_date,
        count(*) filter (where e.event_type = 'manager_change' and e.event_date >= c.snapshot_date - 364)
            as manager_changes_52w,
        count(*) filter (where e.event_type = 'team_move' and e.event_date >= c.snapshot_date - 364)
            as team_moves_52w,
        -- a month's overtime is dated on its first day but known only once the month is over: count
        -- the months that ended before t, not the one running (whose record betrays who left in it)
        sum(e.value) filter (where e.event_type = 'overtime' and e.event_date >= c.snapshot_date - 91
                             and date_trunc('month', e.event_date) + interval 1 month <= c.snapshot_date)
            as overtime_hours_13w,
        sum(greatest(0, datediff('day', greatest(e.event_date, c.snapshot_date - 91),
                                 least(e.end_date + 1, c.snapshot_date))))
            filter (where e.event_type = 'sick_leave') / 7.0 as sick_weeks_13w,
        sum(greatest(0, datediff('day', greatest(e.event_date, c.snapshot_date - 364),
                                 least(e.end_date + 1, c.snapshot_date))))
            filter (where e.event_type = 'sick_leave') / 7.0 as sick_weeks_52w,
        count(*) filter (where e.event_type = 'sick_leave'
                         and least(e.end_date + 1, c.snapshot_date) > c.snapshot_date - 364)
            as sick_spells_52w
    from windowed_events e
    join calendar c on c.snapshot_date > e.known and c.snapshot_date < e.reach
    group by e.worker_id, c.snapshot_date
),
team_leavers as (
    select l.team_id, c.snapshot_date, count(*) as team_leavers_26w
    from leavers l
    join calendar c on l.termination_date < c.snapshot_date and l.termination_date >= c.snapshot_date - 182
    group by l.team_id, c.snapshot_date
),
running_funding as (
    -- contracts known at t that have not ended: the island of back-to-back contracts
    -- (each starting by the day after the running end) that contains t is the funding
    select f.*, c.snapshot_date
    from funding_contracts f
    join calendar c on f.awarded_date < c.snapshot_date and f.end_date >= c.snapshot_date
),
funding_scoped as (
    -- whose funding: the organisation's contracts (market null), and, where the teams table names a team's
    -- market, that market's contracts of the organisation (``_FUNDING_SCOPE`` picks per worker)
    select organisation_id, null::varchar as municipality, null::varchar as domain,
           contract_id, start_date, end_date, snapshot_date
    from running_funding
    union all
    select organisation_id, municipality, domain, contract_id, start_date, end_date, snapshot_date
    from running_funding
    where exists (select 1 from teams)
),
funding_islands as (
    select *, sum(cast(coalesce(start_date > reached + 1, true) as integer)) over (
                  partition by organisation_id, municipality, domain, snapshot_date
                  order by start_date, end_date, contract_id rows unbounded preceding) as island
    from (
        select *, max(end_date) over (
                      partition by organisation_id, municipality, domain, snapshot_date
                      order by start_date, end_date, contract_id
                      rows between unbounded preceding and 1 preceding) as reached
        from funding_scoped
    )
),
funding_end as (
    select organisation_id, municipality, domain, snapshot_date, max(end_date) as funding_end
    from funding_islands
    group by organisation_id, municipality, domain, snapshot_date, island
    having min(start_date) <= snapshot_date
),
lost_tenders as (
    select distinct own.organisation_id, own.snapshot_date
    from running_funding own
    join funding_contracts other
      on other.municipality = own.municipality and other.domain = own.domain
     and other.organisation_id <> own.organisation_id
     and other.awarded_date < own.snapshot_date and other.start_date > own.end_date
    where own.start_date <= own.snapshot_date
),
"""


_FEATURES = f"""
features as (
    select
        s.worker_id, s.snapshot_date, s.organisation_id, s.team_at_t as team_id, s.region, s.occupation,
        datediff('day', s.hire_date, s.snapshot_date) / 7.0 as tenure_weeks,
        case when year(s.snapshot_date) - s.birth_year < 25 then '<25'
             when year(s.snapshot_date) - s.birth_year < 35 then '25-34'
             when year(s.snapshot_date) - s.birth_year < 45 then '35-44'
             when year(s.snapshot_date) - s.birth_year < 55 then '45-54'
             else '55+' end as age_band,
        s.gender,
        cast(s.contract_type_at_t <> 'permanent' as integer) as is_temporary,
        case when s.contract_type_at_t = 'permanent' or s.contract_end_at_t is null then {WEEKS_CAP}
             else least({WEEKS_CAP}, greatest(0, datediff('day', s.snapshot_date, s.contract_end_at_t) / 7.0))
        end as weeks_to_contract_end,
        s.fte_at_t as fte,
        s.pay_scale_at_t as pay_scale,
        coalesce(oc.caseload, 0) as caseload,
        coalesce(oc.caseload, 0) / ({CASELOAD_NORM_PER_FTE} * s.fte_at_t) as caseload_ratio,
        case when oc.caseload > 0 then oc.complexity_total / oc.caseload else 0.0 end as mean_complexity,
        case when datediff('day', s.hire_date, s.snapshot_date) < {STARTER_WEEKS} * 7 and oc.caseload > 0
             then oc.complex_cases / oc.caseload else 0.0 end as complex_share_starter,
        coalesce(oc.vulnerable_clients, 0) as vulnerable_clients,
        coalesce(ew.sick_weeks_13w, 0.0) as sick_weeks_13w,
        coalesce(ew.sick_weeks_52w, 0.0) as sick_weeks_52w,
        coalesce(ew.sick_spells_52w, 0) as sick_spells_52w,
        coalesce(ew.overtime_hours_13w, 0.0) as overtime_hours_13w,
        least({WEEKS_CAP}, datediff('day', s.last_scale_change, s.snapshot_date) / 7.0) as weeks_since_scale_step,
        -- the manager a worker was hired under is no change: without an event the cap stands
        coalesce(least({WEEKS_CAP}, datediff('day', s.last_manager_change, s.snapshot_date) / 7.0), {WEEKS_CAP})
            as weeks_since_manager_change,
        coalesce(ew.manager_changes_52w, 0) as manager_changes_52w,
        coalesce(ew.team_moves_52w, 0) as team_moves_52w,
        coalesce(tl.team_leavers_26w, 0) as team_leavers_26w,
        case when fe.funding_end is not null
                 then least({FUNDING_MONTHS_CAP},
                            datediff('day', s.snapshot_date, fe.funding_end) / {DAYS_PER_MONTH})
             when fa.first_awarded < s.snapshot_date then 0.0
             else {FUNDING_MONTHS_CAP}.0 end as months_to_funding_end,
        cast(lt.organisation_id is not null as integer) as lost_tender
    from state s
    left join open_cases oc on oc.worker_id = s.worker_id and s.snapshot_date > oc.event_date
                          and s.snapshot_date <= oc.superseded
    left join event_windows ew on ew.worker_id = s.worker_id and ew.snapshot_date = s.snapshot_date
    left join team_leavers tl on tl.team_id = s.team_at_t and tl.snapshot_date = s.snapshot_date
    left join teams tf on tf.team_id = s.team_at_t
    left join funding_end fe on fe.organisation_id = s.organisation_id and fe.snapshot_date = s.snapshot_date
                            and {_FUNDING_SCOPE.format(alias='fe')}
    left join first_award fa on fa.organisation_id = s.organisation_id and {_FUNDING_SCOPE.format(alias='fa')}
    left join lost_tenders lt on lt.organisation_id = s.organisation_id and lt.snapshot_date = s.snapshot_date
)
"""

_SELECT = f"select {', '.join(SNAPSHOT_COLUMNS)} from features order by snapshot_date, worker_id"
SNAPSHOT_SQL = (
    "with" + _ACTIVE + "".join(f"{name} as ({body}),\n" for name, body in DATE_FREE_TABLES.items())
    + _DATED_CTES + _FEATURES + _SELECT
)
"""One row per worker active at each date in ``$dates``: ``SNAPSHOT_COLUMNS``."""
DATED_SNAPSHOT_SQL = "with" + _ACTIVE + _DATED_CTES + _FEATURES + _SELECT
"""``SNAPSHOT_SQL`` reading ``DATE_FREE_TABLES`` as tables of those names."""

LABELS_SQL = (
    "with" + _ACTIVE.rstrip().rstrip(",")
    + """
select worker_id, snapshot_date,
       datediff('day', snapshot_date,
                case when termination_date <= $data_end then termination_date else $data_end end) / 7.0
           as duration_weeks,
       case when termination_date <= $data_end then termination_reason else 'censored' end as exit_reason
from active
order by snapshot_date, worker_id
"""
)
"""Weeks from t to leaving, censored at ``$data_end``; the same active set as ``SNAPSHOT_SQL``."""

DATA_END_SQL = """
select greatest(
    (select max(greatest(hire_date, termination_date)) from workers),
    (select max(event_date) from hr_events),
    (select max(greatest(start_date, end_date)) from assignments)
    {contacts})
"""
"""The last date the export records anything happening (planned future dates excluded)."""
