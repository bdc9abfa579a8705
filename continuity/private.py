"""The project's local state is for the account that runs it alone: the warehouse and the published
weeks hold every worker's risk of leaving, ``access.db`` the token hashes and the audit log.

Files are created 0600 and folders 0700 from the start, never loosened and tightened afterwards,
so no other account on the machine can open them in between. A umask does that also for the
files a library creates later on its own, where no mode can be passed: DuckDB's write-ahead log,
MLflow's store and artifacts. (SQLite gives its ``-wal`` and ``-shm`` files the mode of the
database file, so a SQLite file created private stays private.) Files and folders that exist
already keep their mode: whose they are and who else needs them is not this module's to decide.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OWNER_ONLY = 0o077  # the umask: no bit for group or others

_holding = threading.Lock()
_holders = 0
_saved_umask = 0


@contextmanager
def private_files() -> Iterator[None]:
    """Everything the process creates meanwhile is readable by its owner only.

    The umask belongs to the process, not to a thread: the first holder sets it and the last
    restores it, so overlapping holders in different threads cannot restore it under each other.
    """
    global _holders, _saved_umask
    with _holding:
        if _holders == 0:
            _saved_umask = os.umask(OWNER_ONLY)
        _holders += 1
    try:
        yield
    finally:
        with _holding:
            _holders -= 1
            if _holders == 0:
                os.umask(_saved_umask)


def private_folder(path: Path | str) -> Path:
    """The folder, created 0700 with any missing parents (``mkdir -p`` would give the parents the
    umask's mode, commonly 0755)."""
    path = Path(path)
    with private_files():
        path.mkdir(parents=True, exist_ok=True)
    return path
