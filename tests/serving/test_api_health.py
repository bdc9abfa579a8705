"""GET /health, the docs, and the 503 every data endpoint gives before anything is published."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from continuity.config import Settings

DATA_ENDPOINTS = ["/risk-list", "/workers/W001", "/workers/W001/exposure"]


def test_health_reports_the_served_week_and_its_model(client, published, latest_week):
    response = client.get("/health")
    week = published(
        "select count(*) as n, any_value(model_name) as name, any_value(model_version) as version from risk_scores where score_date = ?",
        latest_week,
    ).iloc[0]

    assert response.status_code == 200
    body = response.json()
    assert body | {"behind": None} == {
        "status": "ok", "week": latest_week.isoformat(),
        "workers_scored": week["n"], "model_name": week["name"], "model_version": week["version"], "detail": None,
        "data_end": (latest_week - timedelta(days=1)).isoformat(), "last_run": None, "up_to_date": False,
        "behind": None,
    }
    # The fixture's week is from 2024: long past its weekly schedule (tests/test_run_record.py has the rule).
    assert body["behind"].startswith(f"The scores are from the week of {latest_week}, older than")


def test_docs_describe_the_api(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    coc = schema["components"]["schemas"]["ClientExposure"]["properties"]["coc"]

    assert {"/risk-list", "/workers/{worker_id}", "/workers/{worker_id}/exposure", "/health"} <= set(schema["paths"])
    assert "null when undefined" in coc["description"]
    assert "503" in schema["paths"]["/risk-list"]["get"]["responses"]


def _unpublished(admin_client, tmp_path, state: str) -> TestClient:
    """A service over a home with nothing published: no folder, an empty one, or only a run's unfinished week."""
    settings = Settings(home=tmp_path / "home")
    if state != "no-folder":
        settings.published.mkdir(parents=True)
    if state == "unfinished":
        (settings.published / ".incoming-2024-06-10_x").mkdir()
    return admin_client(settings)


@pytest.mark.parametrize("state", ["no-folder", "empty-folder", "unfinished"])
def test_nothing_published_is_503_with_the_reason(admin_client, tmp_path, state):
    client = _unpublished(admin_client, tmp_path, state)

    for endpoint in DATA_ENDPOINTS:
        response = client.get(endpoint)
        assert response.status_code == 503, endpoint
        assert "run `continuity run`" in response.json()["detail"]
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "no_data"
    assert "no week is published" in health.json()["detail"]
    assert str(tmp_path) not in health.text


def test_bad_parameter_is_422_even_before_anything_is_published(admin_client, tmp_path):
    response = _unpublished(admin_client, tmp_path, "no-folder").get("/risk-list", params={"page_size": 501})

    assert response.status_code == 422
    assert "'page_size'" in response.json()["message"]
