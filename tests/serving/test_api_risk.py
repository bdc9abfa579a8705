"""GET /risk-list: latest week only, rank order, filters, paging, and the errors a caller can make."""

from __future__ import annotations

import json

import pytest


def test_lists_latest_week_highest_risk_first(client, published, latest_week):
    body = client.get("/risk-list", params={"page_size": 500}).json()
    expected = published("select * from risk_scores where score_date = ? order by rank", latest_week)

    assert body["week"] == latest_week.isoformat()
    assert body["total"] == len(expected) == len(body["items"])
    assert [i["worker_id"] for i in body["items"]] == expected["worker_id"].tolist()
    p_26w = [i["p_26w"] for i in body["items"]]
    assert p_26w == sorted(p_26w, reverse=True)
    assert [i["rank"] for i in body["items"]] == sorted(i["rank"] for i in body["items"])


def test_items_carry_both_horizons_and_parsed_drivers(client, published, latest_week):
    top = client.get("/risk-list", params={"page_size": 1}).json()["items"][0]
    row = published("select * from risk_scores where score_date = ? and worker_id = ?", latest_week, top["worker_id"])

    assert top["p_13w"] == pytest.approx(row["p_13w"][0])
    assert top["p_26w"] == pytest.approx(row["p_26w"][0])
    assert (top["organisation_id"], top["team_id"]) == (row["organisation_id"][0], row["team_id"][0])
    assert top["drivers"] == [d for d in json.loads(row["drivers"][0]) if not d["health"]]  # admin: no health data
    assert set(top["drivers"][0]) == {"feature", "label", "message", "values", "direction", "contribution",
                                      "hazard_ratio", "actionable", "health"}


def test_workers_left_before_the_latest_week_are_not_listed(client, published, latest_week):
    left = published(
        "select worker_id from risk_scores where score_date < ? except select worker_id from risk_scores where score_date = ?",
        latest_week, latest_week,
    )["worker_id"]
    listed = {i["worker_id"] for i in client.get("/risk-list", params={"page_size": 500}).json()["items"]}

    assert len(left) > 0
    assert listed.isdisjoint(left)


def test_trend_is_the_change_since_the_previous_week(client, published, latest_week):
    items = {i["worker_id"]: i for i in client.get("/risk-list", params={"page_size": 500}).json()["items"]}
    both = published(
        """select l.worker_id, l.p_26w - e.p_26w as change from risk_scores l join risk_scores e using (worker_id)
           where l.score_date = ? and e.score_date = (select max(score_date) from risk_scores where score_date < ?)""",
        latest_week, latest_week,
    )
    new = set(items) - set(both["worker_id"])

    assert len(both) > 0 and len(new) > 0
    for worker_id, change in both.itertuples(index=False):
        assert items[worker_id]["p_26w_change"] == pytest.approx(change)
    assert all(items[w]["p_26w_change"] is None for w in new)


@pytest.fixture(scope="module")
def teams(published, latest_week):
    """(organisation, team) pairs of the latest week, the smallest team first."""
    return published(
        """select organisation_id, team_id from risk_scores where score_date = ?
           group by all order by count(*), team_id""",
        latest_week,
    ).to_records(index=False).tolist()


@pytest.mark.parametrize("columns", [("organisation_id",), ("team_id",), ("organisation_id", "team_id")])
def test_filters_restrict_to_organisation_and_team(client, published, latest_week, teams, columns):
    chosen = dict(zip(("organisation_id", "team_id"), teams[0]))
    filters = {column: chosen[column] for column in columns}
    body = client.get("/risk-list", params={**filters, "page_size": 500}).json()
    where = " and ".join(f"{column} = ?" for column in filters)
    expected = published(
        f"select worker_id from risk_scores where score_date = ? and {where} order by rank", latest_week, *filters.values()
    )

    assert body["total"] == len(expected) > 0
    assert [i["worker_id"] for i in body["items"]] == expected["worker_id"].tolist()
    assert all(i[column] == value for i in body["items"] for column, value in filters.items())


def test_team_outside_the_organisation_gives_an_empty_list(client, teams):
    organisation_id = teams[0][0]
    other_team = next(team for organisation, team in teams if organisation != organisation_id)
    body = client.get("/risk-list", params={"organisation_id": organisation_id, "team_id": other_team}).json()

    assert body["total"] == 0
    assert body["items"] == []


def test_pages_partition_the_list(client):
    everyone = client.get("/risk-list", params={"page_size": 500}).json()["items"]
    size = len(everyone) // 3 + 1  # two full pages, a shorter third, then one past the end
    pages = [client.get("/risk-list", params={"page": n, "page_size": size}).json() for n in range(1, 5)]

    assert all(p["total"] == len(everyone) for p in pages)
    assert [len(p["items"]) for p in pages] == [size, size, len(everyone) - 2 * size, 0]
    assert [i["worker_id"] for p in pages for i in p["items"]] == [i["worker_id"] for i in everyone]


def test_default_page_size_is_fifty(client):
    body = client.get("/risk-list").json()

    assert (body["page"], body["page_size"]) == (1, 50)


@pytest.mark.parametrize(
    ("params", "unknown"), [({"organisation_id": "org-z"}, "org-z"), ({"team_id": "team-z9"}, "team-z9")]
)
def test_unknown_organisation_or_team_is_404_naming_it(client, params, unknown):
    response = client.get("/risk-list", params=params)

    assert response.status_code == 404
    assert unknown in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"page": 0}, "page"), ({"page": "two"}, "page"), ({"page_size": 0}, "page_size"), ({"page_size": 10000}, "page_size")],
)
def test_bad_paging_is_422_naming_the_parameter(client, params, parameter):
    response = client.get("/risk-list", params=params)

    assert response.status_code == 422
    body = response.json()
    assert f"'{parameter}'" in body["message"]
    assert [e["loc"] for e in body["detail"]] == [["query", parameter]]
