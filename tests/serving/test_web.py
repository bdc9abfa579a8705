"""The web page: login cookie, scope and audit as in the API, advisory notice, and one run in headless Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from markupsafe import escape

from continuity.access import create_token
from continuity.config import Settings
from continuity.serving.app import create_app

ADVISORY = "decide nothing about a person"
SITE = "http://testserver"  # the TestClient's own origin
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _logged_in(app, token: str, landing: str = "/ui/risk-list") -> TestClient:
    """A client that, like a browser, names the page its forms come from (this site's), and reads the pages in
    English (the default is Dutch, tests/serving/test_i18n.py), the words these tests look for; logged in, it
    was sent to ``landing``."""
    browser = TestClient(app, follow_redirects=False, headers={"Origin": SITE}, cookies={"lang": "en"})
    response = browser.post("/ui/login", data={"token": token})
    assert response.status_code == 303 and response.headers["location"] == landing
    return browser


def test_login_sets_an_httponly_strict_cookie_and_logout_clears_it(app, tokens):
    browser = _logged_in(app, tokens["manager_a1"])
    cookie = browser.post("/ui/login", data={"token": tokens["manager_a1"]}).headers["set-cookie"].lower()

    assert "httponly" in cookie and "samesite=strict" in cookie
    assert browser.get("/ui/risk-list").status_code == 200
    browser.post("/ui/logout")
    assert browser.get("/ui/risk-list").headers["location"] == "/ui/login"


def test_with_nothing_published_the_page_says_what_to_run(tmp_path):
    settings = Settings(home=tmp_path / "home")
    page = _logged_in(create_app(settings), create_token(settings, "admin")).get("/ui/risk-list")

    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "No scores published yet" in page.text and "run `continuity run`" in page.text
    assert not page.text.lstrip().startswith("{")


@pytest.mark.parametrize("token", ["", "wrong", "revoked"])
def test_bad_or_revoked_token_does_not_log_in(app, tokens, token):
    response = TestClient(app, headers={"Origin": SITE}, cookies={"lang": "en"}).post(
        "/ui/login", data={"token": tokens.get(token, token)})

    assert response.status_code == 401
    assert "unknown or has been revoked" in response.text
    assert "set-cookie" not in response.headers


def test_pages_need_a_login(app):
    for path in ["/ui/risk-list", "/ui/workers/W001", "/ui/teams/team-a1"]:
        assert TestClient(app, follow_redirects=False).get(path).headers["location"] == "/ui/login"


def test_every_page_is_advisory_and_names_the_model_version(app, tokens, latest_week):
    browser = _logged_in(app, tokens["manager_a1"])
    for path in ["/ui/risk-list", "/ui/workers/W001", "/ui/teams/team-a1"]:
        page = browser.get(path)
        assert page.status_code == 200, path
        assert ADVISORY in page.text and "v4" in page.text and str(latest_week) in page.text


def test_manager_pages_show_nothing_of_another_team(app, tokens, published, latest_week):
    browser = _logged_in(app, tokens["manager_a1"])
    others = published("select worker_id from risk_scores where score_date = ? and team_id <> 'team-a1'", latest_week)["worker_id"]
    listing = browser.get("/ui/risk-list").text

    assert not any(f">{w}<" in listing for w in others)
    assert browser.get(f"/ui/workers/{others[0]}").status_code == 403
    assert browser.get("/ui/teams/team-b1").status_code == 403
    assert "outside your scope" in browser.get("/ui/teams/team-b1").text


def test_sector_token_sees_no_individual_page_and_its_way_back_leads_to_the_sector_page(app, tokens):
    refused = _logged_in(app, tokens["sector"], landing="/ui/sector").get("/ui/risk-list")
    assert refused.status_code == 403
    assert 'href="/ui/sector">Back to the sector page' in refused.text and 'href="/ui/risk-list"' not in refused.text


def test_the_sector_page_shows_every_cell_with_its_interval_and_the_municipality_names(app, tokens, client):
    browser = _logged_in(app, tokens["sector"], landing="/ui/sector")
    page = browser.get("/ui/sector")
    assert page.status_code == 200 and ADVISORY in page.text
    api = client.get("/aggregates", params={"by": "region", "horizon": 26}).json()["cells"]
    for cell in api:  # the fixture's two municipalities, by name and code, each with the API's interval
        assert cell["interval"] and f"{cell['interval'][0]}–{cell['interval'][1]}" in page.text
    assert "Amsterdam <span class=\"code\">(GM0363)</span>" in page.text and "Utrecht" in page.text
    by_occupation = browser.get("/ui/sector", params={"by": "occupation", "horizon": 13}).text
    assert "suppressed: too few workers to show" in by_occupation  # no occupation holds 10 of the 36 workers


def test_the_sector_downloads_hold_the_api_figures_of_every_grouping_and_horizon(app, tokens, client):
    import io

    import pandas as pd

    browser = _logged_in(app, tokens["sector"], landing="/ui/sector")
    csv = browser.get("/ui/sector/cells.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    cells = pd.read_csv(io.StringIO(csv.text))
    parquet = pd.read_parquet(io.BytesIO(browser.get("/ui/sector/cells.parquet").content))
    assert len(parquet) == len(cells) and list(parquet.columns) == list(cells.columns)
    assert set(zip(cells.grouping, cells.horizon)) == {(g, h) for g in ("region", "organisation", "domain",
                                                                        "occupation") for h in (13, 26, 52)}
    for by, horizon in (("region", 26), ("organisation", 52)):
        api = client.get("/aggregates", params={"by": by, "horizon": horizon}).json()["cells"]
        mine = parquet[(parquet.grouping == by) & (parquet.horizon == horizon)].set_index("key")
        assert sorted(mine.index) == sorted(c["key"] for c in api)
        for c in api:
            row = mine.loc[c["key"]]
            assert bool(row.suppressed) == c["suppressed"]
            if not c["suppressed"]:
                assert [row.interval_low, row.interval_high] == c["interval"] and row.workers == c["workers"]
    assert parquet.loc[parquet.key == "GM0363", "name"].unique().tolist() == ["Amsterdam"]
    assert parquet.loc[parquet.suppressed, ["workers", "expected_leavers"]].isna().all().all()


def test_worker_page_read_is_audited(app, tokens, client):
    _logged_in(app, tokens["hr_b"]).get("/ui/workers/W030")
    entries = client.get("/audit", params={"worker_id": "W030", "endpoint": "GET /ui/workers/{worker_id}"}).json()

    assert entries["total"] >= 1 and entries["items"][0]["role"] == "hr"


def _row(page: str, cell: str) -> str:
    """The table row of a page holding the given cell, from just after its "<tr" to its "</tr>"."""
    before, after = page.split(cell, 1)
    return before.rsplit("<tr", 1)[1] + cell + after.split("</tr>", 1)[0]


def test_the_monitoring_page_shows_the_admin_each_inputs_drift_and_each_horizons_o_e_with_its_interval(
        app, tokens, client, latest_week):
    checks = client.get("/monitoring").json()
    page = _logged_in(app, tokens["admin"]).get("/ui/monitoring")
    assert page.status_code == 200 and ADVISORY in page.text and f"v{checks['model_version']}" in page.text
    text = page.text
    for feature in checks["features"]:
        row = _row(text, f'<td class="feature">{feature["feature"]}</td>')
        assert f'{feature["psi"]:.3f}' in row and f'{feature["p_value"]:.2g}' in row
        assert row.startswith(' class="alert"') == feature["alert"]
        assert str(escape(feature["reason"])) in row if feature["alert"] else "<td>no</td>" in row
    for outcome in checks["outcomes"]:
        row = _row(text, f'<td class="num">{outcome["horizon"]} weeks</td>')
        assert f'{outcome["observed_expected"]:.2f} ({outcome["oe_low"]:.2f}–{outcome["oe_high"]:.2f})' in row
        assert row.startswith(' class="alert"') == outcome["alert"]
    alerts = text.split('<ul class="alerts" lang="en">')[1].split("</ul>")[0]  # the drift check's own sentences
    assert alerts.count("<li>") == len(checks["alerts"]) == 2
    assert all(str(escape(alert)) in alerts for alert in checks["alerts"])


def test_only_the_admin_reaches_the_monitoring_page_and_finds_it_in_the_navigation(app, tokens):
    admin = _logged_in(app, tokens["admin"])
    assert 'href="/ui/monitoring"' in admin.get("/ui/risk-list").text
    for role in ("hr_a", "manager_a1"):
        browser = _logged_in(app, tokens[role])
        assert 'href="/ui/monitoring"' not in browser.get("/ui/risk-list").text, role
        refused = browser.get("/ui/monitoring")
        assert refused.status_code == 403 and "only an admin token" in refused.text, role
    assert TestClient(app, follow_redirects=False).get("/ui/monitoring").headers["location"] == "/ui/login"


@pytest.fixture(scope="module")
def served(app) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, for the browser."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_browser_logs_in_sees_the_list_opens_a_worker_and_the_curve(served, tokens):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.context.add_cookies([{"name": "lang", "value": "en", "url": served, "httpOnly": True}])
            page.goto(f"{served}/ui/risk-list")
            assert page.url.endswith("/ui/login")
            page.fill("#token", tokens["hr_a"])
            page.click("button[type=submit]")
            page.wait_for_url("**/ui/risk-list")
            assert ADVISORY in page.inner_text(".advisory")
            rows = page.locator("table.risk tbody tr")
            assert rows.count() > 0
            assert set(page.locator("table.risk tbody tr td:nth-child(2)").all_inner_texts()) <= {"team-a1", "team-a2"}
            first = page.locator("a.worker").first.inner_text()
            page.locator("a.worker").first.click()
            page.wait_for_url(f"**/ui/workers/{first}")
            curve = page.locator("svg.survival path.curve")
            assert curve.count() == 1
            assert curve.get_attribute("d").startswith("M") and curve.get_attribute("d").count("L") == 52
            assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the token
        finally:
            browser.close()


def test_a_sector_token_lands_on_the_sector_page_sees_cells_and_downloads_the_csv_in_a_browser(served, tokens):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(f"{served}/ui/login?lang=en")
            page.fill("#token", tokens["sector"])
            page.click("button[type=submit]")
            page.wait_for_url("**/ui/sector")
            assert ADVISORY in page.inner_text(".advisory")
            keys = page.locator("table.sector tbody td.key").all_inner_texts()
            assert keys == ["Utrecht (GM0344)", "Amsterdam (GM0363)"]  # in the order of their codes
            assert page.locator("table.sector tbody td.interval").count() >= 1
            page.select_option("select[name=by]", "organisation")
            page.click("form.filters button[type=submit]")
            page.wait_for_url("**/ui/sector?by=organisation*")
            assert page.locator("table.sector tbody tr").count() == 2
            with page.expect_download() as download:
                page.click("text=CSV")
            text = open(download.value.path(), encoding="utf-8").read()
            assert text.splitlines()[0].startswith("grouping,horizon,key,name,workers,expected_leavers")
            assert "Amsterdam" in text
            # the inflow: the sector and the three organisations (one gone: suppressed), each at 1, 2 and 3 years
            inflow = page.locator("table.inflow tbody td.key").all_inner_texts()
            assert inflow == ["The whole sector"] * 3 + ["org-a"] * 3 + ["org-b"] * 3 + ["org-gone"] * 3
            assert page.locator("table.inflow tbody tr.suppressed").count() == 3
            with page.expect_download() as download:
                page.click("a[href='/ui/sector/inflow.csv']")
            text = open(download.value.path(), encoding="utf-8").read()
            assert text.splitlines()[0].startswith("grouping,key,name,horizon_weeks,measure,expected")
        finally:
            browser.close()


def test_the_admin_opens_the_monitoring_page_from_the_navigation_in_a_browser(served, tokens):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{served}/ui/login?lang=en")
            page.fill("#token", tokens["admin"])
            page.click("button[type=submit]")
            page.wait_for_url("**/ui/risk-list")
            page.click("header nav >> text=Monitoring")
            page.wait_for_url("**/ui/monitoring")
            assert ADVISORY in page.inner_text(".advisory")
            alerted = page.locator("table.drift tbody tr.alert td.feature").all_inner_texts()
            assert alerted == ["caseload"]
            assert page.locator("table.outcomes tbody tr").count() == 2
            assert page.locator("table.outcomes tbody tr.alert").count() == 1
        finally:
            browser.close()


def test_the_api_docs_render_with_no_network_beyond_the_service(served):
    """Swagger UI comes from the installed package: with every request off the service refused, the
    docs still list the operations."""
    from playwright.sync_api import sync_playwright

    refused = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def only_the_service(route):
                if route.request.url.startswith(served):
                    route.continue_()
                else:
                    refused.append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_service)
            page.goto(f"{served}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=20_000)
            paths = set(page.locator(".opblock-summary-path").all_inner_texts())
        finally:
            browser.close()
    assert {"/risk-list", "/workers/{worker_id}", "/handover-plans", "/aggregates"} <= {p.strip() for p in paths}
    assert refused == []
