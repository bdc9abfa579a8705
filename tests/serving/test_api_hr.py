"""HR's risk list: occupation and horizon filters, the trend per horizon, team view, safe CSV and Excel exports."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest


@pytest.fixture(scope="module")
def scored(published, latest_week):
    return published(
        """select r.*, w.occupation from risk_scores r join worker_snapshot w using (worker_id)
           where r.score_date = ? order by r.rank""",
        latest_week,
    )


def test_occupation_filter(client, scored):
    occupation = scored["occupation"].value_counts().index[0]
    body = client.get("/risk-list", params={"occupation": occupation, "page_size": 500}).json()

    assert body["total"] == (scored["occupation"] == occupation).sum()
    assert {item["occupation"] for item in body["items"]} == {occupation}


@pytest.mark.parametrize("horizon", [13, 52])
def test_other_horizons_order_by_their_probability_and_carry_its_trend(client, published, latest_week, horizon):
    column = f"p_{horizon}w"
    body = client.get("/risk-list", params={"horizon": horizon, "page_size": 500}).json()
    previous = published(
        f"select worker_id, {column} from risk_scores where score_date = "
        "(select max(score_date) from risk_scores where score_date < ?)",
        latest_week,
    ).set_index("worker_id")[column]
    p = [item[column] for item in body["items"]]

    assert body["horizon"] == horizon
    assert p == sorted(p, reverse=True)
    for item in body["items"]:
        expected = item[column] - previous[item["worker_id"]] if item["worker_id"] in previous else None
        assert item[f"{column}_change"] == pytest.approx(expected)


def test_horizon_other_than_13_26_or_52_is_422(client):
    response = client.get("/risk-list", params={"horizon": 39})

    assert response.status_code == 422
    assert "'horizon'" in response.json()["message"]


def test_csv_export_matches_the_list_and_neutralises_formulas(client, published):
    listed = client.get("/risk-list", params={"horizon": 13, "page_size": 500}).json()["items"]
    response = client.get("/risk-list.csv", params={"horizon": 13})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    formula = published("select worker_id, occupation from worker_snapshot where starts_with(occupation, '=')").iloc[0]

    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert [row["worker_id"] for row in rows] == [item["worker_id"] for item in listed]
    assert {"p_13w_pct", "p_26w_pct", "p_52w_pct", "change_13w_pct", "active_clients", "weighted_clients",
            "driver_1", "model"} <= set(rows[0])
    # Dutch Excel: percentages rounded to one decimal, with a decimal comma
    for row, item in zip(rows, listed):
        for h in (13, 26, 52):
            shown = row[f"p_{h}w_pct"]
            if item[f"p_{h}w"] is None:
                assert shown == ""
            else:
                assert "." not in shown and float(shown.replace(",", ".")) == pytest.approx(100 * item[f"p_{h}w"], abs=0.051)
    exposure = client.get(f"/workers/{listed[0]['worker_id']}/exposure").json()["summary"]
    assert int(rows[0]["active_clients"]) == exposure["active_clients"]
    assert float(rows[0]["weighted_clients"].replace(",", ".")) == pytest.approx(exposure["weighted_clients"], abs=0.051)
    assert rows[0]["driver_1"].startswith(listed[0]["drivers"][0]["label"])
    exported = next(row for row in rows if row["worker_id"] == formula.worker_id)
    assert exported["occupation"] == "'" + formula.occupation
    assert not any(value.startswith(("=", "+", "@")) for row in rows for value in row.values())


def test_xlsx_export_has_the_list_as_text_and_an_advisory_sheet(client, published):
    team = "team-a1"
    listed = client.get("/risk-list", params={"team_id": team, "page_size": 500}).json()["items"]
    response = client.get("/risk-list.xlsx", params={"team_id": team})
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["risk list"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (cell.value for cell in row))) for row in sheet.iter_rows(min_row=2)]

    assert [row["worker_id"] for row in rows] == [item["worker_id"] for item in listed]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert "decide nothing about a person" in book["about"]["A2"].value


def test_team_view_lists_workers_and_their_trusted_clients_most_vulnerable_first(client, published, latest_week):
    body = client.get("/teams/team-a1", params={"horizon": 13}).json()
    clients = published(
        """select c.* from client_exposure c join risk_scores r using (score_date, worker_id)
           where c.score_date = ? and r.team_id = 'team-a1' and c.usual_provider""",
        latest_week,
    )
    keys = [(not c["vulnerable"], -c["complexity"], -c["exposure"]) for c in body["clients"]]

    assert {w["worker_id"] for w in body["workers"]} == set(
        published("select worker_id from risk_scores where score_date = ? and team_id = 'team-a1'", latest_week)["worker_id"]
    )
    assert sorted(c["client_id"] for c in body["clients"]) == sorted(clients["client_id"])
    assert keys == sorted(keys)
    assert body["expected_clients_affected"] == pytest.approx(sum(w["expected_exposure"] for w in body["workers"]))
    assert all(w["expected_exposure"] == pytest.approx(w["probability"] * w["weighted_clients"]) for w in body["workers"])
    assert body["model_version"]
