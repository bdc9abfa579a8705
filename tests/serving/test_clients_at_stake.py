"""Counts people can read, and the risk list by clients at stake.

A worker's expected clients lost is a count (probability x clients), shown apart from the weighted
exposure; a team lists only its clients at stake (those whose usual provider is a member); the list,
its page and its CSV can be ordered by expected exposure.
"""

from __future__ import annotations

import csv
import io

import pytest
from conftest import LATEST_WEEK

SITE = "http://testserver"


def _dutch(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


@pytest.fixture(scope="module")
def browser(app, tokens):
    from fastapi.testclient import TestClient

    client = TestClient(app, follow_redirects=False, headers={"Origin": SITE})
    assert client.post("/ui/login", data={"token": tokens["admin"]}).status_code == 303
    return client


def test_the_worker_page_counts_expected_clients_apart_from_the_weighted_exposure(browser, published):
    worker = published(
        "select r.worker_id, r.p_26w, e.active_clients, e.vulnerable_clients, e.weighted_clients, e.expected_exposure_26w "
        "from risk_scores r join worker_exposure e using (score_date, worker_id) where score_date = ? "
        "order by e.active_clients desc, r.worker_id limit 1", LATEST_WEEK).iloc[0]
    page = browser.get(f"/ui/workers/{worker.worker_id}").text
    expected = worker.p_26w * worker.active_clients

    assert expected != pytest.approx(worker.expected_exposure_26w)  # a count of people, not the weighted figure
    clients = page.split('<dd class="expected-clients">')[1].split("</dd>")[0]
    assert clients == (f"{_dutch(expected, 1)} van {worker.active_clients} cliënten "
                       f"({worker.vulnerable_clients} kwetsbaar)")
    weighted = page.split('<dd class="weighted-exposure">')[1].split("</dd>")[0]
    assert _dutch(worker.weighted_clients, 2) in weighted and _dutch(worker.expected_exposure_26w, 2) in weighted
    assert "Gewogen blootstelling van de cliënten" in page and "De gewogen blootstelling telt elke cliënt" in page


def test_the_team_lists_its_clients_at_stake_not_every_client_on_its_caseloads(client, browser, published):
    clients = published(
        "select c.client_id, c.worker_id, c.usual_provider, r.p_26w from client_exposure c "
        "join risk_scores r using (score_date, worker_id) where c.score_date = ? and r.team_id = 'team-a1'", LATEST_WEEK)
    at_stake = clients[clients.usual_provider]
    assert 0 < len(at_stake) < len(clients)  # the fixture has clients whose usual provider is someone else

    team = client.get("/teams/team-a1").json()
    assert sorted(c["client_id"] for c in team["clients"]) == sorted(at_stake.client_id)
    assert team["clients_at_stake"] == len(at_stake)
    assert team["expected_clients_at_stake"] == pytest.approx(at_stake.p_26w.sum())
    for member in team["workers"]:
        assert member["expected_clients"] == pytest.approx(member["probability"] * member["active_clients"])

    page = browser.get("/ui/teams/team-a1").text
    listed = page.split('<table class="trusted">')[1].split("</table>")[0]
    assert sorted(c for c in clients.client_id if f"<code>{c}</code>" in listed) == sorted(at_stake.client_id)
    shown = page.split('<dd class="expected-clients">')[1].split("</dd>")[0]
    assert shown == f"{_dutch(at_stake.p_26w.sum(), 1)} van {len(at_stake)} cliënten die het raakt"


@pytest.mark.parametrize("horizon", [13, 26, 52])
def test_the_risk_list_orders_by_expected_exposure_and_shows_it(client, published, horizon):
    exposure = published(f"select worker_id, expected_exposure_{horizon}w as expected, weighted_clients, active_clients "
                         "from worker_exposure where score_date = ?", LATEST_WEEK).set_index("worker_id")
    body = client.get("/risk-list", params={"horizon": horizon, "sort": "exposure", "page_size": 500}).json()
    items = body["items"]

    assert body["sort"] == "exposure" and len(items) == body["total"]
    values = [item[f"expected_exposure_{horizon}w"] for item in items]
    assert values == sorted(values, reverse=True)
    by_probability = [i["worker_id"] for i in client.get("/risk-list", params={"horizon": horizon, "page_size": 500}).json()["items"]]
    assert [i["worker_id"] for i in items] != by_probability  # the order is the exposure's, not the probability's
    for item in items:
        published_row = exposure.loc[item["worker_id"]] if item["worker_id"] in exposure.index else None
        assert item[f"expected_exposure_{horizon}w"] == pytest.approx(0.0 if published_row is None else published_row.expected)
        assert item["active_clients"] == (0 if published_row is None else published_row.active_clients)

    rows = list(csv.DictReader(io.StringIO(client.get("/risk-list.csv", params={"horizon": horizon, "sort": "exposure"})
                                            .content.decode("utf-8-sig")), delimiter=";"))
    assert [row["worker_id"] for row in rows] == [item["worker_id"] for item in items]
    assert [float(row[f"expected_exposure_{horizon}w"].replace(",", ".")) for row in rows] == pytest.approx(
        [round(v, 1) for v in values], abs=0.051)


def test_the_risk_list_page_orders_by_clients_at_stake_and_keeps_the_order_across_pages(browser, client):
    page = browser.get("/ui/risk-list", params={"sort": "exposure", "lang": "en"}).text
    first = client.get("/risk-list", params={"sort": "exposure", "page_size": 50}).json()["items"]
    listed = page.split('<table class="risk">')[1].split("</table>")[0]
    order = [w["worker_id"] for w in first if f">{w['worker_id']}</a>" in listed]
    assert order == sorted(order, key=listed.index) and len(order) == len(first)
    assert '<option value="exposure" selected>' in page
    assert f"{first[0]['expected_exposure_26w']:.2f}" in listed.split("<tbody>")[1].split("</tr>")[0]


def test_an_unknown_order_is_refused(client):
    answer = client.get("/risk-list", params={"sort": "rank"})
    assert answer.status_code == 422 and "query parameter 'sort'" in answer.json()["message"]
