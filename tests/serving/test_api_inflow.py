"""GET /inflow and the sector page's inflow section: the published week's figures (the moves and leavers of the
sector among them), suppressed as the aggregates' cells, scoped per token (an hr token never sees another
organisation's cell), and the downloads."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from conftest import FORMULA_OCCUPATION, INFLOW_GONE, INFLOW_GONE_REGION

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
    assert "GM0363" in csv and "GM0344" not in csv and "org-a" not in csv
    assert "sector" not in set(pd.read_csv(io.StringIO(csv)).grouping)  # no sector total


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
    for cell in [api["sector"], *(c for c in api["cells"] if not c["suppressed"])]:
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
    # the voluntary leavers split by destination: two columns of their own, each figure with its interval
    assert "<th>Vrijwillig vertrek naar een andere werkgever</th>" in page
    assert "<th>Vrijwillig vertrek uit de sector</th>" in page
    for measure in ("moves", "leaves_sector"):
        figure = amsterdam[measure]
        low, high = figure["interval"]
        shown = f'<td class="num {measure}">{figure["expected"]:.1f}'.replace(".", ",")
        assert shown in page and f"({low}–{high})" in page, measure


def test_the_cells_download_neutralises_a_formula_the_export_named_an_occupation(as_role):
    """The aggregates' cells download carries the export's occupation labels as keys, as the inflow's does."""
    csv = pd.read_csv(io.StringIO(as_role("sector").get("/ui/sector/cells.csv").text))
    occupations = set(csv.key[csv.grouping == "occupation"])
    assert "'" + FORMULA_OCCUPATION in occupations and not any(k.startswith("=") for k in csv.key.astype(str))


def _charts(page: str) -> dict[str, str]:
    """Each region chart of the page by its region: the figure's markup."""
    return {m.group(1): m.group(2) for m in re.finditer(
        r'<figure class="region-chart" data-region="([^"]+)">(.*?)</figure>', page, re.S)}


def test_the_sector_page_draws_a_chart_per_shown_region_with_the_published_years_and_forecasts(
        app, tokens, as_role, published):
    browser = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"})
    assert browser.post("/ui/login", data={"token": tokens["sector"]}).status_code == 303
    page = browser.get("/ui/sector", params={"by": "organisation"}).text  # drawn whatever the grouping
    cells = _inflow(as_role, "sector", "region")["cells"]
    shown = [c["key"] for c in cells if not c["suppressed"]]
    charts = _charts(page)
    assert shown and list(charts) == shown  # one per region shown, none for a suppressed one
    assert INFLOW_GONE_REGION in {c["key"] for c in cells if c["suppressed"]} and INFLOW_GONE_REGION not in charts
    history = published("select * from sector_history where grouping = 'region'")
    forecasts = {h: {c["key"]: c for c in _inflow(as_role, "sector", "region", h)["cells"]} for h in (52, 104, 156)}
    for key, chart in charts.items():
        assert 'role="img"' in chart and "aria-label=\"Instroom en uitstroom per jaar in" in chart
        points = set(re.findall(r'<circle class="past (hires|exits)"[^>]*data-year-end="([\d-]+)" data-count="(\d+)"',
                                chart))
        rows = history[history.key == key]
        assert points == {(r.measure, str(pd.Timestamp(r.year_end).date()), str(r.count)) for r in rows.itertuples()}
        # each past year of 52 weeks named by the calendar year holding most of it, so no name comes twice
        named = [int(y) for y in re.findall(r'text-anchor="middle">(\d{4})</text>', chart)]
        ends = sorted(set(pd.to_datetime(rows.year_end)))
        assert len(named) >= 2 and named == [(end - pd.Timedelta(weeks=26)).year for end in ends]
        assert len(set(named)) == len(named)
        for h, years in ((52, 1), (104, 2), (156, 3)):
            figure = forecasts[h][key]["exits"]
            low, high = figure["interval"]
            assert (f'<g class="forecast exits" data-years="{years}" data-expected="{figure["expected"] / years:.1f}" '
                    f'data-low="{low / years:.1f}" data-high="{high / years:.1f}">') in chart
    # a limited sector token: its own region's chart only; an hr token (no region cell): none
    assert list(_charts(_page(app, tokens["sector_amsterdam"]))) == ["GM0363"]
    assert _charts(_page(app, tokens["hr_a"])) == {}


def _page(app, token: str) -> str:
    browser = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"})
    assert browser.post("/ui/login", data={"token": token}).status_code == 303
    return browser.get("/ui/sector").text
