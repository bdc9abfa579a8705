"""Session-wide fixtures: one tiny synthetic sector and one Prefect harness per test session.

Prefect without a server starts a temporary one (about 17 s) and MLflow spends about
9 s migrating a new SQLite store, so both are shared by every test that needs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

TINY_WORKERS = 160
TINY_YEARS = 3


@pytest.fixture
def con():
    """An empty in-memory warehouse for tests that load hand-made contract tables."""
    import duckdb

    with duckdb.connect() as connection:
        yield connection


@pytest.fixture(scope="session")
def tiny_sector(tmp_path_factory) -> Path:
    """A tiny synthetic sector written as export files (parquet), shared read-only by tests."""
    from continuity.synth.generate import generate_sector

    out = tmp_path_factory.mktemp("sector")
    generate_sector(out, workers=TINY_WORKERS, years=TINY_YEARS, seed=7, fmt="parquet")
    return out


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def weekly_run(tiny_sector, prefect_harness, tmp_path_factory):
    """The real weekly flow, run once on the tiny sector: (settings, result)."""
    from continuity.config import Settings
    from continuity.flows.weekly import weekly

    home = tmp_path_factory.mktemp("home")
    settings = Settings(home=home, export_dir=tiny_sector / "exports")
    return settings, weekly(settings=settings, retrain=True)
