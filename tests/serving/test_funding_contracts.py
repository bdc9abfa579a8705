"""GET /funding-contracts, the tender calendar: who may read which contracts, figures that are the published
tables' own, small cells suppressed jointly with the aggregates, and the section on the sector page."""

from __future__ import annotations

import pytest

from continuity.forecasts.tender_calendar import FIGURES

from conftest import TENDER_CONTRACTS


def _calendar(as_role, role: str) -> dict[str, dict]:
    response = as_role(role).get("/funding-contracts")
    assert response.status_code == 200, response.text
    return {c["contract_id"]: c for c in response.json()["contracts"]}


def test_a_sector_token_sees_every_running_contract_by_end_date(as_role, published):
    response = as_role("sector").get("/funding-contracts")
    contracts = response.json()["contracts"]

    assert sorted(c["contract_id"] for c in contracts) == sorted(TENDER_CONTRACTS)
    assert [c["end_date"] for c in contracts] == sorted(c["end_date"] for c in contracts)
    held = published("select contract_id, end_date, successor from tender_calendar").set_index("contract_id")
    for c in contracts:
        assert c["end_date"] == str(held.end_date[c["contract_id"]].date())
        assert c["successor"] == held.successor[c["contract_id"]]
    assert "worker_id" not in response.text and "client_id" not in response.text
    assert not any(w in response.text for w in ("W001", "W013", "W025"))  # never an individual


def test_a_sector_token_limited_to_regions_sees_only_their_contracts(as_role):
    limited = _calendar(as_role, "sector_amsterdam")

    assert set(limited) == {c for c, spec in TENDER_CONTRACTS.items() if spec[1] == "GM0363"} == {"FC-A1", "FC-B1"}
    assert all(c["municipality"] == "GM0363" for c in limited.values())
    whole = _calendar(as_role, "sector")
    assert all(limited[c] == whole[c] for c in limited)  # the same figures as the unlimited sector's


@pytest.mark.parametrize(("role", "organisation"), [("hr_a", "org-a"), ("hr_b", "org-b")])
def test_an_hr_token_sees_its_own_organisations_contracts_in_full(as_role, role, organisation):
    own = _calendar(as_role, role)

    assert set(own) == {c for c, spec in TENDER_CONTRACTS.items() if spec[0] == organisation}
    assert not any(c["suppressed"] for c in own.values())  # every worker of them is in its scope
    if organisation == "org-a":
        assert own["FC-A3"]["workers"] == 2


@pytest.mark.parametrize("role", ["manager_a1", "manager_a2_b1"])
def test_managers_are_refused(as_role, role):
    assert as_role(role).get("/funding-contracts").status_code == 403


def test_a_worker_token_is_refused(app, settings):
    from fastapi.testclient import TestClient

    from continuity.access import create_token

    token = create_token(settings, "worker", worker="W001")
    response = TestClient(app).get("/funding-contracts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_the_counts_are_those_of_the_published_tables(as_role, published):
    shown = _calendar(as_role, "hr_a") | _calendar(as_role, "hr_b")
    members = published("select m.contract_id, m.worker_id, m.p_until_end, m.p_until_end_far "
                        "from tender_calendar_workers m join risk_scores r on r.worker_id = m.worker_id "
                        "where r.score_date = (select max(score_date) from risk_scores)")
    cases = published("select c.worker_id, c.client_id, c.vulnerable from client_exposure c "
                      "where c.score_date = (select max(score_date) from client_exposure)")
    cases = cases.merge(members[["worker_id", "contract_id"]], on="worker_id", how="left")
    per_client = cases.groupby("client_id").contract_id.agg(lambda s: s.nunique(dropna=False))
    for contract_id, row in shown.items():
        mine = members[members.contract_id == contract_id]
        assert row["workers"] == len(mine)
        assert row["clients"] == cases[cases.contract_id == contract_id].client_id.nunique()
        assert row["expected_leavers"] == pytest.approx(mine.p_until_end.sum())
        assert row["extra_leavers"] == pytest.approx(mine.p_until_end.sum() - mine.p_until_end_far.sum())
        only = set(per_client.index[per_client == 1]) & set(cases[cases.contract_id == contract_id].client_id)
        assert row["clients_at_risk"] == len(only) <= row["clients"]
    assert shown["FC-A1"]["workers"] == 12 and shown["FC-B2"]["workers"] == 0
    # the end within 26 weeks adds departures in the fixture; an end a year or more away adds none
    assert shown["FC-A1"]["extra_leavers"] > 0
    assert shown["FC-A2"]["extra_leavers"] == pytest.approx(0)


def test_small_contracts_are_suppressed_with_the_contract_that_would_give_them_away(as_role):
    sector = _calendar(as_role, "sector")

    # FC-A3 holds 2 workers; FC-A2's 10 beside region GM0344's 12 (both published) would give it away
    assert sector["FC-A3"]["suppressed"] and sector["FC-A2"]["suppressed"]
    for hidden in ("FC-A2", "FC-A3"):
        assert all(sector[hidden][figure] is None for figure in FIGURES)
        assert sector[hidden]["end_date"] and sector[hidden]["successor"]  # the contract itself is public
    published_cells = [c for c in sector.values() if not c["suppressed"]]
    assert all(c["workers"] == 0 or c["workers"] >= 10 for c in published_cells)
    assert all(c["clients"] is None or c["clients"] == 0 or c["clients"] >= 10 for c in published_cells)


def test_no_contract_figure_can_be_had_by_differencing_with_the_aggregates(as_role):
    """A region's published workers minus its published contracts never leaves 1 to 9 workers of one hidden
    contract: hidden contracts come at least two to a region, or what they leave is 0 or 10 and more."""
    sector = _calendar(as_role, "sector")
    cells = as_role("sector").get("/aggregates", params={"by": "region"}).json()["cells"]
    regions = {c["key"]: c["workers"] for c in cells if not c["suppressed"]}
    for region, workers in regions.items():
        inside = [c for c in sector.values() if c["municipality"] == region]
        hidden = [c for c in inside if c["suppressed"]]
        remainder = workers - sum(c["workers"] for c in inside if not c["suppressed"])
        assert len(hidden) != 1 or not 0 < remainder < 10, region


def test_the_sector_page_shows_the_tender_calendar_in_dutch(as_role, tokens, app):
    from fastapi.testclient import TestClient

    browser = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"})
    assert browser.post("/ui/login", data={"token": tokens["sector"]}).status_code == 303
    page = browser.get("/ui/sector").text

    assert "Aanbestedingskalender" in page and 'class="tenders"' in page
    for contract_id in TENDER_CONTRACTS:
        assert f'<td class="contract">{contract_id}</td>' in page
    assert "aanbesteding volgt" in page and "verloren" in page
    assert page.index("FC-A1") < page.index("FC-B1") < page.index("FC-B2")  # by end date

    hr = TestClient(app, follow_redirects=False, headers={"Origin": "http://testserver"})
    assert hr.post("/ui/login", data={"token": tokens["hr_b"]}).status_code == 303
    own = hr.get("/ui/sector").text
    assert "FC-B1" in own and "FC-A1" not in own


def test_no_combination_of_published_contracts_and_aggregates_isolates_a_few_workers(as_role, published):
    """Every -1/0/+1 combination of the published worker counts (the sector total, the aggregates' cells of every
    grouping and the published contracts), minus what a reader knows (nothing, an organisation, a team), is never
    exactly 1 to 9 workers outside their scope; and no combination is exactly a hidden contract."""
    import itertools

    import numpy as np

    week = "(select max(score_date) from risk_scores)"
    workers = published(f"select r.worker_id, r.organisation_id, r.team_id, s.region, s.domain, s.occupation "
                        f"from risk_scores r join worker_snapshot s using (worker_id) where r.score_date = {week} "
                        f"order by r.worker_id")
    on = published("select worker_id, contract_id from tender_calendar_workers").set_index("worker_id").contract_id
    contract = workers.worker_id.map(on)
    columns = {"region": "region", "organisation": "organisation_id", "domain": "domain", "occupation": "occupation"}
    rows = [np.ones(len(workers))]
    for by, column in columns.items():
        for cell in as_role("sector").get("/aggregates", params={"by": by}).json()["cells"]:
            if not cell["suppressed"]:
                rows.append((workers[column].astype(str) == cell["key"]).to_numpy(float))
    calendar = _calendar(as_role, "sector")
    rows += [(contract == c).to_numpy(float) for c, row in calendar.items() if not row["suppressed"] and row["workers"]]
    sums = np.array(list(itertools.product((-1, 0, 1), repeat=len(rows)))) @ np.vstack(rows)
    readers = [np.zeros(len(workers), bool)] + [(workers[s] == v).to_numpy() for s in ("organisation_id", "team_id")
                                                for v in workers[s].unique()]
    for known in readers:
        rest = sums[:, ~known]
        few = ((rest == 0) | (rest == 1)).all(axis=1) & (rest.sum(axis=1) >= 1) & (rest.sum(axis=1) < 10)
        assert not few.any()
    for c, row in calendar.items():
        if row["suppressed"]:
            assert not (sums == (contract == c).to_numpy(float)).all(axis=1).any(), c
