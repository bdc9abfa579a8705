"""Bearer tokens, web sessions and the audit log, in a SQLite file of their own (``Settings.access_db``).

Never in the warehouse or a publication, which only the weekly run writes. The CLI creates and
revokes tokens in the same file the running API checks on every request, so a revocation holds
at once, without a restart.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from continuity.access.audit_log import (
    READ, ChainCheck, audit_filter, canonical, chain, chain_hash, chain_start, journal_entry, now, stored_parameters, utc,
)
from continuity.access import reviews
from continuity.access.policy import Grant, Role, check_scope
from continuity.config import Settings
from continuity.private import private_files


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


ROLES = ", ".join(f"'{role.value}'" for role in Role)
TOKENS = f"""
create table if not exists {{name}} (
    token_id text primary key,
    token_hash text not null unique,
    role text not null check (role in ({ROLES})),
    organisation_id text,
    teams text not null default '[]',
    regions text not null default '[]',
    created_at text not null,
    revoked_at text,
    worker_id text
);
"""

SCHEMA = TOKENS.format(name="tokens") + """
create table if not exists audit_log (
    id integer primary key autoincrement,
    at text not null,
    token_id text not null,
    role text not null,
    endpoint text not null
    -- and AUDIT_COLUMNS_ADDED, which a log of an earlier release gains too
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
create table if not exists audit_anchor (
    id integer primary key check (id = 1),
    purged_through integer not null,  -- the last entry purged (``purge_audit``)
    row_hash text not null,  -- its hash, which the chain of the entries kept starts from
    purged_at text not null
);
"""

AUDIT_COLUMNS_ADDED = {
    "status": f"integer not null default {READ}",  # the answer: 200, the data was returned; 403, refused
    "parameters": "text",  # JSON: the request's path and query parameters; null in entries logged before
    "row_hash": "text",  # chain_hash
}


SESSIONS_SCHEMA = """
create table if not exists sessions (
    session_hash text primary key,
    token_id text not null references tokens (token_id),
    expires_at text not null
);
create index if not exists sessions_by_expiry on sessions (expires_at);
"""


def _grant(row: tuple[str, str, str | None, str, str | None, str] | None) -> Grant | None:
    """A Grant from a row of (token_id, role, organisation_id, teams as JSON, worker_id, regions as JSON)."""
    if row is None:
        return None
    token_id, role, organisation_id, teams, worker_id, regions = row
    return Grant(token_id, Role(role), organisation_id, frozenset(json.loads(teams)), worker_id,
                 frozenset(json.loads(regions)))


class AccessStore:
    """Tokens and audit log in one SQLite file; one connection per thread (the API's worker threads).

    WAL lets the CLI revoke while the API reads; with synchronous=NORMAL a commit is a write to
    the log, durable against a crash of the process, and the disk is waited for only at
    checkpoints. The API does not commit reads one by one: see ``serving.auditing``.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._local = threading.local()
        with private_files():  # SQLite gives the -wal and -shm files the mode of the database file
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connection()
        self._rebuild_tokens(con)
        con.executescript(SCHEMA + SESSIONS_SCHEMA + reviews.SCHEMA)
        self._add_audit_columns(con)

    @staticmethod
    def _rebuild_tokens(con: sqlite3.Connection) -> None:
        """Bring a token table of an earlier release up to date: one without a role of this release
        (its check constraint, which SQLite cannot alter, would refuse it) or without the worker or
        regions column is copied into a table of today's form, under the write lock."""
        def outdated() -> bool:
            row = con.execute("select sql from sqlite_master where type = 'table' and name = 'tokens'").fetchone()
            return row is not None and (f"({ROLES})" not in row[0] or "worker_id" not in row[0]
                                        or "regions" not in row[0])

        if not outdated():
            return
        with con:
            con.execute("begin immediate")
            if outdated():
                old = ", ".join(row[1] for row in con.execute("pragma table_info(tokens)"))
                con.execute(TOKENS.format(name="tokens_rebuilt"))
                con.execute(f"insert into tokens_rebuilt ({old}) select {old} from tokens")
                con.execute("drop table tokens")
                con.execute("alter table tokens_rebuilt rename to tokens")

    def _add_audit_columns(self, con: sqlite3.Connection) -> None:
        """Bring a log of an earlier release up to date: the new columns, and the chain over the entries
        it holds (their order is their ids'). Checked again under the write lock, for another process
        may be opening the same file."""
        if set(AUDIT_COLUMNS_ADDED) <= self._audit_columns(con):
            return
        with con:
            con.execute("begin immediate")
            missing = {name: sql for name, sql in AUDIT_COLUMNS_ADDED.items() if name not in self._audit_columns(con)}
            for name, sql in missing.items():
                con.execute(f"alter table audit_log add column {name} {sql}")
            if "row_hash" in missing:
                con.executemany("update audit_log set row_hash = ? where id = ?",
                                [(computed, audit_id) for audit_id, _, computed in chain(con)])

    @staticmethod
    def _audit_columns(con: sqlite3.Connection) -> set[str]:
        return {row[1] for row in con.execute("pragma table_info(audit_log)")}

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

    def create(self, role: Role | str, organisation_id: str | None = None, teams: Iterable[str] = (),
               worker_id: str | None = None, regions: Iterable[str] = ()) -> tuple[str, str]:
        """A new token and its id; the token is returned once and only its hash is kept."""
        role, teams, regions = Role(role), sorted(set(teams)), sorted(set(regions))
        check_scope(role, organisation_id, teams, worker_id, regions)
        token, token_id = secrets.token_urlsafe(32), "tok_" + secrets.token_hex(6)
        with self._connection() as con:
            con.execute(
                "insert into tokens (token_id, token_hash, role, organisation_id, teams, created_at, worker_id, "
                "regions) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [token_id, _hash(token), role.value, organisation_id, json.dumps(teams), now(), worker_id,
                 json.dumps(regions)],
            )
        return token_id, token

    def authenticate(self, token: str) -> Grant | None:
        """The grant of a valid, unrevoked token; None for anything else."""
        row = self._connection().execute(
            "select token_id, role, organisation_id, teams, worker_id, regions from tokens "
            "where token_hash = ? and revoked_at is null",
            [_hash(token)],
        ).fetchone()
        return _grant(row)

    def revoke(self, token_or_id: str) -> bool:
        """Revoke by token id or by the token itself; False when no unrevoked token matches."""
        with self._connection() as con:
            cursor = con.execute(
                "update tokens set revoked_at = ? where (token_id = ? or token_hash = ?) and revoked_at is null",
                [now(), token_or_id, _hash(token_or_id)],
            )
        return cursor.rowcount > 0

    def tokens(self) -> list[dict[str, Any]]:
        """Every token ever created, newest first, without its hash."""
        rows = self._connection().execute(
            "select token_id, role, organisation_id, teams, created_at, revoked_at, worker_id, regions from tokens "
            "order by created_at desc"
        ).fetchall()
        keys = ("token_id", "role", "organisation_id", "teams", "created_at", "revoked_at", "worker_id", "regions")
        return [{**dict(zip(keys, row)), "teams": json.loads(row[3]), "regions": json.loads(row[7])} for row in rows]

    # web-page sessions: the login cookie holds a session key, never the token, so that a
    # cookie expires, ends at logout, and dies with its token when that is revoked

    def open_session(self, grant: Grant, hours: float) -> str:
        """A new session key for the grant's token, valid for ``hours``; only its hash is kept.
        Sessions already over are dropped here, in the write a login makes anyway."""
        key, opened = secrets.token_urlsafe(32), datetime.now(UTC)
        with self._connection() as con:
            con.execute("delete from sessions where expires_at <= ?", [utc(opened)])
            con.execute(
                "insert into sessions (session_hash, token_id, expires_at) values (?, ?, ?)",
                [_hash(key), grant.token_id, utc(opened + timedelta(hours=hours))],
            )
        return key

    def session(self, key: str) -> Grant | None:
        """The grant of a session not yet over whose token is not revoked; None for anything else.
        One lookup by primary key, as for a bearer token."""
        return _grant(self._connection().execute(
            "select t.token_id, t.role, t.organisation_id, t.teams, t.worker_id, t.regions "
            "from sessions s join tokens t using (token_id) "
            "where s.session_hash = ? and s.expires_at > ? and t.revoked_at is null",
            [_hash(key), now()],
        ).fetchone())

    def end_session(self, key: str) -> None:
        with self._connection() as con:
            con.execute("delete from sessions where session_hash = ?", [_hash(key)])

    # audit log

    def record(self, lines: Sequence[str], batch: str | None = None) -> bool:
        """Log reads (``Read.line``s) in one transaction. ``batch`` names them once and for all: a
        batch of that name already logged is not logged again (False), so it can be retried after
        a crash.

        The transaction takes the write lock before it reads the last entry's hash, so two processes
        applying journals at once extend the chain one after the other and cannot fork it. Python
        only hashes; SQLite itself parses the entries (json_each), so that the thread writing the log
        spends little of its time holding Python's lock, which the event loop needs."""
        entries = [journal_entry(line) for line in lines]
        with self._connection() as con:
            con.execute("begin immediate")
            if batch is not None and con.execute("insert or ignore into audit_batches (name) values (?)", [batch]).rowcount == 0:
                return False
            if not entries:
                return True
            (previous,) = con.execute("select row_hash from audit_log order by id desc limit 1").fetchone() or (chain_start(con),)
            chained = []
            for entry in map(canonical, entries):
                previous = chain_hash(previous, entry)
                chained.append(f'[{entry},"{previous}"]')
            rows = "[" + ",".join(chained) + "]"  # each [entry, its hash]
            last = con.execute(
                "insert into audit_log (at, token_id, role, endpoint, status, parameters, row_hash) "
                "select json_extract(value, '$[0][0]'), json_extract(value, '$[0][1]'), json_extract(value, '$[0][2]'), "
                "json_extract(value, '$[0][3]'), json_extract(value, '$[0][4]'), json_extract(value, '$[0][5]'), "
                "json_extract(value, '$[1]') from json_each(?) order by key",
                [rows],
            ).lastrowid
            first = last - len(entries) + 1  # one statement: consecutive ids, in the order of the lines
            con.execute(
                "insert into audit_workers (audit_id, worker_id) select ? + r.key, w.value "
                "from json_each(?) r, json_each(r.value, '$[0][6]') w order by r.key, w.key",
                [first, rows],
            )
        return True

    def verify(self) -> ChainCheck:
        """Recompute the chain over the whole log, in one snapshot of it: from the anchor the last
        purge left, when entries were purged under retention."""
        con = self._connection()
        with con:
            con.execute("begin")
            anchor = con.execute("select purged_through from audit_anchor where id = 1").fetchone()
            purged_through = None if anchor is None else anchor[0]
            checked, head = 0, chain_start(con)
            for audit_id, stored, computed in chain(con):
                if stored != computed:
                    return ChainCheck(checked, head, broken_at=audit_id, purged_through=purged_through)
                checked, head = checked + 1, stored
        return ChainCheck(checked, head, purged_through=purged_through)

    def purge_audit(self, before: datetime, dry_run: bool = False) -> int:
        """Remove the oldest entries, those logged before ``before`` (the audit retention's start); the
        number removed, or that would be. What is removed is always the log's first entries by id, up
        to the first entry retention still covers, so the entries kept are one unbroken chain; the
        hash of the last entry removed is kept as the anchor that chain starts from, so ``verify``
        still checks every entry kept. (An entry a late journal logged with an earlier time waits
        for the entries before it to age out.)"""
        with self._connection() as con:
            con.execute("begin immediate")
            (keep_from,) = con.execute(
                "select coalesce(min(id), (select coalesce(max(id), 0) + 1 from audit_log)) from audit_log where at >= ?",
                [utc(before)]).fetchone()
            last = con.execute("select id, row_hash from audit_log where id < ? order by id desc limit 1",
                               [keep_from]).fetchone()
            if last is None:
                return 0
            (count,) = con.execute("select count(*) from audit_log where id < ?", [keep_from]).fetchone()
            if dry_run:
                return count
            con.execute("delete from audit_workers where audit_id < ?", [keep_from])
            con.execute("delete from audit_log where id < ?", [keep_from])
            con.execute("insert or replace into audit_anchor (id, purged_through, row_hash, purged_at) values (1, ?, ?, ?)",
                        [*last, now()])
        return count

    def reads_of(self, worker_id: str, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
        """Who read the worker's data, for the worker's own view: the reads that returned it (not the
        refused attempts, not the worker's own), newest first, as role, time and endpoint; the token
        ids, which name colleagues' tokens, stay in the admin's log."""
        where = "status = ? and role <> ? and id in (select audit_id from audit_workers where worker_id = ?)"
        params = [READ, Role.worker.value, worker_id]
        con = self._connection()
        (total,) = con.execute(f"select count(*) from audit_log where {where}", params).fetchone()
        rows = con.execute(f"select at, role, endpoint from audit_log where {where} order by id desc limit ?",
                           [*params, limit]).fetchall()
        return total, [dict(zip(("at", "role", "endpoint"), row)) for row in rows]

    # reviews: what a person did with a forecast (``reviews``)

    def add_review(self, grant: Grant, worker_id: str, action: str, note: str, week: str, model_version: str
                   ) -> dict[str, Any]:
        with self._connection() as con:
            return reviews.add(con, grant, worker_id, action, note, week, model_version)

    def reviews(self, *, worker_id: str | None = None, action: str | None = None, limit: int = 50, offset: int = 0
                ) -> tuple[int, list[dict[str, Any]]]:
        return reviews.listed(self._connection(), worker_id=worker_id, action=action, limit=limit, offset=offset)

    def purge_reviews(self, before: datetime, dry_run: bool = False) -> int:
        with self._connection() as con:
            return reviews.purge(con, utc(before), dry_run)

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
            f"select id, at, token_id, role, endpoint, status, parameters from audit_log a where {where} "
            "order by id desc limit ? offset ?",
            [*params, limit, offset],
        ).fetchall()
        read: dict[int, list[str]] = {row[0]: [] for row in rows}
        if read:
            marks = ", ".join("?" * len(read))
            for audit_id, worker in con.execute(
                f"select audit_id, worker_id from audit_workers where audit_id in ({marks}) order by rowid", list(read)
            ):
                read[audit_id].append(worker)
        keys = ("id", "at", "token_id", "role", "endpoint", "status")
        return total, [
            {**dict(zip(keys, row)), "parameters": stored_parameters(row[6]), "worker_ids": read[row[0]]} for row in rows
        ]


def create_token(settings: Settings, role: Role | str, organisation: str | None = None, teams: Iterable[str] = (),
                 worker: str | None = None, regions: Iterable[str] = ()) -> str:
    """A new bearer token for the CLI to print; raises ScopeError when the scope does not fit the role."""
    store = AccessStore(settings.access_db)
    try:
        return store.create(role, organisation, teams, worker, regions)[1]
    finally:
        store.close()


def revoke_token(settings: Settings, token_or_id: str) -> bool:
    """Revoke a token by itself or its id; False when there was no such unrevoked token."""
    store = AccessStore(settings.access_db)
    try:
        return store.revoke(token_or_id)
    finally:
        store.close()


def verify_audit(settings: Settings) -> ChainCheck:
    """Check the audit log's whole chain, for the CLI."""
    store = AccessStore(settings.access_db)
    try:
        return store.verify()
    finally:
        store.close()


def list_tokens(settings: Settings) -> list[dict[str, Any]]:
    """Every token (id, role, scope, created_at, revoked_at), newest first; never the token itself."""
    store = AccessStore(settings.access_db)
    try:
        return store.tokens()
    finally:
        store.close()
