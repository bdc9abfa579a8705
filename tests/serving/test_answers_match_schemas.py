"""Every JSON answer is exactly what its declared response model says, for a sample of workers per role.

Most answers are serialised once per week and sent as stored bytes, bypassing FastAPI's response
validation; this proves the bytes and the OpenAPI document cannot drift apart. An answer matches
when its model accepts it and gives back the very same JSON: no field missing, none extra, no
value of another type.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from continuity.serving.schemas import AuditPage, Health, RiskList, TeamView, WorkerExposure, WorkerRisk
from continuity.serving.schemas_planning import AggregateBy, Aggregates, HandoverPlanResponse

ROLES = ("admin", "hr_a", "manager_a1")
SAMPLE = 4


def assert_matches(model: type[BaseModel], body: dict) -> None:
    parsed = model.model_validate(body)
    assert parsed.model_dump(mode="json") == body, model.__name__


def _visible(client) -> list[dict]:
    return client.get("/risk-list", params={"page_size": 500}).json()["items"]


@pytest.mark.parametrize("role", ROLES)
def test_individual_answers_match_their_models(as_role, role):
    client = as_role(role)
    for horizon in (13, 26, 52):
        body = client.get("/risk-list", params={"page_size": 7, "horizon": horizon}).json()
        assert body["items"], role
        assert_matches(RiskList, body)
    workers = _visible(client)
    step = max(1, len(workers) // SAMPLE)
    for item in workers[::step]:
        assert_matches(WorkerRisk, client.get(f"/workers/{item['worker_id']}").json())
        assert_matches(WorkerExposure, client.get(f"/workers/{item['worker_id']}/exposure").json())
    for team in sorted({item["team_id"] for item in workers}):
        assert_matches(TeamView, client.get(f"/teams/{team}").json())
    leaver = max(workers, key=lambda item: item["p_26w"])["worker_id"]
    plan = client.post("/handover-plans", json={"worker_id": leaver})
    assert plan.status_code == 200, plan.text
    assert_matches(HandoverPlanResponse, plan.json())


@pytest.mark.parametrize("role", ("admin", "hr_a", "sector"))
def test_aggregate_answers_match_their_model(as_role, role):
    client = as_role(role)
    for by in AggregateBy:
        for horizon in (13, 26, 52):
            assert_matches(Aggregates, client.get("/aggregates", params={"by": by.value, "horizon": horizon}).json())


def test_health_and_audit_answers_match_their_models(as_role):
    admin = as_role("admin")
    assert_matches(Health, admin.get("/health").json())
    admin.get("/risk-list")
    assert_matches(AuditPage, admin.get("/audit", params={"page_size": 20}).json())
