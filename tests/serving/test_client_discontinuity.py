"""The client discontinuity monitor: ranked from the published tables alone, flagged at three new faces, for hr
and managers in scope only, audited, and blind to a withheld worker's hidden probability."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import LATEST_WEEK, LEFT, WORKERS, publish_fixture_week
from fastapi.testclient import TestClient

from continuity.access import AccessStore, create_token
from continuity.config import Settings
from continuity.serving.app import create_app

WITHHELD = "W020"  # team-a2, org-a
HIDDEN = {"lowest": 0.001, "highest": 0.95}


def _all(client: TestClient) -> list[dict]:
    answer = client.get("/clients/discontinuity", params={"page_size": 500})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _expected(published, latest_week, teams: set[str]) -> pd.DataFrame:
    """The monitor worked out from the published tables with pandas: the clients of the teams' workers, ranked."""
    risk = published("select worker_id, team_id, p_26w, withheld from risk_scores where score_date = ?", latest_week)
    pairs = published("select worker_id, client_id, relationship_weeks, replacements_24m, handover_weight_26w "
                      "from client_exposure where score_date = ?", latest_week).merge(risk, on="worker_id")
    pairs = pairs[pairs.client_id.isin(pairs[pairs.team_id.isin(teams)].client_id)]
    counted = pairs[pairs.team_id.isin(teams) & pairs.withheld.isna()]
    clients = published("select * from client_continuity").set_index("client_id").loc[sorted(set(pairs.client_id))]
    clients["familiarity_weeks"] = pairs.groupby("client_id").relationship_weeks.max()
    clients["replacements_24m"] = pairs.groupby("client_id").replacements_24m.max()
    expected = counted.p_26w * counted.handover_weight_26w  # a case that closes first needs no handover
    clients["expected"] = expected.groupby(counted.client_id).sum().reindex(clients.index, fill_value=0.0)
    clients["flagged"] = (clients.new_faces_12m >= 3) & ~(clients.team_continuity >= 0.75)
    clients = clients.reset_index()
    return clients.sort_values(["flagged", "new_faces_12m", "handovers_12m", "replacements_24m", "familiarity_weeks",
                                "expected", "client_id"], ascending=[False, False, False, False, True, False, True])


def test_a_manager_sees_the_clients_of_their_teams_ranked_from_the_published_tables(as_role, published, latest_week):
    items = _all(as_role("manager_a1"))
    expected = _expected(published, latest_week, {"team-a1"})
    assert [item["client_id"] for item in items] == expected.client_id.tolist()
    assert [item["new_faces_12m"] for item in items] == expected.new_faces_12m.tolist()
    assert [item["handovers_12m"] for item in items] == expected.handovers_12m.tolist()
    assert [item["flagged"] for item in items] == expected.flagged.tolist()
    assert [item["replacements_24m"] for item in items] == expected.replacements_24m.tolist()
    assert [item["expected_handovers_26w"] for item in items] == pytest.approx(expected.expected.tolist())
    # The order is not that of any single key: handovers and familiarity break the ties of new faces.
    assert len({item["new_faces_12m"] for item in items}) > 1
    assert [item["client_id"] for item in items] != sorted(item["client_id"] for item in items)


def test_three_or_more_new_faces_is_flagged_unless_a_small_stable_team_cares_for_the_client(as_role):
    page = as_role("hr_a").get("/clients/discontinuity", params={"page_size": 500}).json()
    stable = [item for item in page["items"] if (item["team_continuity"] or 0) >= 0.75]
    flags = {(item["new_faces_12m"] >= 3 and item not in stable) == item["flagged"] for item in page["items"]}
    assert flags == {True}
    assert any(item["new_faces_12m"] >= 3 for item in stable)  # the fixture has such clients: none is flagged
    assert 0 < page["flagged"] < page["total"] and page["flagged"] == sum(item["flagged"] for item in page["items"])
    assert all(item["flagged"] for item in page["items"][: page["flagged"]])  # flagged first


def test_scope_hr_and_managers_only_each_their_own_clients(as_role, settings):
    by_team = {team: {i["client_id"] for i in _all(as_role(role))}
               for team, role in (("team-a1", "manager_a1"), ("org-a", "hr_a"), ("org-b", "hr_b"))}
    assert by_team["team-a1"] and by_team["team-a1"] < by_team["org-a"] and not by_team["org-a"] & by_team["org-b"]
    for item in _all(as_role("manager_a1")):
        assert {w["worker_id"] for w in item["current_workers"]} <= {f"W{i:03d}" for i in range(1, 13)}
    worker = TestClient(create_app(settings), headers={"Authorization": f"Bearer {create_token(settings, 'worker', worker='W001')}"})
    for client in (as_role("admin"), as_role("sector"), worker):
        assert client.get("/clients/discontinuity").status_code == 403
        assert client.get("/ui/clients/discontinuity").status_code == 403


def test_the_read_is_audited_with_the_workers_shown(as_role, app, settings):
    items = as_role("manager_a1").get("/clients/discontinuity", params={"page_size": 3}).json()["items"]
    app.state.audit.apply()
    _, entries = AccessStore(settings.access_db).audit(endpoint="GET /clients/discontinuity", limit=1)
    assert entries[0]["role"] == "manager" and entries[0]["parameters"] == {"page_size": "3"}
    assert entries[0]["worker_ids"] == sorted({w["worker_id"] for i in items for w in i["current_workers"]})


def test_the_page_is_linked_for_managers_and_shows_the_ranking(as_role):
    manager = as_role("manager_a1")
    first = _all(manager)[0]
    page = manager.get("/ui/clients/discontinuity", cookies={"lang": "en"})
    assert page.status_code == 200 and first["client_id"] in page.text and "flagged" in page.text
    risk_list = manager.get("/ui/risk-list", cookies={"lang": "en"}).text
    assert 'href="/ui/clients/discontinuity"' in risk_list
    assert 'href="/ui/clients/discontinuity"' not in as_role("admin").get("/ui/risk-list").text


@pytest.fixture(scope="module")
def hidden_homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TestClient]:
    """The same week published twice, but for the withheld worker's hidden 26-week probability: an hr client each."""
    clients = {}
    for name, p in HIDDEN.items():
        home = Settings(home=tmp_path_factory.mktemp(f"monitor-hidden-{name}"))
        publish_fixture_week(home, LATEST_WEEK, [w for w in WORKERS if w != LEFT], version="4", seed=2,
                             withheld=(WITHHELD,), hidden_p_26w=p)
        clients[name] = TestClient(create_app(home), cookies={"lang": "en"},
                                   headers={"Authorization": f"Bearer {create_token(home, 'hr', organisation='org-a')}"})
    return clients


def test_a_withheld_probability_changes_no_answer_and_is_counted_as_unknown(hidden_homes):
    answers = {name: client.get("/clients/discontinuity", params={"page_size": 500}) for name, client in hidden_homes.items()}
    assert answers["lowest"].content == answers["highest"].content
    pages = [client.get("/ui/clients/discontinuity").text for client in hidden_homes.values()]
    assert pages[0] == pages[1]
    theirs = [item for item in answers["highest"].json()["items"]
              if WITHHELD in {w["worker_id"] for w in item["current_workers"]}]
    assert theirs
    for item in theirs:
        assert item["workers_not_counted"] >= 1
        assert [w["p_26w"] for w in item["current_workers"] if w["worker_id"] == WITHHELD] == [None]
