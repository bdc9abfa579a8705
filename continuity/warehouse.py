"""The warehouse: one DuckDB file holding contract tables, snapshots, scores and logs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def connect(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; the parent folder is created so a fresh machine needs no set-up."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


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


def _write(con: duckdb.DuckDBPyConnection, name: str, frame, score_date=None) -> None:
    con.register("_incoming", frame)
    try:
        if score_date is not None and has_table(con, name):
            _add_new_columns(con, name)
            con.execute(f'delete from "{name}" where score_date = ?', [score_date])
            con.execute(f'insert into "{name}" by name select * from _incoming')
        else:
            con.execute(f'create or replace table "{name}" as select * from _incoming')
    finally:
        con.unregister("_incoming")


def _add_new_columns(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """A published table gains the columns a newer release publishes; earlier weeks hold NULL there."""
    existing = {row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_name = ?", [name]).fetchall()}
    for column, column_type, *_ in con.execute("describe _incoming").fetchall():
        if column not in existing:
            con.execute(f'alter table "{name}" add column "{column}" {column_type}')


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame) -> None:
    """Replace a whole derived table with a DataFrame, atomically."""
    with transaction(con):
        _write(con, name, frame)


def publish_week(con: duckdb.DuckDBPyConnection, score_date, tables: dict) -> None:
    """Publish one week of every score table in one transaction.

    Rerunning the same week replaces it, never duplicates it, and a reader never
    sees a week with scores but without its exposures.
    """
    with transaction(con):
        for name, frame in tables.items():
            _write(con, name, frame, score_date)
