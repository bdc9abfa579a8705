"""Local state is created for its owner only: the access database, the warehouse, the MLflow store,
the folders they live in, and the files SQLite and DuckDB add beside them."""

from __future__ import annotations

import os
import stat

from datetime import date

import pandas as pd
import pytest

from continuity.access import AccessStore, Grant, Role
from continuity.config import Settings
from continuity.private import private_files
from continuity.publication import Publications
from continuity.published import TABLES
from continuity.serving.auditing import AuditJournal
from continuity.warehouse import connect

FILE, FOLDER = 0o600, 0o700
HR = Grant("tok_hr", Role.hr, "org-a")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A home that does not exist yet, two levels below a folder that does (and keeps its mode)."""
    os.chmod(tmp_path, 0o755)
    return Settings(home=tmp_path / "state" / "var")


def test_access_db_its_journal_and_its_folders_are_owner_only(settings):
    journal = AuditJournal(AccessStore(settings.access_db))
    journal.record(HR, "GET /workers/{worker_id}", ["W1"])
    journal.apply()
    journal.record(HR, "GET /workers/{worker_id}", ["W2"])  # a journal file stays open

    database = settings.access_db
    assert {mode(p) for p in (database, f"{database}-wal", f"{database}-shm", journal._current)} == {FILE}
    assert {mode(p) for p in (settings.home, settings.home.parent, journal.folder)} == {FOLDER}
    assert mode(settings.home.parent.parent) == 0o755


def test_the_warehouse_and_its_write_ahead_log_are_owner_only(settings):
    with connect(settings.warehouse) as con:
        con.execute("create table scores as select 1 as p")
        con.execute("insert into scores values (2)")
        wal = mode(f"{settings.warehouse}.wal")

    assert (mode(settings.warehouse), wal, mode(settings.home)) == (FILE, FILE, FOLDER)


def test_the_mlflow_store_and_its_artifact_folder_are_owner_only(settings):
    from continuity.models.registry import experiment_id, tracking_client

    settings.home.mkdir(parents=True)
    experiment_id(tracking_client(settings), settings)

    assert (mode(settings.home / "mlflow.db"), mode(settings.artifact_root)) == (FILE, FOLDER)


def test_a_published_week_its_files_and_pointer_are_owner_only(settings):
    publications = Publications(settings.published)
    empty = {name: pd.DataFrame({c.name: pd.Series(dtype=object) for c in table.columns}) for name, table in TABLES.items()}
    publication = publications.publish(date(2024, 6, 10), "model", "1", empty)

    files = [*publication.folder.iterdir(), publications.pointer]
    assert {mode(p) for p in files} == {FILE}
    assert {mode(p) for p in (settings.published, publication.folder)} == {FOLDER}


def test_the_umask_is_restored_when_the_last_overlapping_holder_leaves():
    before = os.umask(0o022)
    try:
        first, second = private_files(), private_files()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # as a thread that finished while another still creates files
        still = os.umask(0o077)
        os.umask(still)
        second.__exit__(None, None, None)
        after = os.umask(0o022)
    finally:
        os.umask(before)

    assert (still, after) == (0o077, 0o022)
