"""Human oversight: what hr or a manager did with a worker's forecast, kept beside the audit log.

A review says the forecast was seen and talked about (acknowledged), that the person or their
manager contests it (disputed), or that the data behind it was wrong and has been corrected at
the source (data_corrected). It is the API's own state, like tokens and the audit log, so it
lives in the access file: the warehouse and the publications are written by the weekly run
alone. Each review keeps who made it (token id and role), when, and which week and model
version it was about, since the next week's forecast is a different one.
"""

from __future__ import annotations

import sqlite3
from enum import Enum
from typing import Any

from continuity.access.audit_log import now
from continuity.access.policy import Grant


class Action(str, Enum):
    acknowledged = "acknowledged"  # seen, and discussed with the worker where that was due
    disputed = "disputed"  # the worker or their manager contests the forecast or its drivers
    data_corrected = "data_corrected"  # the data behind it was wrong and is corrected at the source


ACTIONS = ", ".join(f"'{action.value}'" for action in Action)
SCHEMA = f"""
create table if not exists reviews (
    id integer primary key autoincrement,
    worker_id text not null,
    action text not null check (action in ({ACTIONS})),
    note text not null,
    token_id text not null,
    role text not null,
    at text not null,
    week text not null,
    model_version text not null
);
create index if not exists reviews_by_worker on reviews (worker_id, id);
create index if not exists reviews_by_action on reviews (action, id);
create index if not exists reviews_by_at on reviews (at);
"""
COLUMNS = ("id", "worker_id", "action", "note", "token_id", "role", "at", "week", "model_version")


def add(con: sqlite3.Connection, grant: Grant, worker_id: str, action: str, note: str, week: str,
        model_version: str) -> dict[str, Any]:
    """Record one review; the stored review."""
    review = dict(zip(COLUMNS[1:], (worker_id, Action(action).value, note, grant.token_id, grant.role.value, now(),
                                    week, model_version)))
    cursor = con.execute(f"insert into reviews ({', '.join(review)}) values ({', '.join('?' * len(review))})",
                         list(review.values()))
    return {"id": cursor.lastrowid, **review}


def listed(con: sqlite3.Connection, *, worker_id: str | None = None, action: str | None = None, limit: int = 50,
           offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Matching reviews, newest first: their number over all pages, and one page."""
    chosen = {column: value for column, value in (("worker_id", worker_id), ("action", action)) if value is not None}
    where = " and ".join(f"{column} = ?" for column in chosen) or "true"
    (total,) = con.execute(f"select count(*) from reviews where {where}", list(chosen.values())).fetchone()
    rows = con.execute(f"select {', '.join(COLUMNS)} from reviews where {where} order by id desc limit ? offset ?",
                       [*chosen.values(), limit, offset]).fetchall()
    return total, [dict(zip(COLUMNS, row)) for row in rows]


def purge(con: sqlite3.Connection, before: str, dry_run: bool) -> int:
    """Remove the reviews made before ``before`` (a stored time); how many were, or would be."""
    if dry_run:
        return con.execute("select count(*) from reviews where at < ?", [before]).fetchone()[0]
    return con.execute("delete from reviews where at < ?", [before]).rowcount
