"""The service keeps the published week in memory and picks up a newly published one."""

from __future__ import annotations

import os
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

from continuity.serving.store import PUBLISHED_TABLES
from continuity.warehouse import connect


def _next_week(tables: tuple[str, ...]) -> str:
    """SQL publishing the latest week again, a week later, into the given tables."""
    return ";".join(
        f"insert into {t} select * replace (score_date + 7 as score_date) from {t} "
        f"where score_date = (select max(score_date) from {t})"
        for t in tables
    )


NEXT_WEEK = _next_week(PUBLISHED_TABLES)


@pytest.fixture
def copy(warehouse, tmp_path):
    """A private copy of the published warehouse, so a test can publish into it."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, path)
    return path


def _week(client: TestClient) -> str:
    response = client.get("/risk-list", params={"page_size": 1})
    assert response.status_code == 200
    return response.json()["week"]


def test_newly_published_week_is_served_without_restart(copy, latest_week, admin_client):
    client = admin_client(copy)
    assert _week(client) == latest_week.isoformat()

    with connect(copy) as con:
        con.execute(NEXT_WEEK)

    assert _week(client) == (latest_week + timedelta(days=7)).isoformat()
    assert client.get("/health").json()["week"] == (latest_week + timedelta(days=7)).isoformat()


def test_week_not_yet_in_every_table_is_not_served(copy, latest_week, admin_client):
    client = admin_client(copy)
    with connect(copy) as con:
        con.execute(_next_week(("risk_scores", "survival_curves")))

    assert _week(client) == latest_week.isoformat()
    assert client.get("/health").json()["week"] == latest_week.isoformat()


@contextmanager
def _flow_publishing(path: Path) -> Iterator[None]:
    """Another process holding the warehouse for writing, as the weekly flow does while it publishes."""
    script = textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(path)!r})
        con.execute({NEXT_WEEK!r})
        print("publishing", flush=True)
        sys.stdin.readline()
        con.close()
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "publishing"
        yield
    finally:
        process.communicate("done\n", timeout=30)


def test_week_in_memory_is_served_while_the_flow_writes(copy, latest_week, admin_client):
    client = admin_client(copy)
    assert _week(client) == latest_week.isoformat()

    with _flow_publishing(copy):
        os.utime(copy)  # the file changed under the service but cannot be opened yet
        assert _week(client) == latest_week.isoformat()
        fresh = admin_client(copy).get("/risk-list")
        assert fresh.status_code == 503
        assert int(fresh.headers["Retry-After"]) > 0
        assert "being written" in fresh.json()["detail"]

    assert _week(client) == (latest_week + timedelta(days=7)).isoformat()
