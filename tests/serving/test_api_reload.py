"""The service keeps the published week in memory, picks up a newly published one, and never
waits on the weekly run: it reads only publications, which no writer touches once swapped in."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from continuity.config import Settings
from continuity.publication import Publications
from continuity.published import TABLES


@pytest.fixture
def home(settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the published home, so a test can publish into it."""
    shutil.copytree(settings.home, tmp_path / "home", ignore=shutil.ignore_patterns("access.db*"))
    return Settings(home=tmp_path / "home")


def _week(client: TestClient) -> str:
    response = client.get("/risk-list", params={"page_size": 1})
    assert response.status_code == 200
    return response.json()["week"]


def _publish_next_week(settings: Settings) -> None:
    """The current week again, a week later, swapped in as the weekly run does."""
    publications = Publications(settings.published)
    current = publications.current()
    tables = {name: current.table(name) for name in TABLES}
    publications.publish(current.score_date + timedelta(days=7), current.model_name, "5", tables)


def test_newly_published_week_is_served_without_restart(home, latest_week, admin_client):
    client = admin_client(home)
    assert _week(client) == latest_week.isoformat()

    _publish_next_week(home)

    assert _week(client) == (latest_week + timedelta(days=7)).isoformat()
    health = client.get("/health").json()
    assert health["week"] == (latest_week + timedelta(days=7)).isoformat() and health["model_version"] == "5"


def test_a_half_written_publication_is_not_served(home, latest_week, admin_client):
    client = admin_client(home)
    incoming = home.published / ".incoming-2099-01-05_x"
    incoming.mkdir()
    (incoming / "risk_scores.parquet").write_bytes(b"PAR1 half a file")

    assert _week(client) == latest_week.isoformat()
    assert admin_client(home).get("/risk-list").status_code == 200  # a fresh service too


def test_only_the_newest_publications_are_kept(home):
    for _ in range(4):
        _publish_next_week(home)
    folders = [p for p in home.published.iterdir() if p.is_dir()]
    assert len(folders) == 3
    assert Publications(home.published).current().folder in folders


@contextmanager
def _warehouse_held(path: Path) -> Iterator[None]:
    """Another process holding the warehouse for writing, as the weekly run does for minutes."""
    script = textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(path)!r})
        con.execute("create or replace table busy as select 1 as x")
        print("writing", flush=True)
        sys.stdin.readline()
        con.close()
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        yield
    finally:
        process.communicate("done\n", timeout=30)


def test_a_service_starts_and_serves_while_the_run_holds_the_warehouse(home, latest_week, admin_client):
    with _warehouse_held(home.warehouse):
        client = admin_client(home)
        assert _week(client) == latest_week.isoformat()
        _publish_next_week(home)
        assert _week(client) == (latest_week + timedelta(days=7)).isoformat()
