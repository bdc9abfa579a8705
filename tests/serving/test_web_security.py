"""The web page against a hostile site or a stolen cookie: sessions, forms from elsewhere, headers, links."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token, revoke_token
from continuity.serving.app import create_app
from continuity.serving.auth import COOKIE

SITE = "http://testserver"  # the TestClient's own origin
FOREIGN = {"Origin": "http://evil.example"}


def _login(app, token: str, sender: dict[str, str] | None = None):
    """POST the login form with the headers naming the page it was sent from (this site's by
    default); the client, holding any cookie set, and the answer."""
    browser = TestClient(app, follow_redirects=False)
    return browser, browser.post("/ui/login", data={"token": token}, headers={"Origin": SITE} if sender is None else sender)


def _session(app, token: str) -> str:
    response = _login(app, token)[1]
    assert response.status_code == 303
    return response.cookies[COOKIE]


def _with_cookie(app, session: str, path: str = "/ui/risk-list"):
    """A request carrying nothing but a copy of the cookie, as whoever took it would send it."""
    return TestClient(app, follow_redirects=False).get(path, headers={"Cookie": f"{COOKIE}={session}"})


def test_the_cookie_holds_a_session_that_expires_never_the_token(app, tokens):
    response = _login(app, tokens["hr_a"])[1]
    cookie = response.headers["set-cookie"].lower()

    assert tokens["hr_a"] not in response.headers["set-cookie"]
    assert "max-age=28800" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert _with_cookie(app, response.cookies[COOKIE]).status_code == 200


def test_a_session_ends_when_its_hours_are_over(settings):
    app = create_app(settings.model_copy(update={"session_hours": 0.5 / 3600}))
    token = create_token(settings, "admin")
    response = _login(app, token)[1]
    session = response.cookies[COOKIE]

    assert "max-age=1" in response.headers["set-cookie"].lower()
    assert _with_cookie(app, session).status_code == 200
    time.sleep(0.6)
    assert _with_cookie(app, session).headers["location"] == "/ui/login"


def test_logout_ends_the_session_on_the_server(app, tokens):
    browser, response = _login(app, tokens["manager_a1"])
    session = response.cookies[COOKIE]

    assert browser.post("/ui/logout", headers={"Origin": SITE}).status_code == 303
    assert _with_cookie(app, session).headers["location"] == "/ui/login"


def test_revoking_the_token_ends_its_sessions(app, settings):
    token = create_token(settings, "hr", organisation="org-b")
    session = _session(app, token)
    assert _with_cookie(app, session).status_code == 200

    revoke_token(settings, token)
    assert _with_cookie(app, session).headers["location"] == "/ui/login"


@pytest.mark.parametrize(
    "sender",
    [FOREIGN, {"Referer": "http://evil.example/page"}, {"Origin": "null"}, {"Origin": "http://testserver.evil.example"}, {}],
    ids=["foreign-origin", "foreign-referer", "opaque-origin", "lookalike-host", "no-origin"],
)
def test_login_and_logout_from_another_site_are_refused(app, tokens, sender):
    response = _login(app, tokens["hr_a"], sender)[1]

    assert response.status_code == 403
    assert "set-cookie" not in response.headers and "another site" in response.text
    session = _session(app, tokens["hr_a"])
    forced = TestClient(app, follow_redirects=False).post("/ui/logout", headers={**sender, "Cookie": f"{COOKIE}={session}"})
    assert forced.status_code == 403
    assert _with_cookie(app, session).status_code == 200


def test_a_form_from_this_sites_page_may_name_it_in_the_referer_alone(app, tokens):
    response = _login(app, tokens["hr_a"], {"Referer": f"{SITE}/ui/login"})[1]

    assert response.status_code == 303


def test_a_cookie_borne_post_from_another_site_is_refused(app, tokens):
    session = _session(app, tokens["hr_a"])
    response = TestClient(app).post(
        "/scenarios", json={"scenario": "caseload_at_norm"}, headers={**FOREIGN, "Cookie": f"{COOKIE}={session}"},
    )

    assert response.status_code == 403
    assert "another site" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"token=\xff", b"token=%ff%fe"], ids=["raw-byte", "percent-encoded"])
def test_a_login_form_that_is_not_utf8_is_a_400(app, body):
    response = TestClient(app).post(
        "/ui/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": SITE},
    )

    assert response.status_code == 400
    assert "geen geldige UTF-8" in response.text  # the page's default language, Dutch


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle=", re.IGNORECASE)


def test_every_answer_carries_the_security_headers(app, tokens):
    browser, _ = _login(app, tokens["manager_a1"])
    answers = {
        path: browser.get(path)
        for path in ["/ui/login", "/ui/risk-list", "/ui/workers/W001", "/ui/teams/team-a1", "/ui/teams/team-b1",
                     "/workers/W001", "/risk-list", "/health", "/no-such-page", "/static/style.css"]
    }
    answers["413"] = browser.post("/scenarios", content=b"x" * 2_000_000)

    for path, answer in answers.items():
        csp = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp, path
        assert answer.headers.get("x-content-type-options") == "nosniff", path
        assert answer.headers.get("referrer-policy") == "same-origin", path
        assert (answer.headers.get("cache-control") == "no-store") is (path != "/static/style.css"), path
    for path in ["/ui/login", "/ui/risk-list", "/ui/workers/W001", "/ui/teams/team-a1", "/ui/teams/team-b1"]:
        assert not INLINE_SCRIPT.search(answers[path].text) and not INLINE_STYLE.search(answers[path].text), path


def test_docs_run_no_inline_script_and_the_address_leads_to_the_page(app):
    client = TestClient(app, follow_redirects=False)
    docs = client.get("/docs")

    assert docs.status_code == 200
    assert not INLINE_SCRIPT.search(docs.text) and '<script src="/static/docs.js">' in docs.text
    assert "SwaggerUIBundle(" in client.get("/static/docs.js").text
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert client.get("/").headers["location"] == "/ui"
    assert client.get("/ui/").headers["location"] == "/ui/risk-list"


def test_ids_holding_a_slash_are_linked_encoded_and_open(settings, tokens):
    """An HR export's team id may hold a '/': the link must carry it as one path segment."""
    app = create_app(settings)
    team = "north/a1"
    for record in app.state.store.current().ranked:
        if record["team_id"] == "team-a1":
            record["team_id"] = team
    browser, _ = _login(app, tokens["admin"])
    link = f"/ui/teams/{quote(team, safe='')}"

    assert f'href="{link}?horizon=26"' in browser.get("/ui/risk-list").text
    assert f'href="{link}"' in browser.get("/ui/workers/W001").text
    page = browser.get(link)
    assert page.status_code == 200 and f"Team {team}" in page.text
