"""GET /aggregates?measure=sector|moves: leaving the sector against moving employer, per cell, in the voluntary
cells' suppression and every token's scope."""

from __future__ import annotations

import pytest

from continuity.forecasts.aggregates import GROUPINGS
from continuity.forecasts.frame import forecast_frame
from continuity.publication import Publications


@pytest.fixture(scope="module")
def frame(settings):
    return forecast_frame(Publications(settings.published).current())


@pytest.mark.parametrize("by", list(GROUPINGS))
@pytest.mark.parametrize("horizon", [13, 26, 52])
def test_sector_and_moves_split_the_voluntary_cells(as_role, frame, by, horizon):
    sector = as_role("sector")
    answers = {m: sector.get("/aggregates", params={"by": by, "horizon": horizon, "measure": m})
               for m in ("voluntary", "sector", "moves")}
    assert all(r.status_code == 200 for r in answers.values())
    cells = {m: {c["key"]: c for c in r.json()["cells"]} for m, r in answers.items()}
    assert answers["moves"].json()["measure"] == "moves" and answers["moves"].json()["destinations"] is None
    assert answers["voluntary"].json()["measure"] == "voluntary"
    p = frame.workers[f"p_{horizon}w"] * frame.workers.move_share
    column = frame.workers[GROUPINGS[by]].astype(str)
    for key, cell in cells["voluntary"].items():
        moves, leaving = cells["moves"][key], cells["sector"][key]
        assert moves["suppressed"] == leaving["suppressed"] == cell["suppressed"]
        assert moves["workers"] == leaving["workers"] == cell["workers"]
        if cell["suppressed"]:
            assert moves["expected_leavers"] is leaving["expected_leavers"] is None
            continue
        assert moves["expected_leavers"] == pytest.approx(p[column == key].sum())
        assert moves["expected_leavers"] + leaving["expected_leavers"] == pytest.approx(cell["expected_leavers"])
        assert moves["observed_leavers_last_year"] is leaving["observed_leavers_last_year"] is None


def test_a_region_limited_token_gets_the_same_cells_in_every_measure(as_role):
    limited = as_role("sector_amsterdam")
    keys = {m: [c["key"] for c in limited.get("/aggregates", params={"by": "organisation", "measure": m}).json()["cells"]]
            for m in ("voluntary", "sector", "moves")}
    assert keys["sector"] == keys["moves"] == keys["voluntary"]
    everyone = as_role("sector").get("/aggregates", params={"by": "organisation", "measure": "moves"}).json()["cells"]
    assert set(keys["moves"]) <= {c["key"] for c in everyone}


def test_split_measures_refuse_managers_and_unknown_measures(as_role):
    assert as_role("manager_a1").get("/aggregates", params={"by": "region", "measure": "moves"}).status_code == 403
    assert as_role("sector").get("/aggregates", params={"by": "region", "measure": "outflow"}).status_code == 422
    assert as_role("hr_a").get("/aggregates", params={"by": "region", "measure": "sector"}).status_code == 200


def test_the_sector_downloads_carry_the_split_of_every_cell(as_role, app, tokens):
    import io

    import pandas as pd
    from fastapi.testclient import TestClient

    browser = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"})
    browser.post("/ui/login", data={"token": tokens["sector"]})
    cells = pd.read_parquet(io.BytesIO(browser.get("/ui/sector/cells.parquet").content))
    shown = cells[~cells.suppressed]
    assert (shown.expected_moves + shown.expected_sector_leavers).to_numpy() == pytest.approx(
        shown.expected_leavers.to_numpy())
    assert cells.loc[cells.suppressed, ["expected_moves", "expected_sector_leavers"]].isna().all().all()
    api = {c["key"]: c for c in as_role("sector").get(
        "/aggregates", params={"by": "region", "horizon": 52, "measure": "moves"}).json()["cells"]}
    for row in shown[(shown.grouping == "region") & (shown.horizon == 52)].itertuples():
        assert row.expected_moves == pytest.approx(api[row.key]["expected_leavers"])
        assert [row.moves_interval_low, row.moves_interval_high] == api[row.key]["interval"]
