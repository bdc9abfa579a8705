"""Who may read what: bearer tokens with a role and a scope, and the audit log of individual reads.

Both live in a SQLite file of their own (``Settings.access_db``), never in the warehouse: the
score store re-reads the warehouse whenever that file changes, and DuckDB admits one writer
process, so a login or an audited read must not write there. The CLI creates and revokes
tokens in the same file the running API checks on every request, so a revocation holds at
once, without a restart.

Tokens are 256-bit random strings, shown once and stored only as their SHA-256: for a secret
that long a plain hash cannot be brute-forced, and a leaked database gives no usable token.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from continuity.config import Settings


class Role(str, Enum):
    hr = "hr"  # one organisation's workers
    manager = "manager"  # the workers of one or more teams
    sector = "sector"  # aggregates only, never an individual
    admin = "admin"  # everything, and the audit log


class ScopeError(ValueError):
    """A token was asked for with a scope that does not fit its role."""


@dataclass(frozen=True)
class Grant:
    """What one valid token allows: the role and the organisation or teams it is scoped to."""

    token_id: str
    role: Role
    organisation_id: str | None = None
    teams: frozenset[str] = frozenset()

    @property
    def sees_individuals(self) -> bool:
        return self.role is not Role.sector

    def sees(self, worker: dict[str, Any]) -> bool:
        """Whether this grant may read the worker (a record with organisation_id and team_id)."""
        if self.role is Role.admin:
            return True
        if self.role is Role.hr:
            return worker["organisation_id"] == self.organisation_id
        if self.role is Role.manager:
            return worker["team_id"] in self.teams
        return False

    @property
    def scope(self) -> str:
        """The scope in words, for the 403 message that tells a caller what they may ask for."""
        if self.role is Role.hr:
            return f"organisation '{self.organisation_id}'"
        if self.role is Role.manager:
            return "team(s) " + ", ".join(f"'{t}'" for t in sorted(self.teams))
        if self.role is Role.sector:
            return "aggregates only"
        return "everything"


def check_scope(role: Role, organisation_id: str | None, teams: Sequence[str]) -> None:
    """hr needs exactly one organisation, manager at least one team, sector and admin neither."""
    if role is Role.hr and (not organisation_id or teams):
        raise ScopeError("an hr token is scoped to one organisation: give --organisation and no --team")
    if role is Role.manager and (not teams or organisation_id):
        raise ScopeError("a manager token is scoped to teams: give one or more --team and no --organisation")
    if role in (Role.sector, Role.admin) and (organisation_id or teams):
        raise ScopeError(f"a {role.value} token has no organisation or team scope")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _utc(moment: datetime) -> str:
    """A moment in the stored format (UTC ISO), so text comparison orders it; naive means UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


SCHEMA = """
create table if not exists tokens (
    token_id text primary key,
    token_hash text not null unique,
    role text not null check (role in ('hr', 'manager', 'sector', 'admin')),
    organisation_id text,
    teams text not null default '[]',
    created_at text not null,
    revoked_at text
);
create table if not exists audit_log (
    id integer primary key autoincrement,
    at text not null,
    token_id text not null,
    role text not null,
    endpoint text not null
);
create table if not exists audit_workers (
    audit_id integer not null references audit_log (id),
    worker_id text not null
);
create index if not exists audit_workers_by_worker on audit_workers (worker_id, audit_id);
create index if not exists audit_workers_by_read on audit_workers (audit_id);
create index if not exists audit_log_by_at on audit_log (at);
"""


class AccessStore:
    """Tokens and audit log in one SQLite file; one connection per thread (the API's worker threads)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connection() as con:
            con.executescript(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10)
            # WAL lets the CLI revoke while the API reads; NORMAL syncs at checkpoints, not per audited read.
            con.execute("pragma journal_mode = wal")
            con.execute("pragma synchronous = normal")
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # tokens

    def create(self, role: Role | str, organisation_id: str | None = None, teams: Iterable[str] = ()) -> tuple[str, str]:
        """A new token and its id; the token is returned once and only its hash is kept."""
        role, teams = Role(role), sorted(set(teams))
        check_scope(role, organisation_id, teams)
        token, token_id = secrets.token_urlsafe(32), "tok_" + secrets.token_hex(6)
        with self._connection() as con:
            con.execute(
                "insert into tokens (token_id, token_hash, role, organisation_id, teams, created_at) values (?, ?, ?, ?, ?, ?)",
                [token_id, _hash(token), role.value, organisation_id, json.dumps(teams), _now()],
            )
        return token_id, token

    def authenticate(self, token: str) -> Grant | None:
        """The grant of a valid, unrevoked token; None for anything else."""
        row = self._connection().execute(
            "select token_id, role, organisation_id, teams from tokens where token_hash = ? and revoked_at is null",
            [_hash(token)],
        ).fetchone()
        if row is None:
            return None
        token_id, role, organisation_id, teams = row
        return Grant(token_id, Role(role), organisation_id, frozenset(json.loads(teams)))

    def revoke(self, token_or_id: str) -> bool:
        """Revoke by token id or by the token itself; False when no unrevoked token matches."""
        with self._connection() as con:
            cursor = con.execute(
                "update tokens set revoked_at = ? where (token_id = ? or token_hash = ?) and revoked_at is null",
                [_now(), token_or_id, _hash(token_or_id)],
            )
        return cursor.rowcount > 0

    def tokens(self) -> list[dict[str, Any]]:
        """Every token ever created, newest first, without its hash."""
        rows = self._connection().execute(
            "select token_id, role, organisation_id, teams, created_at, revoked_at from tokens order by created_at desc"
        ).fetchall()
        keys = ("token_id", "role", "organisation_id", "teams", "created_at", "revoked_at")
        return [{**dict(zip(keys, row)), "teams": json.loads(row[3])} for row in rows]

    # audit log

    def record(self, grant: Grant, endpoint: str, worker_ids: Iterable[str]) -> int:
        """Log that the grant's holder read these workers through the endpoint; returns the entry id."""
        with self._connection() as con:
            audit_id = con.execute(
                "insert into audit_log (at, token_id, role, endpoint) values (?, ?, ?, ?)",
                [_now(), grant.token_id, grant.role.value, endpoint],
            ).lastrowid
            con.executemany(
                "insert into audit_workers (audit_id, worker_id) values (?, ?)", [(audit_id, w) for w in worker_ids]
            )
        return audit_id

    def audit(
        self,
        *,
        worker_id: str | None = None,
        token_id: str | None = None,
        endpoint: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Matching entries (newest first): their number over all pages, and one page with the workers read."""
        conditions = {
            "token_id = ?": token_id,
            "endpoint = ?": endpoint,
            "at >= ?": since and _utc(since),
            "at < ?": until and _utc(until),
            "exists (select 1 from audit_workers w where w.audit_id = a.id and w.worker_id = ?)": worker_id,
        }
        chosen = {sql: value for sql, value in conditions.items() if value is not None}
        where = " and ".join(chosen) or "true"
        con = self._connection()
        (total,) = con.execute(f"select count(*) from audit_log a where {where}", list(chosen.values())).fetchone()
        rows = con.execute(
            f"select id, at, token_id, role, endpoint from audit_log a where {where} order by id desc limit ? offset ?",
            [*chosen.values(), limit, offset],
        ).fetchall()
        read: dict[int, list[str]] = {row[0]: [] for row in rows}
        if read:
            marks = ", ".join("?" * len(read))
            for audit_id, worker in con.execute(
                f"select audit_id, worker_id from audit_workers where audit_id in ({marks}) order by rowid", list(read)
            ):
                read[audit_id].append(worker)
        keys = ("id", "at", "token_id", "role", "endpoint")
        return total, [{**dict(zip(keys, row)), "worker_ids": read[row[0]]} for row in rows]


def create_token(settings: Settings, role: Role | str, organisation: str | None = None, teams: Iterable[str] = ()) -> str:
    """A new bearer token for the CLI to print; raises ScopeError when the scope does not fit the role."""
    store = AccessStore(settings.access_db)
    try:
        return store.create(role, organisation, teams)[1]
    finally:
        store.close()


def revoke_token(settings: Settings, token_or_id: str) -> bool:
    """Revoke a token by itself or its id; False when there was no such unrevoked token."""
    store = AccessStore(settings.access_db)
    try:
        return store.revoke(token_or_id)
    finally:
        store.close()


def list_tokens(settings: Settings) -> list[dict[str, Any]]:
    """Every token (id, role, scope, created_at, revoked_at), newest first; never the token itself."""
    store = AccessStore(settings.access_db)
    try:
        return store.tokens()
    finally:
        store.close()
