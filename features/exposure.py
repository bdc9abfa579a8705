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
* need = (complexity / 3) x (1 + VULNERABLE_BONUS if any vulnerability flag): a complex
  case weighs more, the middle of the 1-5 scale weighs 1.
* discontinuity = 1 + max(coc_drop, 0) + HANDOVER_STEP x min(handovers_12m, HANDOVER_CAP):
  the client's continuity that rests on w, and the handovers already suffered, make one
  more loss costlier.

coc_drop is the client's COC minus the COC of the encounters left without w. It is 0
where the client's COC is undefined (N < 2); where fewer than 2 encounters would be left,
nothing continuous remains and the COC left counts as 0, so the drop is the whole COC.

The constants are judgement, not estimates: no study found gives the relative cost of
these factors. A worker's weighted_clients is the sum of their pairs' exposure;
expected_exposure_h = p_h x weighted_clients.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from continuity.horizons import horizons_in, risk_column
from continuity.features.continuity_indices import WINDOW_WEEKS, continuity_ctes, index_parameters
from continuity.vocabulary import VULNERABILITY_FLAGS

USUAL_PROVIDER_BONUS = 0.5
BOND_CONTACTS = 6.0
BOND_WEEKS = 26.0
MIDDLE_COMPLEXITY = 3.0
VULNERABLE_BONUS = 0.5
HANDOVER_STEP = 0.25
HANDOVER_CAP = 4

# Followed by expected_exposure_<h>w for each horizon p_<h>w the risk frame carries.
WORKER_EXPOSURE_COLUMNS = ("worker_id", "active_clients", "vulnerable_clients", "mean_relationship_weeks",
                           "weighted_clients")
CLIENT_EXPOSURE_COLUMNS = ("worker_id", "client_id", "role", "domain", "complexity", "vulnerable", "need",
                           "relationship_weeks", "contact_share", "usual_provider", "upc", "coc", "secon", "mmci",
                           "kpc", "distinct_workers_12m", "handovers_12m", "coc_drop", "exposure")

_PAIRS_SQL = f"""
open_pairs as (
    select a.worker_id, a.client_id,
           min(a.role) as role,  -- 'primary' when the worker holds any primary role
           arg_max(a.domain, a.start_date) as domain,
           arg_max(a.complexity, a.start_date) as complexity,
           bool_or({" or ".join(VULNERABILITY_FLAGS)}) as vulnerable
    from assignments a semi join _risk r on r.worker_id = a.worker_id
    where a.start_date < $t and (a.end_date is null or a.end_date >= $t)
    group by a.worker_id, a.client_id
),
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
select o.*, r.relationship_weeks,
       coalesce(p.n, 0) as n_cw, coalesce(ct.n_total, 0) as n_c, coalesce(ct.n_squared, 0) as n_squared,
       coalesce(p.n / ct.n_total, 0.0) as contact_share,
       u.carer is not null as usual_provider,
       i.upc, i.coc, i.secon, i.mmci, i.kpc, i.distinct_workers_12m, i.handovers_12m
from open_pairs o
join open_carers oc on oc.worker_id = o.worker_id and oc.client_id = o.client_id
join relationships r on r.worker_id = o.worker_id and r.client_id = o.client_id
left join pairs p on p.client_id = o.client_id and p.carer = oc.carer
left join client_totals ct on ct.client_id = o.client_id
left join usual u on u.client_id = o.client_id and u.carer = oc.carer
join indices i on i.client_id = o.client_id
order by o.worker_id, o.client_id
"""


def coc_without(n_total: pd.Series, n_squared: pd.Series, n_removed: pd.Series) -> pd.Series:
    """The client's COC once one worker's encounters are gone; 0 when fewer than two are left."""
    left = n_total - n_removed
    squares_left = n_squared - n_removed**2
    defined = left >= 2
    return pd.Series(np.where(defined, (squares_left - left) / np.where(defined, left * (left - 1), 1), 0.0),
                     index=n_total.index)


def client_need(complexity: pd.Series, vulnerable: pd.Series) -> pd.Series:
    """The need factor of the module docstring; published with each client, so that handover
    plans weigh a client who cannot be placed by the same need."""
    return complexity / MIDDLE_COMPLEXITY * (1 + VULNERABLE_BONUS * vulnerable.astype(float))


def pair_exposure(pairs: pd.DataFrame) -> pd.Series:
    """The formula of the module docstring, for pairs carrying the client_exposure columns and n_cw."""
    provider = 1 + USUAL_PROVIDER_BONUS * pairs.usual_provider.astype(float)
    bond = 1 - np.exp(-(pairs.n_cw / BOND_CONTACTS + pairs.relationship_weeks / BOND_WEEKS))
    discontinuity = 1 + pairs.coc_drop.clip(lower=0) + HANDOVER_STEP * pairs.handovers_12m.clip(upper=HANDOVER_CAP)
    need = client_need(pairs.complexity, pairs.vulnerable)
    return pairs.contact_share * provider * bond * need * discontinuity


def relational_exposure(
    con: duckdb.DuckDBPyConnection, t: date, risk: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(worker_exposure, client_exposure) at t for the workers in ``risk`` (worker_id and p_<h>w columns).

    Every worker in ``risk`` gets a worker row, with zeros when they hold no open case, and
    an expected exposure per horizon: P(leaving within h weeks) x weighted clients.
    """
    con.register("_risk", risk[["worker_id"]])
    try:
        pairs = con.execute(f"with {continuity_ctes(con)}, {_PAIRS_SQL}", index_parameters(t, WINDOW_WEEKS)).df()
    finally:
        con.unregister("_risk")
    pairs["coc_drop"] = np.where(pairs.coc.notna(),
                                 pairs.coc - coc_without(pairs.n_c, pairs.n_squared, pairs.n_cw), 0.0)
    pairs["need"] = client_need(pairs.complexity, pairs.vulnerable)
    pairs["exposure"] = pair_exposure(pairs)
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
