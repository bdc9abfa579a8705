"""Handover plans, sector aggregates and scenarios through the API, on the real weekly flow's publication.

Expected values are read back from the warehouse, the publication and the planning library,
never from the route code; scope tests prove a manager, hr and sector token each get what is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token
from continuity.forecasts.aggregates import GROUPINGS
from continuity.handover.planner import naive_plan, plan_handover, situation
from continuity.forecasts.frame import forecast_frame
from continuity.publication import Publications
from continuity.serving.app import create_app
from continuity.warehouse import connect

BYS = tuple(GROUPINGS)


@pytest.fixture(scope="module")
def flow_settings(weekly_run):
    return weekly_run[0]


@pytest.fixture(scope="module")
def flow_app(flow_settings):
    return create_app(flow_settings)


@pytest.fixture(scope="module")
def risk(flow_settings) -> pd.DataFrame:
    with connect(flow_settings.warehouse, read_only=True) as con:
        return con.execute("select * from risk_scores where score_date = (select max(score_date) from risk_scores)").df()


@pytest.fixture(scope="module")
def frame(flow_settings):
    return forecast_frame(Publications(flow_settings.published).current())


@pytest.fixture(scope="module")
def leaver(flow_settings, risk) -> str:
    """The scored worker with the most open primary clients."""
    with connect(flow_settings.warehouse, read_only=True) as con:
        counts = con.execute(
            "select worker_id, count(distinct client_id) as n from assignments where role = 'primary' "
            "and start_date < $t and (end_date is null or end_date >= $t) group by worker_id order by n desc, worker_id",
            {"t": risk.score_date.iloc[0].date()}).df()
    return counts[counts.worker_id.isin(risk.worker_id)].worker_id.iloc[0]


@pytest.fixture(scope="module")
def as_token(flow_app, flow_settings) -> Callable[..., TestClient]:
    def client(role: str, **scope) -> TestClient:
        test_client = TestClient(flow_app)
        test_client.headers["Authorization"] = f"Bearer {create_token(flow_settings, role, **scope)}"
        return test_client

    return client


@pytest.fixture(scope="module")
def admin(as_token) -> TestClient:
    return as_token("admin")


def _library_plans(settings, leaver, **options):
    now = situation(Publications(settings.published).current(), leaver, **options)
    return plan_handover(now), naive_plan(now)


def test_handover_plan_is_the_planners_optimum_with_the_naive_comparison(admin, flow_settings, risk, leaver):
    body = admin.post("/handover-plans", json={"worker_id": leaver}).json()
    plan, naive = _library_plans(flow_settings, leaver)

    assert body["date"] == body["week"] == str(plan.date)
    assert [(h["client_id"], h["successor_id"], tuple(h["reasons"]), h["starter_complex"])
            for h in body["handovers"]] == \
           [(h.client_id, h.successor_id, h.reasons, h.starter_complex) for h in plan.handovers]
    assert len(body["handovers"]) >= 2
    assert body["expected_further_handovers"] == pytest.approx(plan.expected_further_handovers)
    assert body["naive_expected_further_handovers"] == pytest.approx(naive.expected_further_handovers)
    assert body["horizon_weeks"] == 52 and body["risk_assumption"] is None  # p_52w is published
    assert body["scope_note"] is None


def test_replanning_honours_pins_and_exclusions(admin, leaver):
    first = admin.post("/handover-plans", json={"worker_id": leaver}).json()["handovers"]
    placed = [h for h in first if h["successor_id"]]
    dropped, pinned_client = placed[0]["successor_id"], placed[-1]["client_id"]
    others = {h["successor_id"] for h in placed} - {dropped}
    pin_to = sorted(others)[0] if others else None
    request = {"worker_id": leaver, "excluded": [dropped]} | ({"pinned": {pinned_client: pin_to}} if pin_to else {})

    again = admin.post("/handover-plans", json=request).json()["handovers"]

    assert dropped not in {h["successor_id"] for h in again}
    if pin_to:
        chosen = next(h for h in again if h["client_id"] == pinned_client)
        assert chosen["successor_id"] == pin_to and chosen["reasons"][0] == "pinned by the manager"


def test_bad_pins_and_dates_are_422_unknown_worker_404(admin, leaver, risk):
    assert admin.post("/handover-plans", json={"worker_id": leaver, "pinned": {"no-such-client": leaver}}).status_code == 422
    week = risk.score_date.iloc[0].date()
    for other_week in (week - timedelta(days=7), week - timedelta(days=3650)):
        response = admin.post("/handover-plans", json={"worker_id": leaver, "date": str(other_week)})
        assert response.status_code == 422 and "published week" in response.json()["detail"]
    assert admin.post("/handover-plans", json={"worker_id": leaver, "date": str(week)}).status_code == 200
    assert admin.post("/handover-plans", json={"worker_id": "nobody"}).status_code == 404
    assert admin.post("/handover-plans", json={"date": "2024-01-01"}).status_code == 422


def test_handover_plans_are_scoped_and_audited(as_token, admin, risk, leaver):
    mine = risk.set_index("worker_id").loc[leaver]
    other_team = risk[risk.team_id != mine.team_id].iloc[0]
    other_org = risk[risk.organisation_id != mine.organisation_id]

    manager = as_token("manager", teams=[mine.team_id])
    body = manager.post("/handover-plans", json={"worker_id": leaver}).json()
    team = set(risk[risk.team_id == mine.team_id].worker_id)
    assert {h["successor_id"] for h in body["handovers"]} - {None} <= team
    assert body["scope_note"]
    assert as_token("manager", teams=[other_team.team_id]).post(
        "/handover-plans", json={"worker_id": leaver}).status_code == 403
    client_id = body["handovers"][0]["client_id"]
    outside = manager.post("/handover-plans", json={"worker_id": leaver, "pinned": {client_id: other_team.worker_id}})
    unknown = manager.post("/handover-plans", json={"worker_id": leaver, "pinned": {client_id: "W-nobody"}})
    assert outside.status_code == unknown.status_code == 422
    assert outside.json()["detail"].replace(other_team.worker_id, "ID") == unknown.json()["detail"].replace("W-nobody", "ID")
    hr = as_token("hr", organisation=mine.organisation_id).post("/handover-plans", json={"worker_id": leaver})
    assert hr.status_code == 200 and hr.json()["scope_note"]
    organisation = set(risk[risk.organisation_id == mine.organisation_id].worker_id)
    assert {h["successor_id"] for h in hr.json()["handovers"]} - {None} <= organisation
    if len(other_org):
        assert as_token("hr", organisation=other_org.organisation_id.iloc[0]).post(
            "/handover-plans", json={"worker_id": leaver}).status_code == 403
    assert as_token("sector").post("/handover-plans", json={"worker_id": leaver}).status_code == 403

    entries = admin.get("/audit", params={"endpoint": "POST /handover-plans", "worker_id": leaver}).json()["items"]
    manager_read = next(e for e in entries if (e["role"], e["status"]) == ("manager", 200))
    assert manager_read["worker_ids"] == [leaver, *sorted({h["successor_id"] for h in body["handovers"]} - {None})]
    assert {(e["role"], e["status"]) for e in entries} >= {("manager", 200), ("hr", 200), ("manager", 403)}


@pytest.fixture(scope="module")
def published_cells(as_token) -> dict[str, list[dict]]:
    sector = as_token("sector")
    return {by: sector.get("/aggregates", params={"by": by, "horizon": 26}).json()["cells"] for by in BYS}


def test_aggregates_publish_the_sums_of_the_cells_workers(published_cells, frame):
    for by, cells in published_cells.items():
        column = frame.workers[GROUPINGS[by]].astype(str)
        assert sorted(cell["key"] for cell in cells) == sorted(column.unique())
        for cell in (c for c in cells if not c["suppressed"]):
            members = frame.workers[column == cell["key"]]
            assert cell["workers"] == len(members)
            assert cell["expected_leavers"] == pytest.approx(members.p_26w.sum())
            assert cell["expected_clients_affected"] == pytest.approx((members.p_26w * members.weighted_clients).sum())
            assert cell["interval"][0] <= cell["expected_leavers"] <= cell["interval"][1]
            if cell["observed_leavers_last_year"] is not None:  # withheld where an insider could isolate a few leavers
                assert cell["observed_leavers_last_year"] == int((frame.leavers[GROUPINGS[by]].astype(str) == cell["key"]).sum())


def test_no_published_cell_is_small_and_no_combination_of_queries_reveals_one(published_cells, frame):
    """Brute force over every -1/0/+1 combination of the published figures of two queries and the total."""
    hidden = [(by, cell["key"]) for by, cells in published_cells.items() for cell in cells if cell["suppressed"]]
    assert hidden, "the tiny sector should have small cells to protect"
    for cells in published_cells.values():
        assert all(c["workers"] >= 10 and c["expected_leavers"] is not None for c in cells if not c["suppressed"])
        assert all(c["workers"] is None and c["expected_leavers"] is None and c["interval"] is None
                   for c in cells if c["suppressed"])
    total = frame.workers.p_26w.sum()
    for first in BYS:
        for second in BYS[BYS.index(first) + 1:]:
            figures = [total] + [c["expected_leavers"] for by in (first, second)
                                 for c in published_cells[by] if not c["suppressed"]]
            sums = np.zeros(1)
            for x in figures[:14]:
                sums = np.concatenate([sums - x, sums, sums + x])
            for by, key in hidden:
                if by in (first, second):
                    members = frame.workers[frame.workers[GROUPINGS[by]].astype(str) == key]
                    assert not np.isclose(sums, members.p_26w.sum(), rtol=0, atol=1e-9).any(), (by, key)


@pytest.mark.parametrize("horizon", [13, 52])
def test_aggregates_other_horizons_keep_the_same_suppression(as_token, published_cells, frame, horizon):
    body = as_token("hr", organisation=frame.workers.organisation_id.iloc[0]).get("/aggregates", params={"by": "occupation", "horizon": horizon})
    assert body.status_code == 200
    assert [c["suppressed"] for c in body.json()["cells"]] == [c["suppressed"] for c in published_cells["occupation"]]
    assert body.json()["assumption"] is None  # every horizon the API offers is published, none derived


def test_aggregates_refuse_managers_and_bad_parameters(as_token):
    assert as_token("manager", teams=["any-team"]).get("/aggregates", params={"by": "region"}).status_code == 403
    sector = as_token("sector")
    assert sector.get("/aggregates", params={"by": "team"}).status_code == 422
    assert sector.get("/aggregates", params={"by": "region", "horizon": 40}).status_code == 422


@pytest.mark.parametrize("scenario", ["long_funding_contracts", "caseload_at_norm", "regular_scale_steps"])
def test_scenarios_report_a_model_based_change_and_suppress_like_the_aggregates(as_token, frame, scenario):
    sector = as_token("sector")
    body = sector.post("/scenarios", json={"scenario": scenario, "horizon": 26}).json()
    organisations = sector.get("/aggregates", params={"by": "organisation", "horizon": 26}).json()["cells"]

    assert body["label"] == "model-based, not causal"
    assert body["workers"] == len(frame.workers)
    for figure in ("expected_leavers", "expected_clients_affected"):
        assert body["change"][figure] == pytest.approx(body["with_scenario"][figure] - body["baseline"][figure])
    # the same model scored the same snapshot when the week was published
    assert body["baseline"]["expected_leavers"] == pytest.approx(frame.workers.p_26w.sum(), rel=1e-6)
    assert [(c["key"], c["suppressed"]) for c in body["by_organisation"]] == \
           [(c["key"], c["suppressed"]) for c in organisations]
    assert as_token("manager", teams=["any-team"]).post("/scenarios", json={"scenario": scenario}).status_code == 403


def test_unknown_scenario_is_422(as_token):
    assert as_token("admin").post("/scenarios", json={"scenario": "four_day_week"}).status_code == 422


def test_the_sector_endpoints_need_nothing_but_the_publication(client, published):
    """The serving fixture's home holds publications and no contract tables at all."""
    response = client.get("/aggregates", params={"by": "region"})
    assert response.status_code == 200
    assert sum(c["workers"] or 0 for c in response.json()["cells"]) <= len(published("select * from worker_snapshot"))

