"""GET /inflow and the sector page's inflow section: the published week's figures, suppressed as the aggregates'
cells, scoped per token (an hr token never sees another organisation's cell), and the downloads."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from conftest import FORMULA_OCCUPATION, INFLOW_GONE

from continuity.forecasts.aggregates import INFLOW_MEASURES as MEASURES



def _inflow(as_role, role: str, by: str, horizon: int = 52) -> dict:
    response = as_role(role).get("/inflow", params={"by": by, "horizon": horizon})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("horizon", [52, 104, 156])
@pytest.mark.parametrize("by", ["region", "organisation", "domain", "occupation"])
def test_a_sector_token_gets_the_published_figures_and_the_aggregates_suppression(as_role, published, by, horizon):
    body = _inflow(as_role, "sector", by, horizon)
    table = published("select * from sector_inflow").set_index(["grouping", "key", "measure", "horizon_weeks"])
    aggregates = {c["key"]: c["suppressed"] for c in
                  as_role("sector").get("/aggregates", params={"by": by}).json()["cells"]}
    keys = sorted(table.xs((by, "hires", horizon), level=("grouping", "measure", "horizon_weeks")).index)
    assert [c["key"] for c in body["cells"]] == keys and body["horizon"] == horizon and body["unavailable"] == {}
    for cell in body["cells"]:
        # suppressed exactly where the aggregates suppress the same key, or where no scored worker is
        assert cell["suppressed"] == aggregates.get(cell["key"], True)
        for measure in MEASURES:
            if cell["suppressed"]:
                assert cell[measure] is None
                continue
            row = table.loc[(by, cell["key"], measure, horizon)]
            assert cell[measure] == {"expected": row.expected, "interval": [row.low, row.high], "past": row.past,
                                     "window_weeks": row.window_weeks}
    assert body["sector"]["hires"]["expected"] == table.loc[("sector", "sector", "hires", horizon), "expected"]


def test_an_organisation_without_scored_workers_and_small_cells_publish_no_figure(as_role):
    organisations = {c["key"]: c for c in _inflow(as_role, "sector", "organisation")["cells"]}
    assert organisations[INFLOW_GONE]["suppressed"] and organisations[INFLOW_GONE]["hires"] is None
    occupations = _inflow(as_role, "sector", "occupation")["cells"]
    assert occupations and all(c["suppressed"] for c in occupations)  # no occupation holds 10 of the 36 workers
    assert all(c[m] is None for c in occupations for m in MEASURES)


@pytest.mark.parametrize(("role", "organisation", "competitor"), [("hr_a", "org-a", "org-b"), ("hr_b", "org-b", "org-a")])
def test_an_hr_token_sees_its_own_organisation_and_the_sector_never_a_competitors_cell(as_role, role, organisation,
                                                                                         competitor):
    own = _inflow(as_role, role, "organisation")
    assert [c["key"] for c in own["cells"]] == [organisation]
    assert own["sector"]["key"] == "sector" and own["sector"]["hires"] is not None
    whole = {c["key"]: c for c in _inflow(as_role, "sector", "organisation")["cells"]}
    assert own["cells"][0] == whole[organisation]
    for by in ("region", "domain", "occupation"):  # every such cell is shared with a competitor's workers
        assert _inflow(as_role, role, by)["cells"] == []
    csv = as_role(role).get("/ui/sector/inflow.csv")
    table = pd.read_csv(io.StringIO(csv.text))
    assert set(table.key) == {organisation, "sector"} and competitor not in csv.text


def test_a_sector_token_limited_to_regions_gets_the_cells_within_them_and_no_sector_total(as_role):
    limited = _inflow(as_role, "sector_amsterdam", "region")
    assert [c["key"] for c in limited["cells"]] == ["GM0363"] and limited["sector"] is None
    whole = {c["key"]: c for c in _inflow(as_role, "sector", "region")["cells"]}
    assert limited["cells"][0] == whole["GM0363"]
    assert [c["key"] for c in _inflow(as_role, "sector_amsterdam", "organisation")["cells"]] == ["org-b"]
    csv = as_role("sector_amsterdam").get("/ui/sector/inflow.csv").text
    assert "GM0363" in csv and "GM0344" not in csv and "org-a" not in csv and "sector," not in csv


def test_managers_and_bad_parameters_are_refused(as_role):
    assert as_role("manager_a1").get("/inflow", params={"by": "region"}).status_code == 403
    assert as_role("sector").get("/inflow", params={"by": "region", "horizon": 26}).status_code == 422
    assert as_role("sector").get("/inflow", params={"by": "team"}).status_code == 422
    assert as_role("admin").get("/inflow", params={"by": "domain", "horizon": 156}).status_code == 200


def test_the_downloads_hold_the_api_figures_of_every_grouping_and_horizon(as_role):
    browser = as_role("sector")
    csv = pd.read_csv(io.StringIO(browser.get("/ui/sector/inflow.csv").text))
    parquet = pd.read_parquet(io.BytesIO(browser.get("/ui/sector/inflow.parquet").content))
    assert len(parquet) == len(csv) and list(parquet.columns) == list(csv.columns)
    assert set(parquet.horizon_weeks) == {52, 104, 156} and set(parquet.measure) == set(MEASURES)
    api = _inflow(as_role, "sector", "region", 104)
    for cell in [api["sector"], *api["cells"]]:
        for measure in MEASURES:
            row = parquet[(parquet.key == cell["key"]) & (parquet.measure == measure)
                          & (parquet.horizon_weeks == 104)].iloc[0]
            assert row.expected == cell[measure]["expected"]
            assert [row.interval_low, row.interval_high] == cell[measure]["interval"]
    assert parquet.loc[parquet.suppressed, ["expected", "interval_low"]].isna().all().all()
    assert parquet.loc[parquet.key == "GM0363", "name"].unique().tolist() == ["Amsterdam"]
    formula = parquet.key[parquet.key.str.startswith("=")].iloc[0]  # the fixture's formula occupation, neutralised
    assert set(csv.key[csv.grouping == "occupation"]) >= {"'" + formula} and formula not in set(csv.key)


def test_the_sector_page_shows_the_inflow_in_dutch(app, tokens, as_role):
    browser = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"})
    assert browser.post("/ui/login", data={"token": tokens["sector"]}).status_code == 303
    page = browser.get("/ui/sector", params={"by": "region"}).text
    assert 'class="inflow"' in page and "Instroom" in page and "Netto verandering" in page
    api = _inflow(as_role, "sector", "region", 156)
    amsterdam = next(c for c in api["cells"] if c["key"] == "GM0363")
    low, high = amsterdam["hires"]["interval"]
    assert f"({low}–{high})" in page and "3 jaar" in page and "Hele sector" in page
    assert "/ui/sector/inflow.csv" in page


def test_the_cells_download_neutralises_a_formula_the_export_named_an_occupation(as_role):
    """The aggregates' cells download carries the export's occupation labels as keys, as the inflow's does."""
    csv = pd.read_csv(io.StringIO(as_role("sector").get("/ui/sector/cells.csv").text))
    occupations = set(csv.key[csv.grouping == "occupation"])
    assert "'" + FORMULA_OCCUPATION in occupations and not any(k.startswith("=") for k in csv.key.astype(str))
