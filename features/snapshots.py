"""Point-in-time snapshots of every active worker, and their survival labels.

The features at a Monday t use only rows dated before t (see ``snapshot_sql``); the
labels look ahead by construction and live in their own table so that no model can
read them as a feature by accident.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.features.snapshot_sql import DATA_END_SQL, LABELS_SQL, SNAPSHOT_SQL
from continuity.warehouse import has_table

# The windowed features (sick leave, overtime, moves) need history before t: begin the
# calendar half a year after the observation start.
WARM_UP_WEEKS = 26


def snapshot_at(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    """The features of every worker active at t, exactly as ``build_snapshots`` stores them."""
    return con.execute(SNAPSHOT_SQL, {"dates": [t]}).df()


def data_end(con: duckdb.DuckDBPyConnection) -> date:
    """The last date on which the export records anything: where labels are censored."""
    contacts = ", (select max(contact_date) from contacts)" if has_table(con, "contacts") else ""
    end = con.execute(DATA_END_SQL.format(contacts=contacts)).fetchall()[0][0]
    if end is None:
        raise ValueError("the warehouse holds no dated rows: ingest an export first")
    return end


def weekly_dates(
    con: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None, every_weeks: int = 1
) -> list[date]:
    """Mondays t with start <= t < end, every ``every_weeks`` weeks.

    By default the calendar begins ``WARM_UP_WEEKS`` after the observation start and
    stops before the data end, where every label would be censored at zero weeks. The
    observation start is the later of the first hire and the first recorded leaving:
    an export lists the workers employed during its period, so hire dates reach back
    for decades while those who left before the period are missing, and snapshots
    before the first leaving would see a population of survivors.
    """
    if every_weeks < 1:
        raise ValueError("every_weeks must be at least 1")
    if start is None:
        observed_from = con.execute(
            "select greatest(min(hire_date), min(termination_date)) from workers"
        ).fetchall()[0][0]
        start = observed_from + timedelta(weeks=WARM_UP_WEEKS)
    end = end or data_end(con)
    monday = start + timedelta(days=-start.weekday() % 7)
    dates = []
    while monday < end:
        dates.append(monday)
        monday += timedelta(weeks=every_weeks)
    return dates


def build_snapshots(
    con: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None, every_weeks: int = 1
) -> int:
    """Replace the ``snapshots`` and ``labels`` tables for the weekly calendar; returns the row count.

    Labels are censored at ``end`` when given, else at the data end.
    """
    censor_at = end or data_end(con)
    dates = weekly_dates(con, start, censor_at, every_weeks)
    con.execute("begin transaction")
    try:
        con.execute(f"create or replace table snapshots as {SNAPSHOT_SQL}", {"dates": dates})
        con.execute(f"create or replace table labels as {LABELS_SQL}", {"dates": dates, "data_end": censor_at})
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return con.execute("select count(*) from snapshots").fetchall()[0][0]
