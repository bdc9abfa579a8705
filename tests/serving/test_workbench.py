"""Known departures on the risk list and team page, and the handover workbench: scope, planning several leavers
together, pins and exclusions, the warm-handover schedule, accepting, the CSV, and one run in headless Chromium
in Dutch."""

from __future__ import annotations

import csv
import io
import stat
from datetime import date, timedelta

import pandas as pd
import pytest
from conftest import KNOWN_DEPARTURES, LATEST_WEEK, week_with_case_numbers
from fastapi.testclient import TestClient
from test_web import CHROMIUM_ARGS, served  # noqa: F401  (the browser test's server, over this module's app)

from continuity.access import AccessStore, create_token
from continuity.config import Settings
from continuity.publication import Publications
from continuity.serving.app import create_app
from continuity.serving.workbench import ASSUMED_NOTICE_WEEKS, joint_visits, visit_weeks
from continuity.vocabulary import CASELOAD_NORM_PER_FTE

SITE = "http://testserver"
TEAM = "team-a1"
PAGE = f"/ui/teams/{TEAM}/handover"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture's latest week, with a case number for every client."""
    return week_with_case_numbers(Settings(home=tmp_path_factory.mktemp("workbench")))


@pytest.fixture(scope="module")
def app(home):
    return create_app(home)


@pytest.fixture(scope="module")
def tokens(home) -> dict[str, str]:
    return {"manager_a1": create_token(home, "manager", teams=[TEAM]),
            "manager_b1": create_token(home, "manager", teams=["team-b1"]),
            "hr_a": create_token(home, "hr", organisation="org-a"),
            "hr_b": create_token(home, "hr", organisation="org-b"),
            "sector": create_token(home, "sector"), "admin": create_token(home, "admin")}


@pytest.fixture(scope="module")
def week(home):
    return Publications(home.published).current()


def api(app, tokens, role: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {tokens[role]}"})


def browser(app, tokens, role: str) -> TestClient:
    """A logged-in page reader in English, whose forms come from this site."""
    client = TestClient(app, follow_redirects=False, headers={"Origin": SITE}, cookies={"lang": "en"})
    assert client.post("/ui/login", data={"token": tokens[role]}).status_code == 303
    return client


def known_day(worker_id: str) -> date:
    return LATEST_WEEK + timedelta(days=KNOWN_DEPARTURES[worker_id][0])


def primary_clients(week, worker_id: str) -> list[str]:
    clients = week.table("client_exposure")
    return sorted(clients[(clients.worker_id == worker_id) & (clients.role == "primary")].client_id)


def test_known_departures_ride_along_on_the_risk_list_in_scope(app, tokens):
    listed = {item["worker_id"]: item["known_departure"]
              for item in api(app, tokens, "hr_a").get("/risk-list", params={"page_size": 500}).json()["items"]}

    assert listed["W002"] == {"last_day": known_day("W002").isoformat(), "reason": "notice"}
    assert listed["W004"] == {"last_day": known_day("W004").isoformat(), "reason": "contract_end"}
    assert "W026" not in listed and sum(v is not None for v in listed.values()) == 2
    other = api(app, tokens, "hr_b").get("/risk-list", params={"page_size": 500}).json()["items"]
    assert {i["worker_id"] for i in other if i["known_departure"]} == {"W026"}
    assert api(app, tokens, "sector").get("/risk-list").status_code == 403
    exported = {row["worker_id"]: row for row in csv.DictReader(io.StringIO(
        api(app, tokens, "hr_a").get("/risk-list.csv").content.decode("utf-8-sig")), delimiter=";")}
    assert (exported["W004"]["known_last_day"], exported["W004"]["known_departure"]) == (
        known_day("W004").isoformat(), "contract_end")
    assert exported["W001"]["known_last_day"] == exported["W001"]["known_departure"] == ""
    page = browser(app, tokens, "manager_a1").get("/ui/risk-list").text
    assert f"known departure: last day {known_day('W002')} (notice)" in page
    assert f"known departure: last day {known_day('W004')} (temporary contract ends)" in page


def test_the_team_view_lists_its_known_departures_soonest_first_with_the_clients_to_hand_over(app, tokens, week):
    team = api(app, tokens, "manager_a1").get(f"/teams/{TEAM}").json()

    assert [d["worker_id"] for d in team["known_departures"]] == ["W002", "W004"]
    for departure in team["known_departures"]:
        assert [c["client_id"] for c in departure["clients"]] == primary_clients(week, departure["worker_id"])
        assert all(c["case_number"].startswith("Z-") for c in departure["clients"])
    page = browser(app, tokens, "manager_a1").get(f"/ui/teams/{TEAM}").text
    assert f'href="{PAGE}?leaving=W002"' in page and f"last day {known_day('W002')}" in page
    assert api(app, tokens, "manager_b1").get(f"/teams/{TEAM}").status_code == 403


@pytest.mark.parametrize("role, status", [("manager_b1", 403), ("hr_b", 403), ("sector", 403), ("admin", 403)])
def test_only_hr_and_managers_in_scope_open_the_workbench(app, tokens, role, status):
    reader = browser(app, tokens, role)
    assert reader.get(PAGE).status_code == status
    assert reader.post(PAGE, data={"action": "known"}).status_code == status


def test_hr_plans_in_its_organisation_and_every_plan_shown_is_audited_with_leavers_and_successors(app, tokens, home):
    hr = browser(app, tokens, "hr_a")
    assert 'value="W002" checked' in hr.get(PAGE).text
    planned = _csv(hr.post(PAGE, data={"leaving": "W004", "action": "plan"}), hr)
    successors = {r["successor_id"] for r in planned if r["successor_id"]}
    assert successors

    app.state.audit.apply()
    _, entries = AccessStore(home.access_db).audit(limit=1000)
    shown = [set(e["worker_ids"]) for e in entries
             if e["endpoint"] == "POST /ui/teams/{team_id}/handover" and e["role"] == "hr" and e["status"] == 200]
    assert any({"W004"} | successors <= workers for workers in shown)


def test_a_leaver_outside_the_team_or_a_form_from_another_site_is_refused(app, tokens):
    manager = browser(app, tokens, "manager_a1")
    assert manager.get(PAGE, params={"leaving": "W026"}).status_code == 403
    assert manager.post(PAGE, data={"leaving": "W013", "action": "plan"}).status_code == 403
    elsewhere = manager.post(PAGE, data={"action": "known"}, headers={"Origin": "http://evil.example"})
    assert elsewhere.status_code == 403 and "another site" in elsewhere.text


def test_the_known_departures_are_ticked_and_planned_together_without_giving_a_place_twice(app, tokens, week):
    manager = browser(app, tokens, "manager_a1")
    page = manager.get(PAGE).text
    assert 'value="W002" checked' in page and 'value="W004" checked' in page and 'value="W001" checked' not in page

    rows = _csv(manager.post(PAGE, data={"action": "known"}), manager)
    assert [r["leaving_worker_id"] for r in rows] == ["W002"] * len(primary_clients(week, "W002")) + \
        ["W004"] * len(primary_clients(week, "W004"))
    successors = pd.Series([r["successor_id"] for r in rows if r["successor_id"]])
    assert not set(successors) & {"W002", "W004"}
    snapshot = week.table("worker_snapshot").set_index("worker_id")
    for worker_id, taken in successors.value_counts().items():  # no pins: nobody above the norm's room
        room = CASELOAD_NORM_PER_FTE * snapshot.at[worker_id, "fte"] - snapshot.at[worker_id, "caseload"]
        assert taken <= max(0, room) + 1e-9, worker_id


def _csv(planned, manager: TestClient) -> list[dict[str, str]]:
    """The plan's CSV, downloaded with the same choices as the page just planned."""
    assert planned.status_code == 200, planned.text
    form = _form_state(planned.text)
    download = manager.post(PAGE, data={**form, "action": "csv"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))


def _form_state(html: str) -> dict[str, list[str]]:
    """The ticked leavers of a rendered workbench, as the browser would send them back."""
    ticked = [part.split('"', 1)[0] for part in html.split('name="leaving" value="')[1:]
              if part.split(">", 1)[0].endswith(" checked")]
    return {"leaving": ticked}


def test_a_pin_is_honoured_an_exclusion_kept_and_the_csv_says_so(app, tokens, week):
    manager = browser(app, tokens, "manager_a1")
    clients = primary_clients(week, "W002")
    first = _csv(manager.post(PAGE, data={"leaving": "W002", "action": "plan"}), manager)
    planned = {r["client_id"]: r["successor_id"] for r in first}
    target = next(w for w in (f"W{i:03d}" for i in range(1, 13)) if w not in {"W002", planned[clients[0]]})
    excluded = next((s for c, s in planned.items() if s and c != clients[0] and s != target), None)
    form = {"leaving": "W002", f"pin:{clients[0]}": target, "action": "csv"}
    form |= {"exclude": excluded} if excluded else {}

    rows = {r["client_id"]: r for r in csv.DictReader(io.StringIO(
        manager.post(PAGE, data=form).content.decode("utf-8-sig")), delimiter=";")}
    assert rows[clients[0]]["successor_id"] == target and rows[clients[0]]["pinned"] == "True"
    assert "pinned by the manager" in rows[clients[0]]["reasons"]
    assert excluded is None or excluded not in {r["successor_id"] for r in rows.values()}
    lookup = pd.read_parquet(manager.app.state.settings.case_numbers).set_index("client_id").case_number
    assert all(r["case_number"] == lookup[c] for c, r in rows.items())
    assert {r["departure"] for r in rows.values()} == {"notice"} and {r["status"] for r in rows.values()} == {"draft"}
    assert all("decide nothing about a person" in r["notice"] for r in rows.values())
    for r in rows.values():
        weeks = r["visit_weeks"].split()
        assert int(r["joint_visits"]) == len(weeks) == joint_visits(int(r["complexity"]), r["vulnerable"] == "True")
        assert all(LATEST_WEEK.isoformat() <= w < known_day("W002").isoformat() for w in weeks)


def test_accepting_stores_the_plan_owner_only_audits_it_and_the_page_shows_it_this_week(app, tokens, home):
    manager = browser(app, tokens, "manager_b1")
    accepted = manager.post("/ui/teams/team-b1/handover", data={"leaving": "W026", "action": "accept"})
    assert accepted.status_code == 200 and "Plan accepted on" in accepted.text

    stored = list((home.handover_plans / LATEST_WEEK.isoformat()).glob("*.json"))
    assert len(stored) == 1 and stat.S_IMODE(stored[0].stat().st_mode) == 0o600
    assert "Z-" in accepted.text and "Z-" not in stored[0].read_text()  # the lookup stays the only re-identifier
    again = manager.get("/ui/teams/team-b1/handover").text
    assert "Plan accepted on" in again and 'value="W026" checked' in again and 'data-worker="W026"' in again
    app.state.audit.apply()
    _, entries = AccessStore(home.access_db).audit(limit=1000)
    assert any(e["parameters"].get("handover_plan") == "accepted" and "W026" in e["worker_ids"]
               for e in entries if e["parameters"])
    assert "Plan accepted on" not in browser(app, tokens, "manager_a1").get(PAGE).text  # another team's week
    other = manager.post("/ui/teams/team-b1/handover", data={"leaving": ["W026", "W025"], "action": "plan"}).text
    assert "Another plan for this team was accepted on" in other and "Plan accepted on" not in other


def test_joint_visits_grow_with_complexity_and_vulnerability_and_fall_before_the_last_day():
    monday = date(2024, 6, 10)
    assert [joint_visits(c, v) for c, v in ((2, False), (4, False), (2, True), (5, True))] == [1, 2, 2, 3]
    assert visit_weeks(monday, monday + timedelta(days=24), 3) == (monday, monday + timedelta(weeks=1),
                                                                   monday + timedelta(weeks=2))
    assert visit_weeks(monday, monday + timedelta(days=3), 2) == (monday, monday)  # a short notice: same week
    unknown = visit_weeks(monday, None, 2)
    assert unknown == (monday, monday + timedelta(weeks=ASSUMED_NOTICE_WEEKS // 2))


def test_a_manager_plans_pins_re_plans_accepts_and_downloads_in_dutch_in_chromium(served, tokens, week):
    from playwright.sync_api import sync_playwright

    clients = primary_clients(week, "W002")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(accept_downloads=True)
            page.goto(f"{served}/ui/login")
            page.fill("#token", tokens["manager_a1"])
            page.click("button[type=submit]")
            page.wait_for_url("**/ui/risk-list")
            page.goto(f"{served}{PAGE}")
            assert page.locator("h1").inner_text() == f"Overdrachtsplan, team {TEAM}"
            for box in page.locator("input[name=leaving]").all():
                box.set_checked(box.get_attribute("value") == "W002")
            page.click("button[value=plan]")
            row = page.locator(f"tr[data-client='{clients[0]}']")
            planned = row.locator("td.successor a").inner_text()
            target = next(w for w in (f"W{i:03d}" for i in range(1, 13)) if w not in {"W002", planned})
            row.locator("select").select_option(target)
            page.locator("p.actions button[value=plan]").click()
            row = page.locator(f"tr[data-client='{clients[0]}']")
            assert row.locator("td.successor a").inner_text() == target
            assert "vastgezet door de leidinggevende" in row.locator("ul.reasons").inner_text()
            page.click("button[value=accept]")
            assert "Plan vastgesteld op" in page.locator("p.accepted").inner_text()
            with page.expect_download() as download:
                page.click("button[value=csv]")
            content = open(download.value.path(), encoding="utf-8-sig").read()
        finally:
            chromium.close()
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    assert [r["client_id"] for r in rows] == clients
    assert {r["leaving_worker_id"] for r in rows} == {"W002"}
    pinned = next(r for r in rows if r["client_id"] == clients[0])
    assert pinned["successor_id"] == target and pinned["pinned"] == "True"


def test_several_leavers_share_one_pool_of_room_and_a_later_plan_never_reuses_a_place(con, tmp_path):
    """Two leavers of two clients each, two colleagues with one place each: planned together, two clients are
    placed, one per colleague, and the soonest leaver's clients first; planned apart, each plan would take both."""
    from contract_frames import assignment, hr_event, load, worker
    from published_frames import publish_contract_week

    from continuity.access import Grant, Role
    from continuity.serving.store import read_week
    from continuity.serving.workbench import plan_team

    t, hired = date(2021, 3, 1), date(2018, 1, 1)
    since = t - timedelta(weeks=20)
    load(con, workers=[worker(w, hired, fte=0.5 if w in ("A", "B") else 1.0) for w in ("L1", "L2", "A", "B")],
         hr_events=[hr_event("L2", "notice", t - timedelta(days=3), end_date=t + timedelta(days=20))],
         assignments=[assignment(f"{w}-c{i}", w, since) for w in ("L1", "L2") for i in range(2)]
         + [assignment(f"{w}-own{i}", w, since) for w in ("A", "B") for i in range(5)])  # room: 0.5 x 12 - 5 = 1
    publication = publish_contract_week(con, t, pd.DataFrame({"worker_id": ["L1", "L2", "A", "B"],
                                                              "p_13w": 0.05, "p_26w": 0.1}), tmp_path / "published")
    week = read_week(publication)
    grant = Grant("t", Role.manager, teams=frozenset({"team1"}))

    together = plan_team(week, grant, "team1", ["L1", "L2"], {}, set())
    assert [p.leaver.worker_id for p in together.leavers] == ["L2", "L1"]  # the known last day first
    placed = [h.successor_id for p in together.leavers for h in p.plan.handovers if h.successor_id]
    assert sorted(placed) == ["A", "B"]
    assert all(h.successor_id for h in together.leavers[0].plan.handovers)
    assert [row["taken"] for row in together.capacity] == [1, 1]
    assert all(not row["above_norm"] for row in together.capacity)
    apart = [plan_team(week, grant, "team1", [w], {}, {"L1", "L2"} - {w}) for w in ("L1", "L2")]
    assert sorted(h.successor_id for p in apart for h in p.leavers[0].plan.handovers) == ["A", "A", "B", "B"]
