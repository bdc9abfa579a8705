"""The warehouse: one DuckDB file holding contract tables, snapshots and the history of published weeks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import duckdb
import pandas as pd

from continuity.private import private_files, private_folder
from continuity.published import TABLES, conform, ddl, sql_columns


# DuckDB's memory limit unless the settings say otherwise (``Settings.warehouse_memory_limit``, whose
# description gives the reasoning); DuckDB's own default is 80% of the machine, which a sector-sized
# snapshot build would take from the models running beside it.
DEFAULT_MEMORY_LIMIT = "4GB"
# Where DuckDB spills what does not fit in its memory limit: beside the warehouse file, so under HOME
# with the other private state, never the system's shared temporary folder.
SPILL_FOLDER = "duckdb-tmp"


@contextmanager
def connect(path: Path | str, read_only: bool = False, memory_limit: str = DEFAULT_MEMORY_LIMIT,
            threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; the parent folder is created so a fresh machine needs no set-up.

    DuckDB keeps to `memory_limit` and `threads` (None: one per core) and spills to ``SPILL_FOLDER``
    beside the file. A writer holds ``private_files`` while connected: DuckDB creates the file, and its
    write-ahead log at each write, and its spill files, with the process's umask."""
    with nullcontext() if read_only else private_files():
        if not read_only:
            private_folder(Path(path).parent)
        config = {"memory_limit": memory_limit, "temp_directory": str(Path(path).parent / SPILL_FOLDER)}
        config |= {"threads": threads} if threads is not None else {}
        con = duckdb.connect(str(path), read_only=read_only, config=config)
        try:
            yield con
        finally:
            con.close()


def open_warehouse(settings, read_only: bool = False):
    """``connect`` with the settings' memory limit and threads (``Settings.warehouse_memory_limit``)."""
    return connect(settings.warehouse, read_only, settings.warehouse_memory_limit, settings.warehouse_threads)


@contextmanager
def large_build(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """For a query that writes a whole derived table: DuckDB may then stream rows out of order, which
    keeps it from holding every row until its turn (the tables' ORDER BY, where one counts, still
    holds); the setting returns to DuckDB's default afterwards, for queries whose order counts."""
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute("reset preserve_insertion_order")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # fetchall, not fetchone: DuckDB keeps a half-read result open, which breaks the next relation call.
    rows = con.execute("select count(*) from information_schema.tables where table_name = ?", [name]).fetchall()
    return bool(rows[0][0])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All of it lands or none of it does."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame) -> None:
    """Replace a whole derived table with a DataFrame, atomically."""
    con.register("_incoming", frame)
    try:
        with transaction(con):
            con.execute(f'create or replace table "{name}" as select * from _incoming')
    finally:
        con.unregister("_incoming")


def record_week(con: duckdb.DuckDBPyConnection, score_date, tables: dict) -> None:
    """Keep one published week in the warehouse's history tables, in one transaction.

    The tables follow their declaration (``continuity.published``); one made by an older
    release gains the columns declared since, which hold NULL for earlier weeks. Recording
    the same week again replaces it, never duplicates it.
    """
    with transaction(con):
        for name, frame in tables.items():
            table = TABLES[name]
            con.execute(ddl(table))
            existing = {row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_name = ?", [name]).fetchall()}
            for column, sql_type in sql_columns(table).items():
                if column not in existing:
                    con.execute(f'alter table "{name}" add column "{column}" {sql_type}')
            con.register("_incoming", conform(table, frame).assign(score_date=score_date))
            try:
                con.execute(f'delete from "{name}" where score_date = ?', [score_date])
                con.execute(f'insert into "{name}" by name select * from _incoming')
            finally:
                con.unregister("_incoming")


def week_before(con: duckdb.DuckDBPyConnection, score_date) -> pd.DataFrame:
    """The recorded risk scores of the latest week before ``score_date``; empty when there is none."""
    if not has_table(con, "risk_scores"):
        return pd.DataFrame(columns=["worker_id"])
    return con.execute(
        "select * exclude (score_date) from risk_scores "
        "where score_date = (select max(score_date) from risk_scores where score_date < $t)", {"t": score_date}).df()


def former_workers(con: duckdb.DuckDBPyConnection, score_date) -> pd.DataFrame:
    """Workers recorded in an earlier week but not at ``score_date``, with the organisation and team of their
    last recorded week."""
    return con.execute(
        "select worker_id, organisation_id, team_id from risk_scores where score_date < $t "
        "and worker_id not in (select worker_id from risk_scores where score_date = $t) "
        "qualify row_number() over (partition by worker_id order by score_date desc) = 1 order by worker_id",
        {"t": score_date}).df()
