"""A withheld worker has no rank and stands apart, last, in every list: where they stand tells nothing of the
probability the week keeps for the totals, whether it is the sector's lowest or its highest; nor do their own
answers (the curve through the probabilities, the clients expected to be affected)."""

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

WITHHELD = "W020"  # team-a2
HIDDEN = {"lowest": 0.001, "highest": 0.95}


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    """The same week published twice, but for the withheld worker's hidden 26-week probability."""
    homes = {}
    for name, p in HIDDEN.items():
        homes[name] = Settings(home=tmp_path_factory.mktemp(f"hidden-{name}"))
        publish_fixture_week(homes[name], LATEST_WEEK, [w for w in WORKERS if w != LEFT], version="4", seed=2,
                             withheld=(WITHHELD,), hidden_p_26w=p)
    return homes


@pytest.fixture(scope="module")
def api(homes) -> dict[str, TestClient]:
    return {name: TestClient(create_app(home), headers={"Authorization": f"Bearer {create_token(home, 'admin')}"})
            for name, home in homes.items()}


@pytest.fixture(scope="module")
def browser(homes) -> dict[str, TestClient]:
    browsers = {}
    for name, home in homes.items():
        browsers[name] = TestClient(create_app(home), follow_redirects=False, headers={"Origin": "http://testserver"},
                                    cookies={"lang": "en"})
        assert browsers[name].post("/ui/login", data={"token": create_token(home, "admin")}).status_code == 303
    return browsers


def test_the_hidden_probability_is_kept_for_the_totals_and_differs_between_the_two_weeks(homes):
    kept = {name: Publications(home.published).current().table("risk_scores").set_index("worker_id")
            for name, home in homes.items()}
    assert kept["lowest"].loc[WITHHELD, "p_26w"] == pytest.approx(HIDDEN["lowest"])
    assert kept["highest"].loc[WITHHELD, "p_26w"] == pytest.approx(HIDDEN["highest"])
    assert kept["highest"]["p_26w"].idxmax() == WITHHELD  # ranked among the others, they would be first
    for published in kept.values():
        assert published["rank"].isna().tolist() == (published.index == WITHHELD).tolist()
        assert published.index[-1] == WITHHELD  # the publication's own row order tells nothing either
        assert sorted(published["rank"].dropna()) == list(range(1, len(published)))


@pytest.mark.parametrize("sort", ["probability", "exposure"])
@pytest.mark.parametrize("horizon", [13, 26, 52])
def test_every_list_and_export_is_the_same_whatever_the_hidden_probability(api, browser, horizon, sort):
    """Ordered by probability or by the clients at stake: the expected exposure passes through the probability."""
    params = {"horizon": horizon, "page_size": 500, "sort": sort}
    for path in ("/risk-list", "/risk-list.csv", "/teams/team-a2"):
        answers = [client.get(path, params=params) for client in api.values()]
        assert all(a.status_code == 200 for a in answers), path
        assert answers[0].content == answers[1].content, path
    for path in ("/ui/risk-list", "/ui/teams/team-a2"):
        pages = [client.get(path, params={"horizon": horizon, "sort": sort}) for client in browser.values()]
        assert pages[0].status_code == 200 and pages[0].text == pages[1].text, path


@pytest.mark.parametrize("horizon", [13, 26, 52])
def test_the_withheld_worker_comes_last_without_rank_and_the_others_are_ranked_without_a_gap(api, horizon):
    client = api["highest"]
    items = client.get("/risk-list", params={"horizon": horizon, "page_size": 500}).json()["items"]
    assert items[-1]["worker_id"] == WITHHELD and items[-1]["rank"] is None
    assert items[-1]["withheld"] == WITHHELD_REASON and items[-1][f"p_{horizon}w"] is None
    others = items[:-1]
    assert all(item["withheld"] is None for item in others)
    assert [item[f"p_{horizon}w"] for item in others] == sorted((item[f"p_{horizon}w"] for item in others), reverse=True)
    assert sorted(item["rank"] for item in others) == list(range(1, len(others) + 1))
    assert client.get(f"/workers/{WITHHELD}").json()["rank"] is None

    rows = list(csv.DictReader(io.StringIO(client.get("/risk-list.csv", params={"horizon": horizon}).content
                                            .decode("utf-8-sig")), delimiter=";"))
    assert rows[-1]["worker_id"] == WITHHELD and (rows[-1]["position"], rows[-1]["sector_rank"]) == ("", "")
    assert [row["position"] for row in rows[:-1]] == [str(k) for k in range(1, len(rows))]

    team = client.get("/teams/team-a2", params={"horizon": horizon}).json()["workers"]
    assert team[-1]["worker_id"] == WITHHELD and team[-1]["probability"] is None


def test_the_risk_list_page_shows_withheld_workers_in_a_section_of_their_own(browser):
    page = browser["highest"].get("/ui/risk-list").text
    ranked, apart = page.split('<table class="risk">')[1].split("</table>")[0], page.split("<h2>Probability withheld</h2>")[1]
    assert f">{WITHHELD}<" not in ranked
    assert f">{WITHHELD}<" in apart and WITHHELD_REASON in apart
    assert ranked.count('<a class="worker"') == len(WORKERS) - 2  # all but the one who left and the withheld one


def test_the_withheld_workers_own_answers_are_the_same_whatever_the_hidden_probability(api, browser):
    for path in (f"/workers/{WITHHELD}", f"/workers/{WITHHELD}/exposure"):
        answers = [client.get(path) for client in api.values()]
        assert answers[0].status_code == 200 and answers[0].content == answers[1].content, path
    risk, exposure = (api["highest"].get(f"/workers/{WITHHELD}{end}").json() for end in ("", "/exposure"))
    assert risk["survival"] == [] and risk["relative_hazard"] > 0
    assert exposure["summary"]["weighted_clients"] > 0
    assert [exposure["summary"][f"expected_exposure_{h}w"] for h in (13, 26, 52)] == [None] * 3
    pages = [client.get(f"/ui/workers/{WITHHELD}").text for client in browser.values()]
    assert pages[0] == pages[1] and 'class="curve"' not in pages[0]
    # a worker shown keeps both
    shown = api["highest"].get("/workers/W019/exposure").json()["summary"]
    assert len(api["highest"].get("/workers/W019").json()["survival"]) == 53 and shown["expected_exposure_26w"] > 0
