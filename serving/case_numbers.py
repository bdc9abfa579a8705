"""Case numbers on client rows, for hr and managers in scope only, every showing audited.

The organisation's lookup from pseudonym to its own case number (``continuity case-numbers load``,
``continuity.features.case_numbers``) re-identifies clients. It is read from its own owner-only file,
never from a publication, and re-read when a load replaces it. Only hr and manager tokens get it: they
plan the handovers and are the ones a case number helps; a sector or worker token never reaches a
client row, and an admin reads the system, not the caseload. Rows reach a caller only through the
scoped routes, so a case number is shown only for clients of workers in the caller's scope.

Each answer that shows case numbers records, besides its own read, an audit entry naming the workers
whose clients they were and the pseudonyms whose case numbers were shown (``CASE_NUMBERS_SHOWN``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from continuity.access import Grant, Role
from continuity.serving.auditing import Audit

CASE_NUMBER_READERS = frozenset({Role.hr, Role.manager})
CASE_NUMBERS_SHOWN = "case_numbers_shown"  # the audit parameter: the pseudonyms whose case numbers were shown


class CaseNumbers:
    """The lookup in memory, re-read when the file is replaced (a load renames a new file over it)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._lookup: dict[str, str] = {}

    def lookup(self) -> dict[str, str]:
        """Pseudonym -> case number; empty while none is loaded."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return {}
        stamp = (stat.st_ino, stat.st_mtime_ns)
        with self._lock:
            if stamp != self._stamp:
                frame = pd.read_parquet(self.path)
                self._lookup = dict(zip(frame.client_id, frame.case_number))
                self._stamp = stamp
            return self._lookup

    def shown(self, grant: Grant, audit: Audit, rows: Iterable[dict[str, Any]], worker_ids: Iterable[str]
              ) -> list[dict[str, Any]]:
        """The client rows (each with a ``client_id``) with their ``case_number``: the organisation's own for
        hr and managers where the lookup has one, else None. Showing any is audited against ``worker_ids``,
        the in-scope workers whose clients the rows are."""
        rows = list(rows)
        lookup = self.lookup() if grant.role in CASE_NUMBER_READERS else {}
        shown = [row | {"case_number": lookup.get(row["client_id"])} for row in rows]
        revealed = sorted({row["client_id"] for row in shown if row["case_number"] is not None})
        if revealed:
            audit.also(worker_ids, {CASE_NUMBERS_SHOWN: " ".join(revealed)})
        return shown
