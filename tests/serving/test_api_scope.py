"""Roles and scopes: nobody gets a worker, a filter, an export or a page outside their token's scope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token, revoke_token

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


# What each scoped token of the fixture may read: the column of a worker record and its values.
SCOPES = {
    "hr_a": ("organisation_id", {"org-a"}), "hr_b": ("organisation_id", {"org-b"}),
    "manager_a1": ("team_id", {"team-a1"}), "manager_a2_b1": ("team_id", {"team-a2", "team-b1"}),
}


@pytest.fixture(scope="module")
def leaver(published, latest_week):
    """A worker scored in an earlier week but not the latest, with the organisation and team of their last score."""
    return published(
        "select worker_id, organisation_id, team_id from risk_scores where score_date < ? "
        "and worker_id not in (select worker_id from risk_scores where score_date = ?) order by score_date desc limit 1",
        latest_week, latest_week,
    ).iloc[0]


@pytest.mark.parametrize("suffix", ["", "/exposure"])
@pytest.mark.parametrize("role", list(SCOPES))
def test_scoped_token_gets_404_for_its_own_leaver_and_403_for_anyone_elses(as_role, client, leaver, role, suffix):
    """Nothing is read either way; the 403 is logged as a refused attempt, the 404 is no attempt at another's data."""
    column, scope = SCOPES[role]
    before = client.get("/audit", params={"worker_id": leaver.worker_id}).json()["total"]
    response = as_role(role).get(f"/workers/{leaver.worker_id}{suffix}")
    after = client.get("/audit", params={"worker_id": leaver.worker_id}).json()

    if leaver[column] in scope:
        assert response.status_code == 404
        assert "no score in the latest published week" in response.json()["detail"]
        assert after["total"] == before
    else:
        assert response.status_code == 403
        assert "outside your scope" in response.json()["detail"]
        assert (after["total"], after["items"][0]["status"]) == (before + 1, 403)


def test_the_fixture_has_a_leaver_inside_and_outside_each_kind_of_scope(leaver):
    """So that the test above sees both answers for hr and for managers."""
    for kind in ("hr", "manager"):
        inside = {leaver[column] in scope for role, (column, scope) in SCOPES.items() if role.startswith(kind)}
        assert inside == {True, False}


def test_handover_plan_for_ones_own_leaver_is_404(as_role, leaver):
    own = next(role for role, (column, scope) in SCOPES.items() if role.startswith("manager") and leaver[column] in scope)

    assert as_role(own).post("/handover-plans", json={"worker_id": leaver.worker_id}).status_code == 404


def test_revocation_by_another_process_holds_from_the_next_request(app, settings):
    token = create_token(settings, "hr", organisation="org-a")
    hr = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert hr.get("/workers/W001").status_code == 200

    assert revoke_token(settings, token)  # as `continuity token revoke` does, with its own connection
    assert hr.get("/workers/W001").status_code == 401


@pytest.mark.parametrize(("role", "team", "status"), [
    ("manager_a1", "team-a1", 200), ("manager_a1", "team-a2", 403), ("hr_a", "team-a2", 200), ("hr_a", "team-b1", 403),
])
def test_team_view_only_for_a_team_in_scope(as_role, role, team, status):
    assert as_role(role).get(f"/teams/{team}").status_code == status


@pytest.mark.parametrize("role", ["hr_a", "manager_a1", "sector"])
def test_only_admin_reads_the_audit_log(as_role, client, role):
    assert as_role(role).get("/audit").status_code == 403
    assert client.get("/audit").status_code == 200


@pytest.mark.parametrize("by", ["region", "organisation", "domain", "occupation"])
def test_a_sector_token_limited_to_a_region_gets_the_publics_cells_within_it_only(as_role, by):
    """Amsterdam (GM0363) holds team-a1 of org-a and all of org-b; org-a also works in Utrecht (GM0344)."""
    public = as_role("sector").get("/aggregates", params={"by": by, "horizon": 26}).json()
    limited = as_role("sector_amsterdam").get("/aggregates", params={"by": by, "horizon": 26}).json()
    inside = {"region": ["GM0363"], "organisation": ["org-b"]}
    assert {k: v for k, v in limited.items() if k != "cells"} == {k: v for k, v in public.items() if k != "cells"}
    assert [c for c in public["cells"] if c["key"] in {c["key"] for c in limited["cells"]}] == limited["cells"]
    if by in inside:
        assert [c["key"] for c in limited["cells"]] == inside[by]
    assert "GM0344" not in str(limited["cells"]) and "org-a" not in str(limited["cells"])


def test_the_sector_page_and_its_downloads_keep_to_the_tokens_regions(app, tokens):
    browser = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"}, cookies={"lang": "en"})
    landing = browser.post("/ui/login", data={"token": tokens["sector_amsterdam"]})
    assert landing.headers["location"] == "/ui/sector"
    page = browser.get("/ui/sector").text
    assert "Amsterdam" in page and "Utrecht" not in page and "limited to the regions GM0363" in page
    csv = browser.get("/ui/sector/cells.csv").text
    assert "GM0363" in csv and "GM0344" not in csv and "org-a" not in csv
