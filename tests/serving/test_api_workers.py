"""GET /workers/{id} and /workers/{id}/exposure: one worker's risk and what their leaving costs their clients."""

from __future__ import annotations

import json

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def scored(published, latest_week):
    return published("select * from risk_scores where score_date = ? order by rank", latest_week)


@pytest.fixture(scope="module")
def left_before(published, latest_week):
    """A worker scored in an earlier week but no longer in the latest."""
    return published(
        "select worker_id from risk_scores where score_date < ? except select worker_id from risk_scores where score_date = ?",
        latest_week, latest_week,
    )["worker_id"][0]


def test_worker_has_both_horizons_rank_drivers_and_model(client, scored, latest_week):
    row = scored.iloc[len(scored) // 2]
    body = client.get(f"/workers/{row.worker_id}").json()

    assert body["week"] == latest_week.isoformat()
    assert (body["worker_id"], body["organisation_id"], body["team_id"]) == (row.worker_id, row.organisation_id, row.team_id)
    assert (body["p_13w"], body["p_26w"], body["rank"]) == pytest.approx((row.p_13w, row.p_26w, row["rank"]))
    assert body["drivers"] == [d for d in json.loads(row.drivers) if not d["health"]]  # admin: no health data
    assert (body["model_name"], body["model_version"]) == (row.model_name, row.model_version)


def test_worker_survival_curve_runs_a_year_and_matches_the_risk(client, published, scored, latest_week):
    worker_id = scored["worker_id"][0]
    curve = client.get(f"/workers/{worker_id}").json()["survival"]
    expected = published(
        "select week, survival from survival_curves where score_date = ? and worker_id = ? order by week", latest_week, worker_id
    )

    assert [p["week"] for p in curve] == list(range(53))
    assert [p["survival"] for p in curve] == pytest.approx(expected["survival"].tolist())
    assert all(a["survival"] >= b["survival"] for a, b in zip(curve, curve[1:]))


@pytest.mark.parametrize("suffix", ["", "/exposure"])
def test_worker_not_scored_this_week_is_404_naming_them(client, left_before, suffix):
    response = client.get(f"/workers/{left_before}{suffix}")

    assert response.status_code == 404
    assert left_before in response.json()["detail"]


@pytest.mark.parametrize("suffix", ["", "/exposure"])
def test_unknown_worker_is_404_naming_them(client, suffix):
    response = client.get(f"/workers/no-such-worker{suffix}")

    assert response.status_code == 404
    assert "'no-such-worker'" in response.json()["detail"]


def test_exposure_summarises_and_lists_clients_most_exposed_first(client, published, latest_week):
    worker_id = published(
        "select worker_id from worker_exposure where score_date = ? order by active_clients desc, worker_id limit 1", latest_week
    )["worker_id"][0]
    body = client.get(f"/workers/{worker_id}/exposure").json()
    summary = published("select * exclude (score_date, worker_id) from worker_exposure where score_date = ? and worker_id = ?", latest_week, worker_id)
    clients = published("select * from client_exposure where score_date = ? and worker_id = ?", latest_week, worker_id)

    assert body["week"] == latest_week.isoformat()
    p = published("select p_13w, p_26w, p_52w from risk_scores where score_date = ? and worker_id = ?", latest_week, worker_id)
    assert {k: body["summary"][k] for k in summary.columns} == pytest.approx(summary.iloc[0].to_dict())
    # Beside the weighted exposure, a count of people: probability x clients.
    assert body["summary"]["expected_clients_26w"] == pytest.approx(p.p_26w[0] * summary.active_clients[0])
    assert body["summary"]["expected_clients_26w"] <= body["summary"]["active_clients"]
    assert len(body["clients"]) == body["summary"]["active_clients"] == len(clients)
    assert {c["client_id"] for c in body["clients"]} == set(clients["client_id"])
    exposures = [c["exposure"] for c in body["clients"]]
    assert exposures == sorted(exposures, reverse=True)


@pytest.mark.parametrize("index", ["coc", "kpc"])
def test_undefined_continuity_index_is_null_not_a_number(client, published, latest_week, index):
    undefined = published(
        f"select worker_id, client_id from client_exposure where score_date = ? and {index} is null limit 1", latest_week
    ).iloc[0]
    clients = client.get(f"/workers/{undefined.worker_id}/exposure").json()["clients"]
    entry = next(c for c in clients if c["client_id"] == undefined.client_id)

    assert entry[index] is None
    assert 0 <= entry["upc"] <= 1
    assert entry["coc_drop"] >= 0


def test_worker_without_clients_has_an_empty_exposure(client, published, latest_week):
    worker_id = published(
        "select worker_id from risk_scores where score_date = ? except select worker_id from client_exposure where score_date = ?",
        latest_week, latest_week,
    )["worker_id"][0]
    body = client.get(f"/workers/{worker_id}/exposure").json()

    assert body["clients"] == []
    assert body["summary"]["active_clients"] == 0
    assert body["summary"]["expected_exposure_26w"] == 0
    assert body["summary"]["mean_relationship_weeks"] is None


def test_client_ids_are_the_pseudonyms_only(client, published, latest_week):
    rows = published("select worker_id, client_id from client_exposure where score_date = ?", latest_week)
    worker_id = rows["worker_id"][0]
    served = pd.DataFrame(client.get(f"/workers/{worker_id}/exposure").json()["clients"])

    assert set(served["client_id"]) <= set(rows["client_id"])
    assert not {"name", "client_name", "birth_date"} & set(served.columns)
