"""The model card (every role, HTML or Markdown, linked from every page) and the drift check (admin only)."""

from __future__ import annotations

import pytest

from continuity.models.card import SECTIONS
from continuity.publication import Publications


@pytest.mark.parametrize("role", ["admin", "hr_a", "manager_a1", "sector"])
def test_every_role_reads_the_card_of_the_version_that_scored_the_week(as_role, settings, role):
    publication = Publications(settings.published).current()
    published = publication.table("model_card").set_index("format")["text"]
    page = as_role(role).get("/models/champion/card")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert published["html"] in page.text
    assert f"v{publication.model_version}" in page.text
    markdown = as_role(role).get("/models/champion/card", params={"format": "markdown"})
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text == published["markdown"]
    assert [line[2:] for line in markdown.text.splitlines() if line.startswith("# ")] == list(SECTIONS)


def test_the_card_needs_a_token_and_a_known_format(app, as_role):
    from fastapi.testclient import TestClient

    assert TestClient(app).get("/models/champion/card").status_code == 401
    assert as_role("revoked").get("/models/champion/card").status_code == 401
    assert as_role("admin").get("/models/champion/card", params={"format": "pdf"}).status_code == 422


def test_every_page_links_to_the_card(as_role, latest_week, published):
    worker = published("select worker_id from risk_scores where score_date = ? and organisation_id = 'org-a' "
                       "limit 1", latest_week)["worker_id"][0]
    client = as_role("hr_a")
    for path in ("/ui/risk-list", f"/ui/workers/{worker}", "/ui/teams/team-a1", "/models/champion/card"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'href="/models/champion/card"' in page.text, path


def test_monitoring_is_for_the_admin_with_the_published_checks_and_alerts(as_role, settings):
    checks = Publications(settings.published).current().table("monitoring")
    answer = as_role("admin").get("/monitoring")
    assert answer.status_code == 200
    body = answer.json()
    assert [f["feature"] for f in body["features"]] == checks.loc[checks.kind == "feature", "feature"].tolist()
    caseload = next(f for f in body["features"] if f["feature"] == "caseload")
    assert caseload["alert"] and caseload["psi"] >= 0.25 and caseload["test"] == "ks"
    assert [o["horizon"] for o in body["outcomes"]] == [13, 26]
    thirteen, twenty_six = body["outcomes"]
    assert thirteen["observed_expected"] == 2.5 and thirteen["alert"] and thirteen["oe_low"] > 1.25
    assert (thirteen["oe_low"], thirteen["oe_high"]) == tuple(checks.loc[checks.horizon == 13, ["oe_low", "oe_high"]].iloc[0])
    assert twenty_six["oe_low"] < 1.0 < twenty_six["oe_high"] and not twenty_six["alert"]
    assert body["alerts"] == checks.loc[checks.alert, "reason"].tolist() and len(body["alerts"]) == 2
    for role in ("hr_a", "manager_a1", "sector"):
        assert as_role(role).get("/monitoring").status_code == 403, role
