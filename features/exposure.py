"""Relational exposure: what a worker's leaving would cost the clients they hold at t.

For each open assignment of a scored worker w to a client c, the pair's exposure is

    exposure = share x provider x bond x need x discontinuity

* share = s_cw = n_cw / N_c, the worker's share of the client's encounters in the window
  (see ``continuity_indices``), and provider = 1 + USUAL_PROVIDER_BONUS when w is the
  client's usual provider (most encounters; ties go to the most recent, then worker id).
* bond = 1 - exp(-(n_cw / BOND_CONTACTS + relationship_weeks / BOND_WEEKS)): trust is
  built mostly in the first phase, so the bond rises steeply and then saturates; it rises
  faster with contacts than with calendar time, so a young but intensive relationship is
  already costly to lose (docs/evidence.md#why-continuity-matters: "a worker who leaves a
  young, intensive relationship costs the client a lot even if the relationship was short").
* need = (complexity / 3) x (1 + vulnerability + REPLACEMENT_STEP x min(replacements_24m,
  REPLACEMENT_CAP)), where vulnerability is OUT_OF_HOME_BONUS for a client placed out of
  home at t (the assignment's flag, or a placement open at t in an optional ``placements``
  table), else VULNERABLE_BONUS for any other vulnerability flag, else 0: a complex case
  weighs more, the middle of the 1-5 scale weighs 1, and a child placed out of home, more
  so one re-placed in the last 24 months (a placement after an earlier one of the same
  client), weighs above any other vulnerability.
* discontinuity = 1 + max(coc_drop, 0) + HANDOVER_STEP x min(handovers_12m, HANDOVER_CAP)
  + WORKER_STEP x min(distinct_workers_24m - 1, WORKER_CAP): the client's continuity that
  rests on w, the handovers already suffered, and every other worker the client has had to
  get used to in 24 months (counted as people, ``continuity_indices``) make one more loss
  costlier.

A *household* (``household_id`` on assignments, optional) loses its worker once for all its
members: the members a worker holds share one exposure, the largest of theirs (the loss is
as bad as it is for the most exposed member, and no worse because a sibling loses the same
person), split over the members in proportion to their own. A worker's weighted_clients
then counts the household once, while active_clients and the expected clients (p x active
clients) still count people.

coc_drop is the client's COC minus the COC of the encounters left without w. It is 0
where the client's COC is undefined (N < 2); where fewer than 2 encounters would be left,
nothing continuous remains and the COC left counts as 0, so the drop is the whole COC.

The constants are judgement, not estimates: no study found gives the relative cost of
these factors; each one's reasoning is at its definition. A worker's weighted_clients is
the sum of their pairs' exposure; expected_exposure_h = p_h x weighted_clients.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from continuity.horizons import horizons_in, risk_column
from continuity.features.continuity_indices import WINDOW_WEEKS, continuity_ctes, continuity_indices, index_parameters
from continuity.vocabulary import VULNERABILITY_FLAGS
from continuity.warehouse import has_table

# The usual provider carries the relationship: losing them costs half as much again as another worker's share.
USUAL_PROVIDER_BONUS = 0.5
# The bond is 63% built after six contacts or half a year, the first phase of a helping relationship.
BOND_CONTACTS = 6.0
BOND_WEEKS = 26.0
MIDDLE_COMPLEXITY = 3.0  # the middle of the contract's 1-5 complexity weighs 1
VULNERABLE_BONUS = 0.5  # any vulnerability flag but out-of-home: half as much need again
# A child placed out of home weighs twice the other vulnerability: such children meet about 65 care workers
# (docs/evidence.md), have already lost the continuity of their home, and the worker is often their one steady adult.
OUT_OF_HOME_BONUS = 1.0
# Each re-placement in 24 months adds a quarter, as a handover does, up to four: the sector's figure is about
# six re-placements over a whole childhood, so four in two years is already the extreme.
REPLACEMENT_STEP = 0.25
REPLACEMENT_CAP = 4
# Each handover in 12 months adds a quarter, up to four (+1): the loss piles on those already suffered.
HANDOVER_STEP = 0.25
HANDOVER_CAP = 4
# Each worker beyond the first in 24 months adds a tenth, up to ten (+1): ten in two years is the pace at which
# an out-of-home child reaches the sector's 65 workers. Below the handover's step because a handover already
# counts, and a worker who only stood in counts here too.
WORKER_STEP = 0.1
WORKER_CAP = 10

# Followed by expected_exposure_<h>w for each horizon p_<h>w the risk frame carries.
WORKER_EXPOSURE_COLUMNS = ("worker_id", "active_clients", "vulnerable_clients", "mean_relationship_weeks",
                           "weighted_clients")
CLIENT_EXPOSURE_COLUMNS = ("worker_id", "client_id", "household_id", "role", "domain", "complexity", "vulnerable",
                           "flag_out_of_home", "replacements_24m", "need", "relationship_weeks", "contact_share",
                           "usual_provider", "upc", "coc", "secon", "mmci", "kpc", "team_continuity",
                           "distinct_workers_12m", "handovers_12m", "distinct_workers_24m", "coc_drop", "exposure")

# Per client: placed out of home at t (a placement open at t) and re-placements in the 104 weeks before t,
# from rows dated before t; a placement ending at or after t is still open.
_PLACEMENTS_SQL = """
    select client_id, bool_or(end_date is null or end_date >= $t) as placed,
           count(*) filter (where placement_date > first_placement and placement_date >= $two_years_start)
               as replacements_24m
    from (select client_id, placement_date, end_date,
                 min(placement_date) over (partition by client_id) as first_placement
          from placements where placement_date < $t)
    group by client_id
"""
_NO_PLACEMENTS_SQL = "select null::varchar as client_id, false as placed, 0 as replacements_24m where false"

_PAIRS_SQL = f"""
open_pairs as (
    select a.worker_id, a.client_id,
           min(a.role) as role,  -- 'primary' when the worker holds any primary role
           arg_max(a.domain, a.start_date) as domain,
           arg_max(a.complexity, a.start_date) as complexity,
           {{household}} as household_id,
           bool_or({" or ".join(VULNERABILITY_FLAGS)}) as flagged,
           bool_or(a.flag_out_of_home) as flag_out_of_home
    from assignments a semi join _risk r on r.worker_id = a.worker_id
    where a.start_date < $t and (a.end_date is null or a.end_date >= $t)
    group by a.worker_id, a.client_id
),
placement_state as ({{placements}}),
open_carers as (
    select o.worker_id, o.client_id, coalesce(k.carer, o.worker_id) as carer
    from open_pairs o left join carers k on k.worker_id = o.worker_id
),
relationships as (  -- since the person first cared for the client, under any employment
    select o.worker_id, o.client_id, datediff('day', min(s.since), $t) / 7.0 as relationship_weeks
    from open_carers o join (
        select a.client_id, coalesce(k.carer, a.worker_id) as carer, min(a.start_date) as since
        from assignments a left join carers k on k.worker_id = a.worker_id
        where a.start_date < $t group by all
        union all
        select client_id, carer, min(encounter_date) from encounters group by all
    ) s on s.client_id = o.client_id and s.carer = o.carer
    group by o.worker_id, o.client_id
),
usual as (
    select client_id, carer from (
        select client_id, carer, row_number() over (
                   partition by client_id order by n desc, last_encounter desc, carer) as place
        from pairs)
    where place = 1
)
select o.worker_id, o.client_id, o.role, o.domain, o.complexity, o.household_id,
       o.flag_out_of_home or coalesce(pl.placed, false) as flag_out_of_home,
       o.flagged or coalesce(pl.placed, false) as vulnerable,
       coalesce(pl.replacements_24m, 0) as replacements_24m, r.relationship_weeks,
       coalesce(p.n, 0) as n_cw, coalesce(ct.n_total, 0) as n_c, coalesce(ct.n_squared, 0) as n_squared,
       coalesce(p.n / ct.n_total, 0.0) as contact_share,
       u.carer is not null as usual_provider,
       i.upc, i.coc, i.secon, i.mmci, i.kpc, i.team_continuity, i.distinct_workers_12m, i.handovers_12m,
       i.distinct_workers_24m
from open_pairs o
join open_carers oc on oc.worker_id = o.worker_id and oc.client_id = o.client_id
join relationships r on r.worker_id = o.worker_id and r.client_id = o.client_id
left join pairs p on p.client_id = o.client_id and p.carer = oc.carer
left join client_totals ct on ct.client_id = o.client_id
left join usual u on u.client_id = o.client_id and u.carer = oc.carer
join _indices i on i.client_id = o.client_id
left join placement_state pl on pl.client_id = o.client_id
order by o.worker_id, o.client_id
"""


def coc_without(n_total: pd.Series, n_squared: pd.Series, n_removed: pd.Series) -> pd.Series:
    """The client's COC once one worker's encounters are gone; 0 when fewer than two are left."""
    left = n_total - n_removed
    squares_left = n_squared - n_removed**2
    defined = left >= 2
    return pd.Series(np.where(defined, (squares_left - left) / np.where(defined, left * (left - 1), 1), 0.0),
                     index=n_total.index)


def client_need(complexity: pd.Series, vulnerable: pd.Series, out_of_home: pd.Series,
                replacements_24m: pd.Series) -> pd.Series:
    """The need factor of the module docstring; published with each client, so that handover
    plans weigh a client who cannot be placed by the same need."""
    vulnerability = np.where(out_of_home.astype(bool), OUT_OF_HOME_BONUS,
                             VULNERABLE_BONUS * vulnerable.astype(float))
    replaced = REPLACEMENT_STEP * replacements_24m.clip(upper=REPLACEMENT_CAP)
    return complexity / MIDDLE_COMPLEXITY * (1 + vulnerability + replaced)


def pair_exposure(pairs: pd.DataFrame) -> pd.Series:
    """The formula of the module docstring for one pair alone (before a household shares it), for pairs
    carrying the client_exposure columns and n_cw."""
    provider = 1 + USUAL_PROVIDER_BONUS * pairs.usual_provider.astype(float)
    bond = 1 - np.exp(-(pairs.n_cw / BOND_CONTACTS + pairs.relationship_weeks / BOND_WEEKS))
    discontinuity = (1 + pairs.coc_drop.clip(lower=0) + HANDOVER_STEP * pairs.handovers_12m.clip(upper=HANDOVER_CAP)
                     + WORKER_STEP * (pairs.distinct_workers_24m - 1).clip(lower=0, upper=WORKER_CAP))
    need = client_need(pairs.complexity, pairs.vulnerable, pairs.flag_out_of_home, pairs.replacements_24m)
    return pairs.contact_share * provider * bond * need * discontinuity


def household_exposure(pairs: pd.DataFrame, exposure: pd.Series) -> pd.Series:
    """``exposure`` with the members of one household held by one worker sharing one loss: together they
    weigh the largest member's exposure, split in proportion to their own; pairs without a household
    keep theirs."""
    members = exposure[pairs.household_id.notna()]
    keys = [pairs.worker_id[members.index], pairs.household_id[members.index]]
    largest, total = members.groupby(keys).transform("max"), members.groupby(keys).transform("sum")
    shared = members * np.divide(largest, total, out=np.ones(len(members)), where=total.to_numpy() > 0)
    return exposure.where(pairs.household_id.isna(), shared)


def relational_exposure(
    con: duckdb.DuckDBPyConnection, t: date, risk: pd.DataFrame, indices: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(worker_exposure, client_exposure) at t for the workers in ``risk`` (worker_id and p_<h>w columns).

    ``indices``: the ``continuity_indices`` at t where the caller has them already (the weekly run's situation
    tables need them too); otherwise they are computed here.

    Every worker in ``risk`` gets a worker row, with zeros when they hold no open case, and
    an expected exposure per horizon: P(leaving within h weeks) x weighted clients.
    """
    household = "arg_max(a.household_id, a.start_date)" if _has_column(con, "assignments", "household_id") \
        else "null::varchar"
    placements = _PLACEMENTS_SQL if has_table(con, "placements") else _NO_PLACEMENTS_SQL
    sql = f"with {continuity_ctes(con)}, {_PAIRS_SQL.format(household=household, placements=placements)}"
    con.register("_risk", risk[["worker_id"]])
    con.register("_indices", continuity_indices(con, t) if indices is None else indices)
    try:
        pairs = con.execute(sql, index_parameters(t, WINDOW_WEEKS)).df()
    finally:
        con.unregister("_risk")
        con.unregister("_indices")
    pairs["coc_drop"] = np.where(pairs.coc.notna(),
                                 pairs.coc - coc_without(pairs.n_c, pairs.n_squared, pairs.n_cw), 0.0)
    pairs["need"] = client_need(pairs.complexity, pairs.vulnerable, pairs.flag_out_of_home, pairs.replacements_24m)
    pairs["exposure"] = household_exposure(pairs, pair_exposure(pairs))
    clients = pairs[list(CLIENT_EXPOSURE_COLUMNS)].reset_index(drop=True)

    per_worker = clients.groupby("worker_id").agg(
        active_clients=("client_id", "nunique"),
        vulnerable_clients=("vulnerable", "sum"),
        mean_relationship_weeks=("relationship_weeks", "mean"),
        weighted_clients=("exposure", "sum"),
    )
    horizons = horizons_in(risk.columns)
    workers = risk[["worker_id", *map(risk_column, horizons)]].merge(per_worker, on="worker_id", how="left")
    workers = workers.fillna({"active_clients": 0, "vulnerable_clients": 0,
                              "mean_relationship_weeks": 0.0, "weighted_clients": 0.0})
    workers = workers.astype({"active_clients": "int64", "vulnerable_clients": "int64"})
    expected = [f"expected_exposure_{h}w" for h in horizons]
    for h, column in zip(horizons, expected):
        workers[column] = workers[risk_column(h)] * workers.weighted_clients
    return workers[[*WORKER_EXPOSURE_COLUMNS, *expected]], clients


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether the warehouse's ``table`` has ``column``: the contract's optional columns may be absent."""
    rows = con.execute("select count(*) from information_schema.columns where table_name = ? and column_name = ?",
                       [table, column]).fetchall()
    return bool(rows[0][0])
