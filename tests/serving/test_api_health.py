"""GET /health, the docs, and the 503 every data endpoint gives before anything is published."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from continuity.warehouse import connect

DATA_ENDPOINTS = ["/risk-list", "/workers/W001", "/workers/W001/exposure"]


def test_health_reports_the_served_week_and_champion(client, published, latest_week, warehouse):
    response = client.get("/health")
    week = published(
        "select count(*) as n, any_value(model_name) as name, any_value(model_version) as version from risk_scores where score_date = ?",
        latest_week,
    ).iloc[0]

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "warehouse": str(warehouse), "warehouse_reachable": True, "week": latest_week.isoformat(),
        "workers_scored": week["n"], "model_name": week["name"], "model_version": week["version"], "detail": None,
    }


def test_docs_describe_the_api(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    coc = schema["components"]["schemas"]["ClientExposure"]["properties"]["coc"]

    assert {"/risk-list", "/workers/{worker_id}", "/workers/{worker_id}/exposure", "/health"} <= set(schema["paths"])
    assert "null when undefined" in coc["description"]
    assert "503" in schema["paths"]["/risk-list"]["get"]["responses"]


def _unpublished(admin_client, tmp_path, tables: str | None) -> TestClient:
    """A service over a warehouse that is missing (None), holds no tables (""), or holds empty ones."""
    path = tmp_path / "warehouse.duckdb"
    if tables is not None:
        with connect(path) as con:
            if tables:
                con.execute(tables)
    return admin_client(path)


EMPTY_TABLES = """
create table risk_scores (score_date DATE, worker_id VARCHAR, organisation_id VARCHAR, team_id VARCHAR, p_13w DOUBLE,
    p_26w DOUBLE, rank INTEGER, drivers VARCHAR, model_name VARCHAR, model_version VARCHAR);
create table survival_curves (score_date DATE, worker_id VARCHAR, week INTEGER, survival DOUBLE);
create table worker_exposure (score_date DATE, worker_id VARCHAR);
create table client_exposure (score_date DATE, worker_id VARCHAR);
"""


@pytest.mark.parametrize(
    ("tables", "reason"),
    [(None, "no warehouse"), ("", "missing"), ("create table risk_scores (score_date DATE)", "missing"), (EMPTY_TABLES, "no score week")],
    ids=["no-file", "no-tables", "some-tables", "empty-tables"],
)
def test_nothing_published_is_503_with_the_reason(admin_client, tmp_path, tables, reason):
    client = _unpublished(admin_client, tmp_path, tables)

    for endpoint in DATA_ENDPOINTS:
        response = client.get(endpoint)
        assert response.status_code == 503, endpoint
        assert reason in response.json()["detail"]
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "no_data"
    assert health.json()["warehouse_reachable"] is (tables is not None)
    assert reason in health.json()["detail"]


def test_bad_parameter_is_422_even_before_anything_is_published(admin_client, tmp_path):
    response = _unpublished(admin_client, tmp_path, None).get("/risk-list", params={"page_size": 501})

    assert response.status_code == 422
    assert "'page_size'" in response.json()["message"]
