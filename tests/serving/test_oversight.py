"""Human oversight and the worker's own view: reviews within scope, the worker token that reaches /me and
nothing else, and the advisory notice with the uses out of scope on every page and export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import openpyxl
import pandas as pd
import pytest
from conftest import LATEST_WEEK, LEFT, WITHHELD_REASON, WORKERS, publish_fixture_week
from fastapi.testclient import TestClient

from continuity.access import AccessStore, create_token
from continuity.advisory import NOTICE, OUT_OF_SCOPE_USES
from continuity.config import Settings
from continuity.serving.app import create_app

SITE = "http://testserver"
OWN, COLLEAGUE = "W001", "W002"  # team-a1, org-a
OTHER_ORGANISATION = "W030"  # team-b1, org-b


@pytest.fixture(scope="module")
def worker_token(settings) -> str:
    return create_token(settings, "worker", worker=OWN)


def _bearer(app, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def as_worker(app, worker_token) -> TestClient:
    return _bearer(app, worker_token)


def _token_id(settings, token: str) -> str:
    return AccessStore(settings.access_db).authenticate(token).token_id


def _logged_in(app, token: str) -> TestClient:
    browser = TestClient(app, follow_redirects=False, headers={"Origin": SITE}, cookies={"lang": "en"})
    assert browser.post("/ui/login", data={"token": token}).status_code == 303
    return browser


# the worker's own view


def test_me_lists_an_hr_read_of_that_worker(as_role, as_worker):
    before = as_worker.get("/me").json()["reads_total"]
    assert as_role("hr_a").get(f"/workers/{OWN}").status_code == 200

    me = as_worker.get("/me").json()

    assert me["reads_total"] == before + 1
    assert me["reads"][0]["role"] == "hr" and me["reads"][0]["endpoint"] == "GET /workers/{worker_id}"
    assert "token_id" not in me["reads"][0]
    assert all(read["role"] != "worker" for read in me["reads"])  # the worker's own reads are not listed back


def test_me_shows_the_forecast_with_its_interval_every_driver_and_the_data_used(as_worker, published, latest_week):
    me = as_worker.get("/me").json()
    row = published("select * from risk_scores where score_date = ? and worker_id = ?", latest_week, OWN).iloc[0]
    inputs = published("select label from model_inputs")["label"].tolist()

    assert me["worker_id"] == OWN and me["scored"] and me["week"] == str(latest_week)
    figures = {f["horizon"]: [f["probability"], f["low"], f["high"]] for f in me["probabilities"]}
    assert me["withheld"] is None and pd.isna(row["withheld"])
    assert figures == {h: pytest.approx([row[f"p_{h}w"], row[f"p_{h}w_low"], row[f"p_{h}w_high"]]) for h in (13, 26, 52)}
    assert all(low < p < high for p, low, high in figures.values())
    assert [d["feature"] for d in me["drivers"]] == [d["feature"] for d in json.loads(row["drivers"])]
    assert [i["label"] for i in me["data_used"]] == inputs and "HR export" in me["data_sources"]
    assert me["card"] == "/models/champion/card" and me["notice"] == NOTICE


def test_a_withheld_probability_is_null_on_me_with_its_reason(tmp_path):
    home = Settings(home=tmp_path)
    publish_fixture_week(home, LATEST_WEEK, [w for w in WORKERS if w != LEFT], version="4", seed=2, withheld=(OWN,))

    me = _bearer(create_app(home), create_token(home, "worker", worker=OWN)).get("/me").json()

    assert me["withheld"] == WITHHELD_REASON
    assert all(f["probability"] is f["low"] is f["high"] is None for f in me["probabilities"])
    assert [f["horizon"] for f in me["probabilities"]] == [13, 26, 52] and me["drivers"]


def test_health_drivers_are_shown_to_the_worker(app, settings, published, latest_week):
    """The worker sees every driver of their forecast, the health ones too, which a manager does not."""
    rows = published("select worker_id, drivers from risk_scores where score_date = ? and withheld is null", latest_week)
    worker_id, drivers = next((w, json.loads(d)) for w, d in zip(rows.worker_id, rows.drivers)
                              if any(driver["health"] for driver in json.loads(d)))
    me = _bearer(app, create_token(settings, "worker", worker=worker_id)).get("/me").json()

    assert [d["feature"] for d in me["drivers"]] == [d["feature"] for d in drivers]
    assert {d["feature"] for d in drivers if d["health"]} <= {d["feature"] for d in me["drivers"]}


def test_me_is_audited_as_a_read_of_the_worker(as_worker, client):
    as_worker.get("/me")
    entries = client.get("/audit", params={"worker_id": OWN, "endpoint": "GET /me"}).json()

    assert entries["total"] >= 1 and entries["items"][0]["role"] == "worker"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"/workers/{COLLEAGUE}", None),
    ("GET", f"/workers/{OWN}", None),  # their own record too: only through /me
    ("GET", f"/workers/{OWN}/exposure", None),
    ("POST", f"/workers/{OWN}/reviews", {"action": "disputed", "note": "mine"}),
    ("GET", "/risk-list", None),
    ("GET", "/risk-list.csv", None),
    ("GET", "/teams/team-a1", None),
    ("GET", "/aggregates?by=region", None),
    ("POST", "/scenarios", {"scenario": "caseload_at_norm", "horizon": 26}),
    ("POST", "/handover-plans", {"worker_id": OWN}),
    ("GET", "/audit", None),
    ("GET", "/reviews?action=disputed", None),
    ("GET", "/monitoring", None),
    ("GET", "/ui/risk-list", None),
    ("GET", f"/ui/workers/{OWN}", None),
    ("GET", "/ui/teams/team-a1", None),
])
def test_a_worker_token_gets_403_on_every_other_path(as_worker, client, method, path, body):
    response = as_worker.request(method, path, json=body)

    assert response.status_code == 403, response.text
    assert "/me" in response.text


def test_a_worker_tokens_refusal_is_audited(as_worker, client):
    as_worker.get(f"/workers/{COLLEAGUE}")
    entries = client.get("/audit", params={"worker_id": COLLEAGUE, "endpoint": "GET /workers/{worker_id}"}).json()

    assert (entries["items"][0]["role"], entries["items"][0]["status"]) == ("worker", 403)


def test_a_worker_reaches_me_its_page_and_the_model_card(as_worker):
    assert as_worker.get("/me").status_code == 200
    assert as_worker.get("/models/champion/card").status_code == 200


@pytest.mark.parametrize("role", ["admin", "hr_a", "manager_a1", "sector"])
def test_me_is_for_worker_tokens_only(as_role, role):
    assert as_role(role).get("/me").status_code == 403


def test_the_web_page_logs_a_worker_into_their_own_view(app, worker_token, as_role, latest_week):
    as_role("manager_a1").get(f"/workers/{OWN}")
    browser = _logged_in(app, worker_token)
    assert browser.post("/ui/login", data={"token": worker_token}).headers["location"] == "/ui/me"

    page = browser.get("/ui/me")

    assert page.status_code == 200
    assert f"Your record, week of {latest_week}" in page.text and "manager" in page.text
    assert 'href="/models/champion/card"' in page.text
    assert all(use in page.text for use in OUT_OF_SCOPE_USES)
    assert browser.get("/ui/risk-list").status_code == 403


def test_a_worker_token_of_an_unscored_worker_sees_their_reads_but_no_forecast(app, settings):
    token = create_token(settings, "worker", worker="W034")  # left: scored only the week before
    me = _bearer(app, token).get("/me").json()

    assert (me["scored"], me["probabilities"], me["drivers"]) == (False, [], [])


# reviews


def test_a_review_outside_scope_gets_403_and_is_audited(as_role, client):
    for role in ("manager_a1", "hr_a"):
        response = as_role(role).post(f"/workers/{OTHER_ORGANISATION}/reviews", json={"action": "disputed", "note": "x"})
        assert response.status_code == 403 and "outside your scope" in response.json()["detail"]
    entries = client.get("/audit", params={"worker_id": OTHER_ORGANISATION,
                                           "endpoint": "POST /workers/{worker_id}/reviews"}).json()
    assert [e["status"] for e in entries["items"][:2]] == [403, 403]
    assert client.get("/reviews", params={"worker_id": OTHER_ORGANISATION}).json()["total"] == 0


@pytest.mark.parametrize("role", ["admin", "sector"])
def test_only_hr_and_managers_record_reviews(as_role, role):
    assert as_role(role).post(f"/workers/{COLLEAGUE}/reviews", json={"action": "acknowledged"}).status_code == 403


def test_a_review_is_stored_with_who_and_when_and_shown_to_admin_hr_and_the_worker(app, as_role, client, settings, tokens,
                                                                                 as_worker, latest_week):
    response = as_role("manager_a1").post(f"/workers/{OWN}/reviews", json={"action": "disputed", "note": "new team lead"})

    assert response.status_code == 201
    review = response.json()
    assert (review["role"], review["token_id"]) == ("manager", _token_id(settings, tokens["manager_a1"]))
    assert (review["week"], review["model_version"], review["worker_id"]) == (str(latest_week), "4", OWN)
    disputed = client.get("/reviews", params={"action": "disputed"}).json()
    assert disputed["items"][0]["id"] == review["id"]
    assert all(item["action"] == "disputed" for item in disputed["items"])
    assert "new team lead" in _logged_in(app, tokens["hr_a"]).get(f"/ui/workers/{OWN}").text
    mine = as_worker.get("/me").json()["reviews"][0]
    assert (mine["note"], mine["role"]) == ("new team lead", "manager") and "token_id" not in mine


def test_reviews_live_in_the_access_file_not_the_warehouse(as_role, settings):
    as_role("hr_a").post(f"/workers/{COLLEAGUE}/reviews", json={"action": "data_corrected", "note": "fte was 0.8"})
    with sqlite3.connect(settings.access_db) as con:
        rows = con.execute("select action, note, role from reviews where worker_id = ?", [COLLEAGUE]).fetchall()

    assert ("data_corrected", "fte was 0.8", "hr") in rows


@pytest.mark.parametrize("body", [{"action": "approved"}, {"action": "disputed", "note": "x" * 2001},
                                  {"action": "disputed", "by": "me"}])
def test_an_invalid_review_is_a_422(as_role, body):
    assert as_role("hr_a").post(f"/workers/{COLLEAGUE}/reviews", json=body).status_code == 422


def test_the_worker_page_shows_reviews_and_records_one_from_its_form(app, tokens):
    browser = _logged_in(app, tokens["hr_a"])

    response = browser.post(f"/ui/workers/{COLLEAGUE}/reviews", data={"action": "acknowledged", "note": "talked on Monday"})
    page = browser.get(f"/ui/workers/{COLLEAGUE}")

    assert response.status_code == 303 and response.headers["location"] == f"/ui/workers/{COLLEAGUE}"
    assert "talked on Monday" in page.text and 'action="/ui/workers/W002/reviews"' in page.text


def test_the_review_form_is_refused_from_another_site(app, tokens):
    browser = _logged_in(app, tokens["hr_a"])
    response = browser.post(f"/ui/workers/{COLLEAGUE}/reviews", data={"action": "disputed"},
                            headers={"Origin": "https://evil.example"})

    assert response.status_code == 403


# the advisory notice on every page and export


def test_every_page_states_the_figures_are_advisory_and_the_uses_out_of_scope(app, tokens):
    browser = _logged_in(app, tokens["hr_a"])
    for path in ["/ui/risk-list", f"/ui/workers/{OWN}", "/ui/teams/team-a1", "/ui/login"]:
        page = browser.get(path)
        assert page.status_code == 200, path
        assert "decide nothing about a person" in page.text and all(use in page.text for use in OUT_OF_SCOPE_USES), path


def test_the_csv_carries_the_notice_in_a_column_and_stays_one_header_and_rows(client):
    text = client.get("/risk-list.csv", params={"team_id": "team-a1"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))

    assert len(rows) == client.get("/risk-list", params={"team_id": "team-a1"}).json()["total"]
    assert list(rows[0])[-1] == "notice" and {row["notice"] for row in rows} == {NOTICE}
    assert all(use in NOTICE for use in OUT_OF_SCOPE_USES) and "decide nothing about a person" in NOTICE


def test_the_workbook_states_the_uses_out_of_scope(client):
    book = openpyxl.load_workbook(io.BytesIO(client.get("/risk-list.xlsx").content))

    assert book["about"]["A2"].value == NOTICE


def test_the_api_description_states_the_notice(app):
    assert NOTICE in create_app.__globals__["DESCRIPTION"] and NOTICE in app.openapi()["info"]["description"]
