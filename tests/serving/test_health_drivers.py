"""Sick-leave drivers are health data: hr (and the worker) read them, managers and admins do not, and for
every reader the shown hazard ratios times the other factors are the worker's relative hazard."""

from __future__ import annotations

import json
import math

import pytest
from test_web import _logged_in


@pytest.fixture(scope="module")
def health_worker(published, latest_week) -> dict:
    """A worker of team-a1 (org-a) whose published drivers include a health driver."""
    rows = published("select * from risk_scores where score_date = ? and team_id = 'team-a1' order by worker_id",
                     latest_week)
    for row in rows.itertuples():
        drivers = json.loads(row.drivers)
        if any(d["health"] for d in drivers):
            return {"worker_id": row.worker_id, "drivers": drivers, "other_factors": row.other_factors,
                    "relative_hazard": row.relative_hazard}
    raise AssertionError("the fixture week has no team-a1 worker with a health driver")


def _product(body: dict) -> float:
    return math.prod(d["hazard_ratio"] for d in body["drivers"]) * body["other_factors"]


def test_hr_reads_the_health_driver(as_role, health_worker):
    body = as_role("hr_a").get(f"/workers/{health_worker['worker_id']}").json()
    assert body["drivers"] == health_worker["drivers"]
    assert body["other_factors"] == pytest.approx(health_worker["other_factors"], rel=1e-12)
    assert _product(body) == pytest.approx(body["relative_hazard"], rel=1e-9)


@pytest.mark.parametrize("role", ["manager_a1", "admin"])
def test_managers_and_admins_get_the_drivers_without_health_and_an_exact_product(as_role, role, health_worker):
    body = as_role(role).get(f"/workers/{health_worker['worker_id']}").json()
    assert body["drivers"] == [d for d in health_worker["drivers"] if not d["health"]]
    assert body["relative_hazard"] == pytest.approx(health_worker["relative_hazard"], rel=1e-12)
    assert _product(body) == pytest.approx(health_worker["relative_hazard"], rel=1e-9)
    listed = as_role(role).get("/risk-list", params={"team_id": "team-a1", "page_size": 500}).json()["items"]
    assert listed and not any(d["health"] for item in listed for d in item["drivers"])
    assert all(_product(item) == pytest.approx(item["relative_hazard"], rel=1e-9) for item in listed)


def test_hr_risk_list_keeps_health_drivers(as_role):
    listed = as_role("hr_a").get("/risk-list", params={"page_size": 500}).json()["items"]
    assert any(d["health"] for item in listed for d in item["drivers"])


def test_the_worker_page_shows_a_manager_no_health_driver(app, tokens, health_worker):
    health_label = next(d["label"] for d in health_worker["drivers"] if d["health"])
    page = _logged_in(app, tokens["manager_a1"]).get(f"/ui/workers/{health_worker['worker_id']}").text
    assert "other factors" in page and health_label not in page
    hr_page = _logged_in(app, tokens["hr_a"]).get(f"/ui/workers/{health_worker['worker_id']}").text
    assert health_label in hr_page
