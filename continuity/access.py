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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Read:
    """One read of individual workers' data, for the audit log: who, through which endpoint, whom, when."""

    grant: Grant
    endpoint: str
    worker_ids: tuple[str, ...]
    at: str = field(default_factory=_now)

    def line(self) -> str:
        """The read as one line of JSON, the form ``AccessStore.record`` takes."""
        return json.dumps([self.at, self.grant.token_id, self.grant.role.value, self.endpoint, self.worker_ids])


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
create index if not exists audit_log_by_token on audit_log (token_id);
create index if not exists audit_log_by_endpoint on audit_log (endpoint);
create table if not exists audit_batches (name text primary key);
"""


class AccessStore:
    """Tokens and audit log in one SQLite file; one connection per thread (the API's worker threads).

    WAL lets the CLI revoke while the API reads; with synchronous=NORMAL a commit is a write to
    the log, durable against a crash of the process, and the disk is waited for only at
    checkpoints. The API does not commit reads one by one: see ``serving.auditing``.
    """

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

    def record(self, lines: Sequence[str], batch: str | None = None) -> bool:
        """Log reads (``Read.line``s) in one transaction. ``batch`` names them once and for all: a
        batch of that name already logged is not logged again (False), so it can be retried after
        a crash.

        SQLite itself parses the lines (json_each), so that the thread writing the log spends
        almost none of its time holding Python's lock, which the event loop needs."""
        reads = "[" + ",".join(lines) + "]"
        with self._connection() as con:
            if batch is not None and con.execute("insert or ignore into audit_batches (name) values (?)", [batch]).rowcount == 0:
                return False
            if not lines:
                return True
            last = con.execute(
                "insert into audit_log (at, token_id, role, endpoint) select json_extract(value, '$[0]'), "
                "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') "
                "from json_each(?) order by key",
                [reads],
            ).lastrowid
            first = last - len(lines) + 1  # one statement: consecutive ids, in the order of the lines
            con.execute(
                "insert into audit_workers (audit_id, worker_id) select ? + r.key, w.value "
                "from json_each(?) r, json_each(r.value, '$[4]') w order by r.key, w.key",
                [first, reads],
            )
        return True

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
        where, params = audit_filter(
            worker_id=worker_id, token_id=token_id, endpoint=endpoint, since=since, until=until
        )
        con = self._connection()
        (total,) = con.execute(f"select count(*) from audit_log a where {where}", params).fetchone()
        rows = con.execute(
            f"select id, at, token_id, role, endpoint from audit_log a where {where} order by id desc limit ? offset ?",
            [*params, limit, offset],
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


def audit_filter(
    *,
    worker_id: str | None = None,
    token_id: str | None = None,
    endpoint: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, list[str]]:
    """The where clause over ``audit_log a`` and its parameters for the given filters.

    Each filter can be answered from an index (see SCHEMA), so counting the matches for a
    page's total reads the matching entries, not the whole log; the worker filter is an
    ``in`` over the index of audit_workers, where a correlated ``exists`` probed it once
    for every entry in the log.
    """
    conditions = {
        "token_id = ?": token_id,
        "endpoint = ?": endpoint,
        "at >= ?": since and _utc(since),
        "at < ?": until and _utc(until),
        "id in (select audit_id from audit_workers where worker_id = ?)": worker_id,
    }
    chosen = {sql: value for sql, value in conditions.items() if value is not None}
    return " and ".join(chosen) or "true", list(chosen.values())


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
