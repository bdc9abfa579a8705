"""Point-in-time snapshots of every active worker, and their survival labels.

The features at a Monday t use only rows dated before t (see ``snapshot_sql``); the
labels look ahead by construction and live in their own table so that no model can
read them as a feature by accident.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.features.feature_spec import DERIVED
from continuity.features.snapshot_sql import (DATA_END_SQL, DATE_FREE_TABLES, DATED_SNAPSHOT_SQL, LABELS_SQL,
                                             SNAPSHOT_SQL)
from continuity.vocabulary import TERMINATION_REASONS
from continuity.warehouse import has_table, large_build, transaction

# The windowed features (sick leave, overtime, moves) need history before t: begin the
# calendar half a year after the observation start.
WARM_UP_WEEKS = 26
BLOCK_ROWS = 1_000_000
"""Snapshot rows built per query: the feature joins of a whole sector's calendar at once hold more than the
warehouse's memory limit (4 GB ran out at 20,000 positions over five years, 4.5M rows), while blocks of a
million rows, built one after another, kept within it at 20,000 and at 150,000 positions (33.7M rows)."""


def snapshot_at(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    """The features of every worker active at t, exactly as ``build_snapshots`` stores them."""
    return con.execute(SNAPSHOT_SQL, {"dates": [t]}).df()


def score_date(con: duckdb.DuckDBPyConnection) -> date:
    """This week's list: the first Monday after the last recorded day, so every row of the export counts."""
    last_recorded = data_end(con)
    return last_recorded + timedelta(days=7 - last_recorded.weekday())


def score_snapshot(con: duckdb.DuckDBPyConnection, t: date) -> pd.DataFrame:
    """``snapshot_at(con, t)`` for the week to score: the ``score_snapshot`` table ``build_snapshots`` made beside
    the calendar's snapshots when it is of t (its date-free parts were tables then: over a sector's whole history,
    making them again was most of the time scoring took), else the query."""
    if has_table(con, "score_snapshot"):
        rows = con.execute("select * from score_snapshot where snapshot_date = ?", [t]).df()
        if len(rows):
            return rows
    return snapshot_at(con, t)


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
    """Replace the ``snapshots`` and ``labels`` tables for the weekly calendar, and ``score_snapshot`` for the
    week to score (``score_date``); returns the calendar's row count.

    Labels are censored at ``end`` when given, else at the data end. The snapshots are those of
    ``SNAPSHOT_SQL`` (``snapshot_at`` runs it), built from its date-free parts made tables once and a
    block of dates at a time (``BLOCK_ROWS``).
    """
    censor_at = end or data_end(con)
    dates = weekly_dates(con, start, censor_at, every_weeks)
    with large_build(con), transaction(con), date_free_tables(con):
        for i, block in enumerate(date_blocks(con, dates)):
            into = "create or replace table snapshots as" if i == 0 else "insert into snapshots"
            con.execute(f"{into} {DATED_SNAPSHOT_SQL}", {"dates": block})
        con.execute(f"create or replace table labels as {LABELS_SQL}", {"dates": dates, "data_end": censor_at})
        check_labels(con)
        con.execute(f"create or replace table score_snapshot as {DATED_SNAPSHOT_SQL}", {"dates": [score_date(con)]})
    return con.execute("select count(*) from snapshots").fetchall()[0][0]


@contextmanager
def date_free_tables(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``DATE_FREE_TABLES`` as temporary tables of this connection while the snapshots are built."""
    try:
        for name, body in DATE_FREE_TABLES.items():
            con.execute(f"create or replace temp table {name} as {body}")
        yield
    finally:
        for name in DATE_FREE_TABLES:
            con.execute(f"drop table if exists temp.{name}")


def date_blocks(con: duckdb.DuckDBPyConnection, dates: list[date], rows: int | None = None) -> list[list[date]]:
    """The calendar in consecutive blocks of about ``rows`` (``BLOCK_ROWS``) snapshot rows each (at least one
    date a block; one empty block for an empty calendar), sized by the most workers ever employed at once."""
    most = con.execute("""
        select coalesce(max(employed), 0) from (
            select sum(sum(change)) over (order by day rows unbounded preceding) as employed
            from (select hire_date as day, 1 as change from workers
                  union all select termination_date + 1, -1 from workers where termination_date is not null)
            group by day)""").fetchall()[0][0]
    per_block = max(1, (rows or BLOCK_ROWS) // max(1, most))
    return [dates[i:i + per_block] for i in range(0, len(dates), per_block)] or [[]]


# Labels look ahead, so a malformed one silently corrupts every model trained on it. They are checked once,
# here, where they are built (in SQL, whatever the sector's size); the models then read them as they are.
_LABEL_PROBLEMS_SQL = """
select
    (select count(*) from (select 1 from labels group by worker_id, snapshot_date having count(*) > 1)),
    (select count(*) from labels where duration_weeks is null or duration_weeks < 0),
    (select count(*) from labels where exit_reason is null or not list_contains($reasons, exit_reason)),
    (select count(*) from snapshots s anti join labels l using (worker_id, snapshot_date))
"""


def check_labels(con: duckdb.DuckDBPyConnection) -> None:
    """Fail (rolling the build back) unless every snapshot row has exactly one label with a duration of at
    least 0 and a known exit reason."""
    counts = con.execute(_LABEL_PROBLEMS_SQL, {"reasons": [*TERMINATION_REASONS, "censored"]}).fetchone()
    problems = [f"{n} {what}" for n, what in zip(counts, (
        "(worker, week) keys with more than one label", "labels without a duration of at least 0",
        "labels with an exit reason outside the vocabulary", "snapshot rows without a label")) if n]
    if problems:
        raise ValueError("the labels just built are unusable: " + "; ".join(problems))


# Training reads every other snapshot week: the forecasters fit on every fourth (their `thin_every`), which
# these rows keep exactly, while the calibration stretch and the test weeks, scored on every row read, lose
# little (a worker's neighbouring weeks share almost every feature and the very same exit) and cost half.
TRAINING_EVERY_WEEKS = 2
# The workers a run trains and evaluates on, at most; smaller sectors use all their workers. Five years of
# a sector hold about 2.2 workers per position, so every worker of a sector up to some 9,000 positions is
# kept, and a sector of 150,000 fits on about 400,000 rows (the 2,000-position bench sector fits on 88,000).
# `continuity bench scale --sample-curve` measures the rule for it (the smallest sample whose
# validation C-index is within 0.002 of the largest's); README "Scale" gives what was measured so far.
TRAINING_SAMPLE_WORKERS = 20_000
# The snapshot columns training and evaluation read besides the model inputs: the row's key, and the
# attributes the fairness audit and the proxy check group by (never model inputs).
AUDIT_COLUMNS = ("worker_id", "snapshot_date", "occupation", "gender", "age_band", "is_temporary")

_TRAINING_ROWS_SQL = """
with sampled as (
    select worker_id from (select distinct worker_id from snapshots)
    order by md5($seed || ':' || worker_id) limit $workers
), last_week as (select max(snapshot_date) as last from snapshots)
select {columns}, l.duration_weeks, l.exit_reason{oracle}
from snapshots s
join labels l using (worker_id, snapshot_date)
{oracle_join}
where s.worker_id in (select worker_id from sampled)
  and datediff('day', s.snapshot_date, (select last from last_week)) % (7 * $every) = 0
order by s.snapshot_date, s.worker_id
"""


def training_rows(
    con: duckdb.DuckDBPyConnection,
    features: Sequence[str],
    workers: int | None = TRAINING_SAMPLE_WORKERS,
    every_weeks: int = TRAINING_EVERY_WEEKS,
    seed: int = 0,
    oracle: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Snapshots, labels and (with ``oracle``) the oracle's hazards of the rows training and evaluation use.

    One query, so that no whole table is read into memory: the labels joined to their snapshot rows; the
    workers a deterministic sample (``workers`` of them, ordered by a hash of ``seed`` and their id, so the
    same export gives the same sample in every run and a worker keeps all their weeks); every
    ``every_weeks``-th snapshot week counted back from the latest; only the model inputs (``features``) and
    ``AUDIT_COLUMNS``. None for ``workers``: all of them. The oracle frame is None without ``oracle`` or
    without an ``oracle_hazard`` table.
    """
    if every_weeks < 1:
        raise ValueError("every_weeks must be at least 1")
    # a derived input (feature_spec.DERIVED) is computed by the models from the recorded column it thresholds
    recorded = [DERIVED[name].source if name in DERIVED else name for name in features]
    columns = list(dict.fromkeys([*AUDIT_COLUMNS, *recorded]))
    with_oracle = oracle and has_table(con, "oracle_hazard")
    sql = _TRAINING_ROWS_SQL.format(
        columns=", ".join(f"s.{c}" for c in columns),
        oracle=", o.hazard_voluntary, o.hazard_other" if with_oracle else "",
        oracle_join=("left join oracle_hazard o on o.worker_id = s.worker_id and o.week_start = s.snapshot_date"
                     if with_oracle else ""))
    limit = workers if workers is not None else 2**62
    rows = con.execute(sql, {"seed": str(seed), "workers": limit, "every": every_weeks}).df()
    snapshots = rows[columns]
    labels = rows[["worker_id", "snapshot_date", "duration_weeks", "exit_reason"]]
    hazards = None
    if with_oracle:
        hazards = rows[["worker_id", "snapshot_date", "hazard_voluntary", "hazard_other"]].rename(
            columns={"snapshot_date": "week_start"})
    return snapshots, labels, hazards
