"""The frames the sector aggregates and scenarios are computed from, read from the warehouse.

``aggregate_forecast`` wants one row per scored worker with every grouping column
(region, organisation, main domain, occupation), the published probabilities and the
worker's weighted clients, and one row per worker who left in the year before the score
date with the same groupings. Region and occupation come from the snapshot at the score
date (a team move changes the region), so they agree with what the model scored.

A worker's *main domain* is the domain of most of their open primary cases; a worker
with none is put under ``NO_CASELOAD`` rather than dropped, so the cells of every grouping
still add up to the same total. The observed outflow counts voluntary leaving only, the
event the probabilities forecast; a leaver's domain is read on their last working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.features.snapshots import snapshot_at
from continuity.warehouse import has_table

NO_CASELOAD = "no caseload"
OUTFLOW_WINDOW_DAYS = 364
NEEDED_TABLES = ("risk_scores", "worker_exposure", "workers", "assignments")

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

_SCORED_SQL = """
select r.worker_id, columns('^p_[0-9]+w$'), coalesce(e.weighted_clients, 0) as weighted_clients
from risk_scores r left join worker_exposure e on e.worker_id = r.worker_id and e.score_date = r.score_date
where r.score_date = $t
"""

_LEAVERS_SQL = """
select worker_id, organisation_id, region, occupation, termination_date
from workers
where termination_reason = 'voluntary' and termination_date < $t and termination_date >= $since
"""


@dataclass(frozen=True)
class SectorFrame:
    """The scored workers of one week and last year's voluntary leavers, each with every grouping column."""

    score_date: date
    workers: pd.DataFrame  # worker_id, organisation_id, region, occupation, domain, p_<h>w per horizon, weighted_clients
    leavers: pd.DataFrame  # worker_id, organisation_id, region, occupation, domain
    snapshot: pd.DataFrame  # the model's input at the score date, for re-scoring scenarios


class MissingTables(LookupError):
    """The warehouse lacks the contract tables the aggregates are built from."""


def _main_domains(con: duckdb.DuckDBPyConnection, reference: pd.DataFrame) -> pd.Series:
    """Main domain per worker on the worker's reference date (``reference``: worker_id, at)."""
    if reference.empty:
        return pd.Series(dtype=object)
    con.register("_reference", reference)
    try:
        domains = con.execute(_MAIN_DOMAIN_SQL).df()
    finally:
        con.unregister("_reference")
    return domains.set_index("worker_id")["domain"]


def sector_frame(con: duckdb.DuckDBPyConnection, score_date: date) -> SectorFrame:
    """The aggregates' input for the published week ``score_date``; raises MissingTables without the contract tables."""
    missing = [table for table in NEEDED_TABLES if not has_table(con, table)]
    if missing:
        raise MissingTables(f"the warehouse has no {', '.join(missing)} table: aggregates need the ingested "
                            "contract tables next to the published scores")
    scored = con.execute(_SCORED_SQL, {"t": score_date}).df()
    # A week published before a horizon was added has that column empty: it was not published then.
    scored = scored.dropna(axis="columns", how="all")
    snapshot = snapshot_at(con, score_date)
    snapshot = snapshot[snapshot.worker_id.isin(scored.worker_id)].reset_index(drop=True)
    workers = scored.merge(snapshot[["worker_id", "organisation_id", "region", "occupation"]], on="worker_id")
    workers["domain"] = workers.worker_id.map(
        _main_domains(con, pd.DataFrame({"worker_id": workers.worker_id, "at": score_date}))).fillna(NO_CASELOAD)

    leavers = con.execute(_LEAVERS_SQL, {"t": score_date,
                                         "since": score_date - timedelta(days=OUTFLOW_WINDOW_DAYS)}).df()
    leavers["domain"] = leavers.worker_id.map(_main_domains(
        con, leavers[["worker_id", "termination_date"]].rename(columns={"termination_date": "at"}))).fillna(NO_CASELOAD)
    return SectorFrame(score_date, workers, leavers.drop(columns="termination_date"), snapshot)
