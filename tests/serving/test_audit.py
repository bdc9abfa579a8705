"""Tokens and the audit log: stored hashed, revocable from the CLI's functions, every individual read recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from continuity.access import AccessStore, ScopeError, create_token, list_tokens, revoke_token
from continuity.config import Settings


@pytest.fixture
def own_settings(tmp_path) -> Settings:
    return Settings(home=tmp_path)


def test_token_is_stored_only_as_its_hash(own_settings):
    token = create_token(own_settings, "hr", organisation="org-a")
    grant = AccessStore(own_settings.access_db).authenticate(token)

    assert (grant.role.value, grant.organisation_id, grant.teams) == ("hr", "org-a", frozenset())
    assert token.encode() not in own_settings.access_db.read_bytes()
    assert len(token) >= 40


@pytest.mark.parametrize("by", ["token", "id"])
def test_revoke_by_token_or_id_and_only_once(own_settings, by):
    token = create_token(own_settings, "manager", teams=["team-a1", "team-a2"])
    (listed,) = list_tokens(own_settings)
    handle = token if by == "token" else listed["token_id"]

    assert listed["teams"] == ["team-a1", "team-a2"] and listed["revoked_at"] is None
    assert revoke_token(own_settings, handle) is True
    assert revoke_token(own_settings, handle) is False
    assert AccessStore(own_settings.access_db).authenticate(token) is None
    assert list_tokens(own_settings)[0]["revoked_at"] is not None


@pytest.mark.parametrize(("role", "organisation", "teams"), [
    ("hr", None, ()), ("hr", "org-a", ("team-a1",)), ("manager", None, ()), ("manager", "org-a", ("team-a1",)),
    ("sector", "org-a", ()), ("admin", None, ("team-a1",)),
])
def test_scope_must_fit_the_role(own_settings, role, organisation, teams):
    with pytest.raises(ScopeError):
        create_token(own_settings, role, organisation=organisation, teams=teams)


def test_unknown_role_is_refused(own_settings):
    with pytest.raises(ValueError):
        create_token(own_settings, "owner")


def _entries(client, **params):
    return client.get("/audit", params={"page_size": 500, **params}).json()


def test_every_individual_read_is_recorded_with_who_what_and_where(as_role, client, tokens, app):
    hr = as_role("hr_a")
    token_id = app.state.access.authenticate(tokens["hr_a"]).token_id
    started = datetime.now(UTC)
    listed = [i["worker_id"] for i in hr.get("/risk-list", params={"page_size": 5}).json()["items"]]
    hr.get(f"/workers/{listed[0]}")
    hr.get(f"/workers/{listed[1]}/exposure")
    exported = hr.get("/risk-list.csv").text

    entries = _entries(client, token_id=token_id, since=started.isoformat())["items"]
    by_endpoint = {entry["endpoint"]: entry for entry in reversed(entries)}  # the newest read per endpoint

    assert by_endpoint["GET /risk-list"]["worker_ids"] == listed
    assert by_endpoint["GET /workers/{worker_id}"]["worker_ids"] == [listed[0]]
    assert by_endpoint["GET /workers/{worker_id}/exposure"]["worker_ids"] == [listed[1]]
    assert all(w in exported for w in by_endpoint["GET /risk-list.csv"]["worker_ids"])
    assert {entry["role"] for entry in entries} == {"hr"}


def test_refused_reads_are_not_recorded_as_reads(as_role, client):
    before = _entries(client, worker_id="W030")["total"]
    assert as_role("manager_a1").get("/workers/W030").status_code == 403

    assert _entries(client, worker_id="W030")["total"] == before


def test_audit_filters_by_worker_endpoint_and_time_and_pages(as_role, client):
    manager = as_role("manager_a1")
    for _ in range(3):
        manager.get("/workers/W002")
    by_worker = _entries(client, worker_id="W002", endpoint="GET /workers/{worker_id}")
    page = client.get("/audit", params={"worker_id": "W002", "page_size": 2, "page": 2}).json()
    future = _entries(client, since=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    past = _entries(client, until="2000-01-01T00:00:00")

    assert by_worker["total"] >= 3
    assert all(e["worker_ids"] == ["W002"] and e["endpoint"] == "GET /workers/{worker_id}" for e in by_worker["items"])
    assert [e["id"] for e in by_worker["items"]] == sorted((e["id"] for e in by_worker["items"]), reverse=True)
    assert len(page["items"]) == min(2, page["total"] - 2)
    assert future["total"] == past["total"] == 0
