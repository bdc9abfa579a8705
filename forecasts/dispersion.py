"""How much colleagues leave together, estimated each week from the published weeks whose horizon has passed.

The weekly run keeps every published week's probabilities in the warehouse (``risk_scores``,
with each worker's team and organisation), and the contract's ``workers`` table records who
left voluntarily and when. Per horizon, the published weeks at least the horizon before the
data end are past cohorts with a known outcome; ``estimate_frailty`` turns their teams',
organisations' and whole weeks' realised against expected leavers into the frailty variances the week's
aggregate intervals simulate with. They are published with the week (``interval_frailty``),
so the service, which reads only the published week, uses what the run estimated.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.forecasts.intervals import Frailty, estimate_frailty
from continuity.horizons import HORIZONS, risk_column
from continuity.models.targets import EVENT
from continuity.warehouse import has_table

PAST_COHORTS = 8
"""Past published weeks per horizon: two years of quarterly cohorts, enough teams (every team of
every cohort informs the estimate) while the sector's way of leaving is still today's."""
COHORT_SPACING_WEEKS = 13
"""Cohorts a quarter apart: consecutive weeks share nearly every worker and leaver, so they would
add cost and hardly any information."""


def past_cohorts(con: duckdb.DuckDBPyConnection, data_end: date, horizon: int) -> pd.DataFrame:
    """cohort, organisation_id, team_id, p, left: the published weeks whose ``horizon`` the data covers,
    newest first, ``COHORT_SPACING_WEEKS`` apart, at most ``PAST_COHORTS``; empty if none."""
    empty = pd.DataFrame(columns=["cohort", "organisation_id", "team_id", "p", "left"])
    if not has_table(con, "risk_scores"):
        return empty
    weeks = [d for (d,) in con.execute("select distinct score_date from risk_scores where score_date <= $known_by "
                                       "order by score_date desc",
                                       {"known_by": data_end - timedelta(weeks=horizon)}).fetchall()]
    cohorts: list[date] = []
    for week in weeks:
        if len(cohorts) < PAST_COHORTS and (not cohorts or cohorts[-1] - week >= timedelta(weeks=COHORT_SPACING_WEEKS)):
            cohorts.append(week)
    if not cohorts:
        return empty
    return con.execute(
        f"""select r.score_date as cohort, r.organisation_id, r.team_id, r."{risk_column(horizon)}" as p,
                   coalesce(w.termination_reason = $event and w.termination_date >= r.score_date
                            and w.termination_date < r.score_date + $days, false) as "left"
            from risk_scores r left join workers w using (worker_id)
            where r.score_date in (select unnest($cohorts)) and r."{risk_column(horizon)}" is not null""",
        {"event": EVENT, "days": timedelta(weeks=horizon), "cohorts": cohorts}).df()


def frailty_table(con: duckdb.DuckDBPyConnection, data_end: date) -> pd.DataFrame:
    """The published ``interval_frailty``: per horizon with past cohorts, the estimated variances."""
    rows = []
    for h in HORIZONS:
        past = past_cohorts(con, data_end, h)
        if len(past):
            frailty = estimate_frailty(past)
            rows.append({"horizon": h, "team": frailty.team, "organisation": frailty.organisation,
                         "sector": frailty.sector, "cohorts": int(past["cohort"].nunique())})
    return pd.DataFrame(rows, columns=["horizon", "team", "organisation", "sector", "cohorts"])


def published_frailty(table: pd.DataFrame, horizon: int) -> Frailty:
    """The week's frailty at ``horizon``; none (independent workers) where no past cohort informed one. A week
    published before the sector's frailty was estimated has none (0)."""
    row = table[table["horizon"] == horizon]
    if row.empty:
        return Frailty()
    sector = float(row["sector"].iloc[0]) if "sector" in row else 0.0
    return Frailty(float(row["team"].iloc[0]), float(row["organisation"].iloc[0]), sector)
