"""Loading an organisation's own case numbers for its clients: the lookup a manager plans a handover with.

A manager cannot plan a handover for ``p_7927509a...``; they know the client by the case number
of their own case system. The organisation may load a lookup from its export's client id to that
case number. The client id is pseudonymised here with the same key and function as ingest uses
(``pseudonymise``), so the lookup is keyed by the pseudonyms the published weeks carry; the export's
own client id is never stored.

The lookup re-identifies clients, so it is kept apart from the warehouse and the publications,
which the weekly run writes and every answer reads: one owner-only file (``Settings.case_numbers``)
that only the answers for hr and managers in scope read (``serving.case_numbers``). A load replaces
the whole file, written beside it and renamed over it, so a reader sees the old lookup or the new one,
never a mix, and a client appears once however often the lookup is loaded.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from continuity.features.ingest import warehouse_key_check
from continuity.features.pseudonymise import key_check, pseudonymise
from continuity.features.readers import UnreadableFile, read_file
from continuity.private import private_files, private_folder

COLUMNS = ("client_id", "case_number")


class UnusableLookup(ValueError):
    """The case-number file cannot be loaded as it stands; nothing was written."""


def read_case_numbers(source: Path, key: str) -> pd.DataFrame:
    """The file's (client_id, case_number) rows with client_id pseudonymised; raises UnusableLookup for a
    file without the two columns, with empty cells, or giving one client two case numbers (which of them
    a manager would be shown is not ours to guess)."""
    try:
        frame = read_file(Path(source)).frame
    except UnreadableFile as error:
        raise UnusableLookup(str(error)) from error
    frame = frame.rename(columns=lambda name: str(name).strip().lower())
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise UnusableLookup(f"{Path(source).name}: lacks column(s) {', '.join(missing)} (needs client_id, case_number)")
    frame = frame[list(COLUMNS)].fillna("").astype(str).apply(lambda column: column.str.strip())
    empty = frame.index[(frame == "").any(axis=1)]
    if len(empty):
        raise UnusableLookup(f"{Path(source).name}: {len(empty)} row(s) without a client_id or case_number "
                             f"(first on row {empty[0]})")
    frame = frame.drop_duplicates()
    twice = frame.client_id.duplicated(keep=False)
    if twice.any():
        raise UnusableLookup(f"{Path(source).name}: {frame.client_id[twice].nunique()} client(s) with more than "
                             f"one case number (first on row {frame.index[twice][0]})")
    # Pseudonymised as ingest does: the raw client id stops here.
    return pd.DataFrame({"client_id": pseudonymise(frame.client_id, key).to_numpy(),
                         "case_number": frame.case_number.to_numpy()})


def load_case_numbers(source: Path, target: Path, key: str, warehouse: Path | None = None) -> int:
    """Replace the lookup at ``target`` with the file's; returns the number of clients it holds.

    With a key other than the one the ``warehouse`` was loaded with, no pseudonym would match a client
    of the published weeks and every case number would silently go missing: refused instead."""
    if warehouse is not None and Path(warehouse).exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            loaded_with = warehouse_key_check(con)
        if loaded_with is not None and loaded_with != key_check(key):
            raise UnusableLookup(f"{warehouse}: the pseudonym key differs from the one this warehouse was loaded "
                                 "with, so no case number would match a client; set CONTINUITY_PSEUDONYM_KEY "
                                 "back to that key")
    lookup = read_case_numbers(source, key)
    write_case_numbers(lookup, target)
    return len(lookup)


def write_case_numbers(lookup: pd.DataFrame, target: Path) -> None:
    """Write the (pseudonymised client_id, case_number) lookup as the whole file at ``target``, owner-only."""
    private_folder(target.parent)
    incoming = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    with private_files():
        try:
            lookup.to_parquet(incoming, index=False)
            os.replace(incoming, target)
        finally:
            incoming.unlink(missing_ok=True)
