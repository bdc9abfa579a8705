"""A small published warehouse, written through the same tables the weekly flow publishes.

Two organisations, three teams, 36 workers over two score weeks (and the HR export's
occupations, one of them a spreadsheet formula to prove exports neutralise it): one worker is scored only
in the earlier week (left), two only in the latest (new hires), one has no clients, and
some clients have too few contacts for COC or knew no worker the year before (no KPC). Tests read expected values back from these
tables, not from this module, so the fixture can later be swapped for the real pipeline
output on a tiny sector.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token, revoke_token
from continuity.config import Settings
from continuity.features.feature_spec import BY_NAME, MODEL_FEATURES
from continuity.serving.app import create_app
from continuity.warehouse import connect

EARLIER_WEEK = date(2024, 6, 3)
LATEST_WEEK = date(2024, 6, 10)
MODEL_NAME = "continuity-voluntary-leaving"
TEAMS = {"team-a1": "org-a", "team-a2": "org-a", "team-b1": "org-b"}
WORKERS = [f"W{i:03d}" for i in range(1, 37)]
LEFT, HIRED, NO_CLIENTS = "W034", ("W035", "W036"), "W010"
OCCUPATIONS = ("maatschappelijk werker", "jeugd- en gezinswerker", "Wmo-consulent")
FORMULA_OCCUPATION = "=HYPERLINK(\"http://evil.example\",\"click\")"
FORMULA_WORKER = "W005"

DDL = """
create table if not exists risk_scores (
    score_date DATE, worker_id VARCHAR, organisation_id VARCHAR, team_id VARCHAR,
    p_13w DOUBLE, p_26w DOUBLE, rank INTEGER, drivers VARCHAR, model_name VARCHAR, model_version VARCHAR);
create table if not exists survival_curves (score_date DATE, worker_id VARCHAR, week INTEGER, survival DOUBLE);
create table if not exists worker_exposure (
    score_date DATE, worker_id VARCHAR, active_clients INTEGER, vulnerable_clients INTEGER,
    mean_relationship_weeks DOUBLE, weighted_clients DOUBLE, expected_exposure_13w DOUBLE, expected_exposure_26w DOUBLE);
create table if not exists client_exposure (
    score_date DATE, worker_id VARCHAR, client_id VARCHAR, role VARCHAR, domain VARCHAR, complexity INTEGER,
    vulnerable BOOLEAN, relationship_weeks DOUBLE, contact_share DOUBLE, usual_provider BOOLEAN,
    upc DOUBLE, coc DOUBLE, secon DOUBLE, mmci DOUBLE, kpc DOUBLE, distinct_workers_12m INTEGER,
    handovers_12m INTEGER, coc_drop DOUBLE, exposure DOUBLE);
"""


def _team(worker_id: str) -> str:
    return list(TEAMS)[(int(worker_id[1:]) - 1) // 12]


def _drivers(rng: np.random.Generator) -> str:
    features = rng.choice(MODEL_FEATURES, size=3, replace=False)
    contributions = sorted(rng.uniform(0.01, 0.4, size=3), reverse=True)
    return json.dumps([
        {"feature": f, "label": BY_NAME[f].label, "direction": str(rng.choice(["raises", "lowers"])), "contribution": c}
        for f, c in zip(features, contributions)
    ])


def _clients(score_date: date, worker_id: str, p_13w: float, p_26w: float, rng: np.random.Generator):
    rows = []
    for k in range(0 if worker_id == NO_CLIENTS else int(rng.integers(1, 6))):
        contacts = int(rng.integers(1, 20))
        share = float(rng.uniform(0.2, 1.0))
        coc = float(rng.uniform(0.1, 1.0)) if contacts >= 2 else np.nan
        rows.append({
            "score_date": score_date, "worker_id": worker_id,
            "client_id": hashlib.sha256(f"client-{worker_id}-{k}".encode()).hexdigest()[:16],
            "role": "primary" if k % 3 else "secondary", "domain": str(rng.choice(["wmo", "jeugd", "participatie"])),
            "complexity": int(rng.integers(1, 6)), "vulnerable": bool(rng.random() < 0.3),
            "relationship_weeks": float(rng.integers(1, 200)), "contact_share": share, "usual_provider": share >= 0.5,
            "upc": max(share, 0.5), "coc": coc, "secon": coc, "mmci": float(rng.uniform(0, 1)),
            "kpc": float(rng.uniform(0, 1)) if k else np.nan, "distinct_workers_12m": int(rng.integers(1, 5)),
            "handovers_12m": int(rng.integers(0, 4)), "coc_drop": coc * share if contacts >= 2 else 0.0,
            "exposure": float(rng.uniform(0, 3)),
        })
    clients = pd.DataFrame(rows)
    if clients.empty:
        return clients, None
    summary = {
        "score_date": score_date, "worker_id": worker_id, "active_clients": len(clients),
        "vulnerable_clients": int(clients["vulnerable"].sum()),
        "mean_relationship_weeks": float(clients["relationship_weeks"].mean()),
        "weighted_clients": float(clients["exposure"].sum()),
        "expected_exposure_13w": p_13w * float(clients["exposure"].sum()),
        "expected_exposure_26w": p_26w * float(clients["exposure"].sum()),
    }
    return clients, summary


def publish_week(con: duckdb.DuckDBPyConnection, score_date: date, workers: list[str], version: str, seed: int) -> None:
    """Append one score week to the published tables, as the weekly flow does."""
    rng = np.random.default_rng(seed)
    p_26w = rng.beta(2, 12, size=len(workers))
    p_13w = 1 - np.sqrt(1 - p_26w)
    risk = pd.DataFrame({
        "score_date": score_date, "worker_id": workers, "organisation_id": [TEAMS[_team(w)] for w in workers],
        "team_id": [_team(w) for w in workers], "p_13w": p_13w, "p_26w": p_26w,
        "rank": pd.Series(p_26w).rank(ascending=False, method="first").astype(int),
        "drivers": [_drivers(rng) for _ in workers], "model_name": MODEL_NAME, "model_version": version,
    })
    weeks = np.arange(53)
    curves = pd.DataFrame([
        {"score_date": score_date, "worker_id": w, "week": int(t), "survival": float((1 - p) ** (t / 26))}
        for w, p in zip(workers, p_26w) for t in weeks
    ])
    clients, summaries = [], []
    for w, p13, p26 in zip(workers, p_13w, p_26w):
        frame, summary = _clients(score_date, w, float(p13), float(p26), rng)
        clients.append(frame)
        if summary:
            summaries.append(summary)
    con.execute(DDL)
    for table, frame in (
        ("risk_scores", risk), ("survival_curves", curves),
        ("worker_exposure", pd.DataFrame(summaries)), ("client_exposure", pd.concat(clients, ignore_index=True)),
    ):
        con.register("published", frame)
        con.execute(f"insert into {table} by name select * from published")
        con.unregister("published")


def occupation(worker_id: str) -> str:
    return FORMULA_OCCUPATION if worker_id == FORMULA_WORKER else OCCUPATIONS[int(worker_id[1:]) % len(OCCUPATIONS)]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("published") / "warehouse.duckdb"
    with connect(path) as con:
        publish_week(con, EARLIER_WEEK, [w for w in WORKERS if w not in HIRED], version="3", seed=1)
        publish_week(con, LATEST_WEEK, [w for w in WORKERS if w != LEFT], version="4", seed=2)
        workers = pd.DataFrame({
            "worker_id": WORKERS, "organisation_id": [TEAMS[_team(w)] for w in WORKERS],
            "team_id": [_team(w) for w in WORKERS], "occupation": [occupation(w) for w in WORKERS],
        })
        con.execute("create table workers as select * from workers")
    return path


def authenticated(client: TestClient, token: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def admin_client(tmp_path: Path) -> Callable[[Path], TestClient]:
    """A client of a fresh service over the given warehouse holding an admin token, for tests about data, not scope."""

    def start(warehouse: Path) -> TestClient:
        settings = Settings(warehouse_path=warehouse, home=tmp_path)
        return authenticated(TestClient(create_app(settings)), create_token(settings, "admin"))

    return start


@pytest.fixture(scope="session")
def settings(warehouse: Path) -> Settings:
    return Settings(warehouse_path=warehouse, home=warehouse.parent)


@pytest.fixture(scope="session")
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> dict[str, str]:
    """One token per role and scope used in the scope tests; 'revoked' is an admin token, revoked."""

    made = {
        "admin": create_token(settings, "admin"),
        "hr_a": create_token(settings, "hr", organisation="org-a"),
        "hr_b": create_token(settings, "hr", organisation="org-b"),
        "manager_a1": create_token(settings, "manager", teams=["team-a1"]),
        "manager_a2_b1": create_token(settings, "manager", teams=["team-a2", "team-b1"]),
        "sector": create_token(settings, "sector"),
        "revoked": create_token(settings, "admin"),
    }
    assert revoke_token(settings, made["revoked"])
    return made


@pytest.fixture(scope="session")
def as_role(app, tokens) -> Callable[[str], TestClient]:
    """A client of the shared service holding the named token."""
    return lambda role: authenticated(TestClient(app), tokens[role])


@pytest.fixture(scope="session")
def client(as_role) -> Iterator[TestClient]:
    with as_role("admin") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def published(warehouse: Path) -> Callable[..., pd.DataFrame]:
    """Query the published tables read-only, for the values an answer must match."""

    def query(sql: str, *params: object) -> pd.DataFrame:
        with connect(warehouse, read_only=True) as con:
            return con.execute(sql, list(params)).df()

    return query


@pytest.fixture(scope="session")
def latest_week(published: Callable[..., pd.DataFrame]) -> date:
    return pd.Timestamp(published("select max(score_date) as d from risk_scores")["d"][0]).date()
