"""The audit log's journal: each read, and each attempt refused, is appended to a file before it
is answered, and moved into the SQLite audit log in batches, off the request path.

A read must be recorded before its answer is sent, durably against a crash of the process
(what SQLite's WAL with synchronous=NORMAL also gives). Committing each read to SQLite did
that at a cost no request could hide: a read of fifty workers inserts fifty entries into
the by-worker index, each on its own page, so every commit wrote some 290 KB of log, and
the checkpoints that copy that log into the database stalled the server for tens of
milliseconds several times a second. Appending one line to a file is one write, done before
the answer; once a second (``APPLY_EVERY_S``) a thread renames the file and logs its reads
in one transaction, where the pages they share are written once, and checkpoints stall no
one. ``GET /audit`` applies the journal first, so the log it reads holds every read made.

Each process appends to a journal of its own, which it holds an exclusive lock on
(``flock``) while it lives. A batch is logged under its file's name, once (see
``AccessStore.record``); a journal whose process died unlocks, and the next process to
apply the journals logs it. So no answered read is lost to a crash of the process, and
none is logged twice. (A crash of the machine can lose the last reads, as it can lose the
last commits of SQLite with synchronous=NORMAL.)
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

from fastapi import HTTPException, Request

from continuity.access import READ, AccessStore, Grant, Read
from continuity.private import private_folder

APPLY_EVERY_S = 1.0

logger = logging.getLogger(__name__)


class AuditJournal:
    """This process's journal of reads, and the thread that moves journals into the audit log."""

    def __init__(self, access: AccessStore):
        self.access = access
        self.folder = private_folder(access.path.with_name(access.path.name + ".journal"))
        self._name = uuid.uuid4().hex
        self._batches = 0
        self._appending = threading.Lock()  # one write at a time, and none while the file is renamed
        self._applying = threading.Lock()  # one application of the journals at a time
        self._fd: int | None = None
        self._thread: threading.Thread | None = None

    def record(self, grant: Grant, endpoint: str, worker_ids: Iterable[str], *, status: int = READ,
               parameters: dict[str, str] | None = None) -> None:
        """Append the read to the journal; it is in the file (and survives a crash of the process) on return."""
        line = Read(grant, endpoint, tuple(worker_ids), status=status, parameters=parameters).line() + "\n"
        with self._appending:
            if self._fd is None:
                self._fd = self._open()
            os.write(self._fd, line.encode())

    def apply(self) -> None:
        """Log every read journaled so far by this process, and any left by processes that ended."""
        with self._applying:
            with self._appending:
                if self._fd is not None:
                    self._batches += 1
                    os.rename(self._current, self.folder / f"{self._name}.{self._batches:09d}.done")
                    os.close(self._fd)  # unlocks the renamed file
                    self._fd = None
            for path in sorted(self.folder.iterdir()):
                if path.suffix in (".done", ".open") and path != self._current:
                    self._apply(path)

    def _apply(self, path: Path) -> None:
        """Log one journal file, unless a live process still appends to it (it holds its lock)."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # another process applied it meanwhile
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            with os.fdopen(os.dup(fd)) as journal:
                # Whole lines only: a line cut short by a crash of the machine was never acknowledged.
                self.access.record(journal.read().split("\n")[:-1], batch=path.name)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    @property
    def _current(self) -> Path:
        return self.folder / f"{self._name}.open"

    def _open(self) -> int:
        """A new journal file, locked before it takes the name other processes look for."""
        opening = self._current.with_suffix(".new")
        fd = os.open(opening, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(opening, self._current)
        if self._thread is None:
            self._thread = threading.Thread(target=self._apply_every_second, name="audit-journal", daemon=True)
            self._thread.start()
        return fd

    def _apply_every_second(self) -> None:
        """Runs while reads come in; the next read after a quiet second starts it again."""
        while True:
            time.sleep(APPLY_EVERY_S)
            with self._appending:
                if self._fd is None:
                    self._thread = None
                    return
            try:
                self.apply()
            except Exception:  # noqa: BLE001 - the journal stays on disk; the next round retries
                logger.exception("the audit journal could not be applied; retrying in %s s", APPLY_EVERY_S)


@dataclass(frozen=True)
class Audit:
    """Records, for one request, which workers' data the grant's holder was given, or that they were
    refused: in the audit journal, before the answer is sent. With the endpoint go the request's path
    and query parameters: which filters a list was read with, which team or worker was asked for."""

    journal: AuditJournal
    grant: Grant
    endpoint: str
    parameters: dict[str, str]

    def __call__(self, worker_ids: Iterable[str]) -> None:
        self.journal.record(self.grant, self.endpoint, worker_ids, parameters=self.parameters)

    def also(self, worker_ids: Iterable[str], shown: dict[str, str]) -> None:
        """A further entry for what the answer showed beyond the workers' own data (``shown``, e.g. the clients
        whose case numbers it gave), with the request's parameters, so each can be searched for on its own."""
        self.journal.record(self.grant, self.endpoint, worker_ids, parameters=self.parameters | shown)

    def refusal(self, error: HTTPException, asked: Iterable[str] | None = None) -> HTTPException:
        """``error``, for the caller to raise; a 403 is recorded first, as an attempt at data outside
        the grant, with the workers ``asked`` for (by default the one the parameters name, if any).
        Any other error (a 404 to those who may read the worker) is no attempt to record."""
        if error.status_code == HTTPStatus.FORBIDDEN:
            if asked is None:
                asked = [self.parameters["worker_id"]] if "worker_id" in self.parameters else []
            self.journal.record(self.grant, self.endpoint, asked, status=error.status_code, parameters=self.parameters)
        return error


def audit_of(request: Request, grant: Grant) -> Audit:
    """The request's audit; its parameters are the path's over the query's, as the route reads them."""
    return Audit(request.app.state.audit, grant, f"{request.method} {request.scope['route'].path_format}",
                 {**request.query_params, **request.path_params})
