"""MLflow's tracking store on PostgreSQL (CONTINUITY_MLFLOW_TRACKING_URI=postgresql+psycopg2://...), as production
runs it: a real server from Debian's postgresql package, and the project's own registry functions.

Skipped, with the reason, only where no server is installed; `make test` installs it (Makefile), so CI runs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from model_frames import fitted

from continuity.config import Settings
from continuity.models.registry import CHAMPION, load_champion, log_forecaster, promote, register_version

# Debian installs each major version's server programs here, outside PATH.
POSTGRES_BINARIES = Path("/usr/lib/postgresql")
DATABASE, ROLE = "mlflow", "continuity"


def _server_programs() -> Path | None:
    found = sorted(POSTGRES_BINARIES.glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 and a free port, its cluster in a temporary folder, removed afterwards;
    yields the SQLAlchemy URL of an empty database. PostgreSQL refuses to run as root: as root, the server
    runs as the package's `postgres` user."""
    programs = _server_programs()
    if programs is None:
        pytest.skip(f"no PostgreSQL server under {POSTGRES_BINARIES}: install Debian's postgresql package "
                    "(`make test` does)")
    pytest.importorskip("psycopg2", reason="the postgres extra is not installed (`make test` installs it)")
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # Not under pytest's own temporary folder, which is root's alone: the postgres user must reach this one.
    folder = Path(tempfile.mkdtemp(prefix="continuity-pg-"))
    if as_owner:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    try:
        subprocess.run([*as_owner, str(programs / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_owner, str(programs / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                        "-w", "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start"],
                       check=True, capture_output=True)
        subprocess.run([*as_owner, str(programs / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", ROLE,
                        DATABASE], check=True, capture_output=True)
        yield f"postgresql+psycopg2://{ROLE}@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run([*as_owner, str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _rows(url: str, sql: str) -> list[tuple]:
    import psycopg2

    dsn = url.replace("postgresql+psycopg2", "postgresql")
    with closing(psycopg2.connect(dsn)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_a_champion_is_logged_registered_promoted_and_loaded_through_postgresql(postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("CONTINUITY_MLFLOW_TRACKING_URI", postgres)
    settings = Settings(home=tmp_path)  # the URI from the environment, as an operator sets it
    assert settings.tracking_uri == postgres
    split, forecaster = fitted("cox")

    run_id = log_forecaster(forecaster, {"c_index": 0.71}, {"holdout_weeks": 12}, settings)
    version = register_version(run_id, settings, passed_gate=True)
    promote(settings, version)
    champion = load_champion(settings)

    assert (champion.version, champion.run_id) == (version, run_id)
    rows = split.test_snapshots.head(50)
    pd.testing.assert_frame_equal(champion.forecaster.predict_risk(rows), forecaster.predict_risk(rows))
    # The rows are PostgreSQL's: the run with its metric, the version and the alias.
    assert _rows(postgres, "select run_uuid, status from runs") == [(run_id, "FINISHED")]
    assert _rows(postgres, f"select value from metrics where run_uuid = '{run_id}' and key = 'c_index'") == [(0.71,)]
    assert _rows(postgres, "select name, version, run_id from model_versions") == [
        (settings.registered_model_name, int(version), run_id)]
    assert _rows(postgres, "select alias, version from registered_model_aliases") == [(CHAMPION, int(version))]
