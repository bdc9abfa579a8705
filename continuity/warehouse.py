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


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame) -> None:
    """Replace a whole derived table with a DataFrame, atomically."""
    con.register("_incoming", frame)
    try:
        con.execute("begin transaction")
        con.execute(f'create or replace table "{name}" as select * from _incoming')
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_incoming")


def replace_week(con: duckdb.DuckDBPyConnection, name: str, frame, score_date) -> None:
    """Publish one week of a score table: rerunning the same week replaces it, never duplicates it."""
    con.register("_incoming", frame)
    try:
        con.execute("begin transaction")
        if has_table(con, name):
            con.execute(f'delete from "{name}" where score_date = ?', [score_date])
            con.execute(f'insert into "{name}" by name select * from _incoming')
        else:
            con.execute(f'create table "{name}" as select * from _incoming')
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_incoming")
