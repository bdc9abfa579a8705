"""The audit log's entries and their hash chain.

Each entry carries a hash over itself and the hash of the entry before it, so an entry edited,
removed or slipped in afterwards breaks the chain from there on (``AccessStore.verify``). The
chain shows tampering by whoever did not rewrite every later hash too; the last hash, written
down elsewhere (``continuity audit verify`` prints it), shows even that.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from continuity.access.policy import Grant


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def utc(moment: datetime) -> str:
    """A moment in the stored format (UTC ISO), so text comparison orders it; naive means UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


READ = 200  # the status of an answer that returned the data; a refused attempt is logged with its 403


@dataclass(frozen=True)
class Read:
    """One read of individual workers' data, or one attempt refused, for the audit log: who, through
    which endpoint with which parameters, whom (the workers returned, or those asked for), when."""

    grant: Grant
    endpoint: str
    worker_ids: tuple[str, ...]
    at: str = field(default_factory=now)
    status: int = READ
    parameters: dict[str, str] | None = None

    def line(self) -> str:
        """The read as one line of JSON, the form ``AccessStore.record`` takes."""
        return json.dumps([self.at, self.grant.token_id, self.grant.role.value, self.endpoint, self.worker_ids,
                           self.status, self.parameters])


CHAIN_START = "0" * 64


def canonical(entry: Sequence[Any]) -> str:
    """An audit entry (at, token_id, role, endpoint, status, parameters, worker_ids) as the one JSON
    text the chain hashes, whichever way it was written or read."""
    return json.dumps(list(entry), sort_keys=True, separators=(",", ":"))


def chain_hash(previous: str, entry: str) -> str:
    """The hash of an entry (``canonical``) over the hash of the entry before it."""
    return hashlib.sha256((previous + entry).encode()).hexdigest()


def journal_entry(line: str) -> list[Any]:
    """A journal line as the entry the chain hashes; a line journalled before refusals and
    parameters were logged is a read without parameters."""
    at, token_id, role, endpoint, worker_ids, *outcome = json.loads(line)
    status, parameters = outcome or (READ, None)
    return [at, token_id, role, endpoint, status, parameters, worker_ids]


def stored_parameters(stored: str | None) -> dict[str, str] | None:
    return None if stored is None else json.loads(stored)


@dataclass(frozen=True)
class ChainCheck:
    """The audit log's chain, checked: how many entries follow from the ones before, the hash of the
    last of them, and the first entry that does not (None when every entry does)."""

    intact: int
    head: str
    broken_at: int | None = None
    purged_through: int | None = None  # the last entry purged under retention, whose hash the chain starts from


def chain_start(con: sqlite3.Connection) -> str:
    """The hash the first entry kept follows from: that of the last entry purged under retention
    (``audit_anchor``), or CHAIN_START for a log never purged."""
    row = con.execute("select row_hash from audit_anchor where id = 1").fetchone()
    return CHAIN_START if row is None else row[0]


def chain(con: sqlite3.Connection) -> Iterator[tuple[int, str | None, str]]:
    """Each entry of the log in order: its id, the hash stored with it and the hash the chain gives it.
    Entries and their workers are read side by side in the order of their indexes, so a log of any
    length is checked in constant memory."""
    workers = con.execute("select audit_id, worker_id from audit_workers order by audit_id, rowid")
    pending = workers.fetchone()
    previous = chain_start(con)
    entries = con.execute("select id, at, token_id, role, endpoint, status, parameters, row_hash from audit_log order by id")
    for audit_id, at, token_id, role, endpoint, status, parameters, stored in entries:
        read = []
        while pending is not None and pending[0] <= audit_id:
            if pending[0] == audit_id:
                read.append(pending[1])
            pending = workers.fetchone()
        previous = chain_hash(previous, canonical([at, token_id, role, endpoint, status, stored_parameters(parameters), read]))
        yield audit_id, stored, previous


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
        "at >= ?": since and utc(since),
        "at < ?": until and utc(until),
        "id in (select audit_id from audit_workers where worker_id = ?)": worker_id,
    }
    chosen = {sql: value for sql, value in conditions.items() if value is not None}
    return " and ".join(chosen) or "true", list(chosen.values())
