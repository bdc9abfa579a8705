"""Roles and scopes: nobody gets a worker, a filter, an export or a page outside their token's scope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

INDIVIDUAL = ["/risk-list", "/risk-list.csv", "/risk-list.xlsx", "/workers/{w}", "/workers/{w}/exposure", "/teams/{t}"]


@pytest.fixture(scope="module")
def roster(published, latest_week):
    return published("select worker_id, organisation_id, team_id from risk_scores where score_date = ?", latest_week)


def _one(roster, column, value) -> str:
    return roster.loc[roster[column] == value, "worker_id"].iloc[0]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}])
def test_missing_or_unknown_token_is_401_with_a_bearer_challenge(app, headers):
    for path in ["/risk-list", "/workers/W001", "/audit", "/teams/team-a1"]:
        response = TestClient(app).get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_token_fails(as_role):
    response = as_role("revoked").get("/risk-list")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_health_and_docs_stay_public(app):
    anonymous = TestClient(app)
    schema = anonymous.get("/openapi.json").json()

    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/docs").status_code == 200
    scheme = schema["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert schema["paths"]["/workers/{worker_id}"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/health"]["get"]


@pytest.mark.parametrize("path", INDIVIDUAL)
def test_sector_never_reads_an_individual(as_role, path):
    response = as_role("sector").get(path.format(w="W001", t="team-a1"))

    assert response.status_code == 403
    assert "aggregates only" in response.json()["detail"]


@pytest.mark.parametrize(("role", "column", "mine", "theirs"), [
    ("hr_a", "organisation_id", "org-a", "org-b"),
    ("hr_b", "organisation_id", "org-b", "org-a"),
    ("manager_a1", "team_id", "team-a1", "team-a2"),
])
def test_scoped_token_sees_only_its_own_workers(as_role, roster, role, column, mine, theirs):
    client = as_role(role)
    listed = client.get("/risk-list", params={"page_size": 500}).json()
    exported = client.get("/risk-list.csv").text
    other, own = _one(roster, column, theirs), _one(roster, column, mine)

    assert {item[column] for item in listed["items"]} == {mine}
    assert listed["total"] == (roster[column] == mine).sum()
    assert other not in exported and own in exported
    assert client.get(f"/workers/{own}").status_code == 200
    for path in (f"/workers/{other}", f"/workers/{other}/exposure"):
        response = client.get(path)
        assert response.status_code == 403
        assert f"'{other}'" in response.json()["detail"] and "outside your scope" in response.json()["detail"]


@pytest.mark.parametrize(("role", "params"), [
    ("hr_a", {"organisation_id": "org-b"}),
    ("hr_a", {"team_id": "team-b1"}),
    ("manager_a1", {"team_id": "team-a2"}),
    ("manager_a1", {"organisation_id": "org-b"}),
    ("manager_a2_b1", {"team_id": "team-a1"}),
])
@pytest.mark.parametrize("path", ["/risk-list", "/risk-list.csv", "/risk-list.xlsx"])
def test_filter_outside_the_scope_is_403(as_role, role, params, path):
    response = as_role(role).get(path, params=params)

    assert response.status_code == 403
    assert next(iter(params.values())) in response.json()["detail"]


def test_manager_of_several_teams_sees_exactly_those(as_role, roster):
    body = as_role("manager_a2_b1").get("/risk-list", params={"page_size": 500}).json()

    assert {item["team_id"] for item in body["items"]} == {"team-a2", "team-b1"}
    assert body["total"] == roster["team_id"].isin(["team-a2", "team-b1"]).sum()


def test_scoped_token_gets_403_not_404_for_an_unknown_worker(as_role, client):
    """Otherwise the status would tell a scoped caller which ids exist elsewhere."""
    assert as_role("hr_a").get("/workers/no-such-worker").status_code == 403
    assert client.get("/workers/no-such-worker").status_code == 404


@pytest.mark.parametrize(("role", "team", "status"), [
    ("manager_a1", "team-a1", 200), ("manager_a1", "team-a2", 403), ("hr_a", "team-a2", 200), ("hr_a", "team-b1", 403),
])
def test_team_view_only_for_a_team_in_scope(as_role, role, team, status):
    assert as_role(role).get(f"/teams/{team}").status_code == status


@pytest.mark.parametrize("role", ["hr_a", "manager_a1", "sector"])
def test_only_admin_reads_the_audit_log(as_role, client, role):
    assert as_role(role).get("/audit").status_code == 403
    assert client.get("/audit").status_code == 200
