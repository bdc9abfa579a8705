"""Where published weeks live: one folder of Parquet files per publication, swapped in atomically.

The weekly run writes a new week into a folder of its own, and only once every file is on
disk does it point ``CURRENT`` at that folder, with an atomic rename. Readers follow the
pointer and read files no writer touches again. So the run and the service never wait on
each other: no reader holds a lock the writer needs (a DuckDB file admits one writing
process, and a reading process blocks it), and no reader ever sees half a week or a week
mixed with another.

The last ``KEEP`` publications stay on disk, so that a reader who followed the pointer just
before a swap still finds the files it is reading.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from continuity.config import Settings
from continuity.horizons import HORIZONS, risk_column
from continuity.private import private_files, private_folder
from continuity.published import HISTORY_TABLES, TABLES, conform
from continuity.warehouse import connect, former_workers, record_week, week_before

POINTER = "CURRENT"
MANIFEST = "manifest.json"
KEEP = 3
ABANDONED_AFTER_S = 3600


class NothingPublished(Exception):
    """No week can be served: nothing is published yet."""


@dataclass(frozen=True)
class Publication:
    """One published week: its manifest and its tables, each read on first use."""

    folder: Path
    manifest: dict[str, Any]
    _read: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    @property
    def score_date(self) -> date:
        return date.fromisoformat(self.manifest["score_date"])

    @property
    def model_name(self) -> str:
        return self.manifest["model_name"]

    @property
    def model_version(self) -> str:
        return self.manifest["model_version"]

    @property
    def data_end(self) -> date | None:
        """The last day the week's data records anything; None for a week published before it was kept."""
        return date.fromisoformat(self.manifest["data_end"]) if self.manifest.get("data_end") else None

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._read:
            self._read[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._read[name]

    def arrow(self, name: str, drop: tuple[str, ...] = ()) -> pa.Table:
        """The table as Arrow columns (without those in ``drop``), read anew and not kept: for a reader that holds
        it in a form of its own, or needs only part of a large one."""
        path = self.folder / f"{name}.parquet"
        return pq.read_table(path, columns=[c for c in pq.read_schema(path).names if c not in drop])


class Publications:
    """The publications under one folder (``Settings.published``)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def stamp(self) -> tuple[int, int] | None:
        """Changes whenever a week is swapped in; None while nothing is published."""
        try:
            stat = os.stat(self.pointer)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def current(self) -> Publication:
        """The week ``CURRENT`` points at; raises NothingPublished when there is none."""
        try:
            name = self.pointer.read_text().strip()
            folder = self.root / name
            manifest = json.loads((folder / MANIFEST).read_text())
        except FileNotFoundError:
            raise NothingPublished("no week is published yet: run `continuity run`") from None
        return Publication(folder, manifest)

    def publish(self, score_date: date, model_name: str, model_version: str,
                tables: dict[str, pd.DataFrame], data_end: date | None = None) -> Publication:
        """Write every declared table, then swap the week in; returns the new publication. ``data_end``, the
        last day the data records anything, goes into the manifest, so the page can say how old the data is."""
        absent = sorted(set(TABLES) - set(tables))
        if absent:
            raise ValueError(f"a published week needs every declared table; missing {', '.join(absent)}")
        private_folder(self.root)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{score_date.isoformat()}_{stamp}_{uuid.uuid4().hex[:8]}"
        manifest = {"score_date": score_date.isoformat(), "model_name": model_name,
                    "model_version": str(model_version), "published_at": datetime.now(UTC).isoformat(),
                    "data_end": None if data_end is None else data_end.isoformat()}
        with private_files():  # every worker's risk: for the owner only, as all local state
            incoming = self.root / f".incoming-{name}"
            incoming.mkdir()
            manifest["rows"] = _write_tables(incoming, tables)
            (incoming / MANIFEST).write_text(json.dumps(manifest, indent=2))
            _sync(incoming)
            incoming.rename(self.root / name)
            swap = self.root / f".{POINTER}-{name}"
            swap.write_text(name + "\n")
            _sync(swap)
            os.replace(swap, self.pointer)
            _sync(self.root)
        self._prune(keep=name)
        return Publication(self.root / name, manifest)

    def _prune(self, keep: str) -> None:
        """Drop all but the newest KEEP publications, and folders a crashed run left half-written."""
        for leftover in self.root.glob(".incoming-*"):
            if time.time() - leftover.stat().st_mtime > ABANDONED_AFTER_S:  # not another run's, still writing
                shutil.rmtree(leftover, ignore_errors=True)
        folders = sorted((p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.name.split("_", 1)[1])
        for old in folders[:-KEEP]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)


def publish_week(settings: Settings, score_date: date, model_name: str, model_version: str,
                 week: dict[str, pd.DataFrame], data_end: date | None = None) -> Publication:
    """Record the week in the warehouse's history (with each probability's change since the week before,
    and the workers no longer scored), then swap it in as the published week the answers read."""
    # The week's date is the publication's, not a column of its tables.
    week = {name: frame.drop(columns="score_date", errors="ignore") for name, frame in week.items()}
    with connect(settings.warehouse) as con:
        week["risk_scores"] = with_changes(week["risk_scores"], week_before(con, score_date))
        record_week(con, score_date, {name: week[name] for name in HISTORY_TABLES})
        week["former_workers"] = former_workers(con, score_date)
    return Publications(settings.published).publish(score_date, model_name, model_version, week, data_end)


def with_changes(risk: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """The risk list with each probability's change since the previous published week (``previous``:
    that week's risk list); empty for a worker not scored then, or a horizon not published then."""
    before = previous.set_index("worker_id")
    changes = {}
    for h in HORIZONS:
        column = risk_column(h)
        earlier = before[column] if column in before.columns else pd.Series(dtype=float)
        changes[f"{column}_change"] = risk[column] - risk.worker_id.map(earlier).astype(float)
    return risk.assign(**changes)


def _write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Each declared table as a Parquet file in the folder, checked against its declaration; rows per table."""
    rows = {}
    for name, table in TABLES.items():
        frame = conform(table, tables[name])
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        rows[name] = len(frame)
    return rows


def _sync(path: Path) -> None:
    """Flush a file, or every file of a folder and the folder itself, to disk before it is pointed at."""
    targets = [*path.iterdir(), path] if path.is_dir() else [path]
    for target in targets:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
