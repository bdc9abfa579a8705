"""Every probability is shown with its 90% interval; a withheld one is shown nowhere, its reason everywhere."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import LATEST_WEEK, LEFT, WITHHELD_REASON, WORKERS, publish_fixture_week
from fastapi.testclient import TestClient

from continuity.access import create_token
from continuity.config import Settings
from continuity.publication import Publications
from continuity.serving.app import create_app

WITHHELD, SHOWN = "W020", "W019"  # both in team-a2


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("withheld"))
    workers = [w for w in WORKERS if w != LEFT]
    publish_fixture_week(settings, LATEST_WEEK, workers, version="4", seed=2, withheld=(WITHHELD,))
    return settings


@pytest.fixture(scope="module")
def api(home) -> TestClient:
    return TestClient(create_app(home), headers={"Authorization": f"Bearer {create_token(home, 'admin')}"})


@pytest.fixture(scope="module")
def browser(home) -> TestClient:
    browser = TestClient(create_app(home), follow_redirects=False, headers={"Origin": "http://testserver"},
                         cookies={"lang": "en"})  # the interval as English writes it
    assert browser.post("/ui/login", data={"token": create_token(home, "admin")}).status_code == 303
    return browser


def test_api_gives_each_probability_its_interval_and_withholds_with_the_reason(api):
    shown = api.get(f"/workers/{SHOWN}").json()
    for h in (13, 26, 52):
        assert shown[f"p_{h}w_low"] < shown[f"p_{h}w"] < shown[f"p_{h}w_high"]
    assert shown["withheld"] is None

    withheld = api.get(f"/workers/{WITHHELD}").json()
    assert withheld["withheld"] == WITHHELD_REASON
    for h in (13, 26, 52):
        assert [withheld[f"p_{h}w{end}"] for end in ("", "_low", "_high", "_change")] == [None] * 4
    listed = {item["worker_id"]: item for item in api.get("/risk-list", params={"page_size": 100}).json()["items"]}
    assert listed[WITHHELD]["p_26w"] is None and listed[WITHHELD]["withheld"] == WITHHELD_REASON
    assert listed[SHOWN]["p_26w_high"] == shown["p_26w_high"]

    team = {w["worker_id"]: w for w in api.get("/teams/team-a2").json()["workers"]}
    assert team[WITHHELD]["probability"] is None and team[WITHHELD]["expected_exposure"] is None
    assert team[SHOWN]["probability_low"] < team[SHOWN]["probability"] < team[SHOWN]["probability_high"]


def test_pages_show_the_interval_and_the_reason(home, api, browser):
    shown = api.get(f"/workers/{SHOWN}").json()
    interval = f"{100 * shown['p_26w']:.1f}% ({100 * shown['p_26w_low']:.1f}–{100 * shown['p_26w_high']:.1f}%)"
    assert interval in browser.get("/ui/risk-list").text
    assert interval in browser.get(f"/ui/workers/{SHOWN}").text
    assert interval in browser.get("/ui/teams/team-a2", params={"horizon": 26}).text
    page = browser.get(f"/ui/workers/{WITHHELD}").text
    assert WITHHELD_REASON in page
    # The week keeps the probability for the sector's totals; the person's page shows none of it.
    kept = Publications(home.published).current().table("risk_scores").set_index("worker_id").loc[WITHHELD]
    figures = page.split('<dl class="figures">')[1].split("</dl>")[0]
    assert figures.count(">withheld") == 3
    assert not any(f"{100 * kept[f'p_{h}w']:.1f}%" in figures for h in (13, 26, 52))


def test_csv_carries_the_intervals_and_empties_a_withheld_row(api):
    rows = {row["worker_id"]: row for row in csv.DictReader(io.StringIO(
        api.get("/risk-list.csv", params={"page_size": 100}).content.decode("utf-8-sig")), delimiter=";")}
    shown = api.get(f"/workers/{SHOWN}").json()
    # percentages rounded to one decimal, decimal comma (Dutch Excel)
    assert float(rows[SHOWN]["p_26w_low_pct"].replace(",", ".")) == pytest.approx(100 * shown["p_26w_low"], abs=0.051)
    assert float(rows[SHOWN]["p_26w_high_pct"].replace(",", ".")) == pytest.approx(100 * shown["p_26w_high"], abs=0.051)
    assert rows[SHOWN]["withheld"] == ""
    assert [rows[WITHHELD][c] for c in ("p_13w_pct", "p_13w_low_pct", "p_26w_pct", "p_26w_high_pct", "p_52w_pct",
                                        "change_26w_pct")] == [""] * 6
    assert rows[WITHHELD]["withheld"] == WITHHELD_REASON
