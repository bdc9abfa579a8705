"""Inflow and the staffing gap: hires and exits per cell from their past rates, the net change, the voluntary
leavers by destination (moves and leavers of the sector), the clients without a steady worker, the synthetic
sector's vacancies and the backtest of them all."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from continuity.config import DEMO_PSEUDONYM_KEY
from continuity.features.inflow import client_counts, clients_at, flows
from continuity.forecasts.inflow import PRIOR, WINDOW_WEEKS, count_forecast, drift, net_change, net_spread
from continuity.forecasts.staffing_gap import gap_forecast
from contract_frames import assignment, contact, load, worker

END = pd.Timestamp("2024-01-01")
START = END - pd.Timedelta(weeks=WINDOW_WEEKS)


def _weekly(per_week: dict[str, list[int]]) -> pd.DataFrame:
    """Events of each cell: per_week[cell][i] events in week i of the window."""
    rows = [{"day": START + pd.Timedelta(weeks=i), "region": cell}
            for cell, counts in per_week.items() for i, n in enumerate(counts) for _ in range(n)]
    return pd.DataFrame(rows, columns=["day", "region"])


def test_a_steady_hire_rate_forecasts_that_rate_with_a_poisson_sized_interval():
    events = _weekly({"A": [2] * WINDOW_WEEKS})
    forecast = count_forecast(events, "region", START, END, 52, keys=["A", "B"])
    a, b = forecast["A"], forecast["B"]
    assert a.past == 208 and a.expected == pytest.approx((208 + 0.5) * 52 / 104)
    # no drift between half years: Poisson plus the rate's own uncertainty, about +-1.645 sqrt(104 + 104^2/208)
    assert drift(events["day"], events["region"], START, END) == 0.0
    low, high = a.interval
    assert low < 104 < high and 80 <= low <= 86 and 122 <= high <= 128
    # a cell without a hire in the window gets the prior's small rate, not a certain zero
    assert b.past == 0 and b.expected == pytest.approx(0.25) and b.interval[0] == 0


def test_a_rate_that_drifts_between_half_years_widens_the_interval():
    steady = _weekly({"A": [2] * WINDOW_WEEKS, "B": [2] * WINDOW_WEEKS})
    # the same 208 hires, all in two of the four half years
    lumpy = _weekly({"A": [4] * 26 + [0] * 26 + [4] * 26 + [0] * 26, "B": [0] * 26 + [4] * 26 + [0] * 26 + [4] * 26})
    assert drift(lumpy["day"], lumpy["region"], START, END) > 0.5
    calm = count_forecast(steady, "region", START, END, 52)["A"]
    wide = count_forecast(lumpy, "region", START, END, 52)["A"]
    assert wide.expected == calm.expected
    assert wide.interval[1] - wide.interval[0] > 2 * (calm.interval[1] - calm.interval[0])


def test_the_window_is_the_last_two_years_or_what_the_export_records():
    history = pd.DataFrame({"day": [START - pd.Timedelta(weeks=10)] * 50, "region": "A"})
    assert count_forecast(history, "region", START - pd.Timedelta(weeks=52), END, 52, keys=["A"])["A"].past == 0
    # an export recording only the last year: its year's count is a year's rate
    recent = _weekly({"A": [0] * 52 + [1] * 52})
    half = count_forecast(recent, "region", END - pd.Timedelta(weeks=52), END, 52)["A"]
    assert half.past == 52 and half.expected == pytest.approx(52.5)


def test_net_change_intervals_are_narrow_where_hires_refill_exits_and_wide_where_they_do_not():
    hires = _weekly({"A": [3] * WINDOW_WEEKS})
    refilled = _weekly({"A": [3] * WINDOW_WEEKS})
    forecast = {kind: count_forecast(f, "region", START, END, 52) for kind, f in (("hire", hires), ("exit", refilled))}
    assert net_spread(hires, refilled, "region", START, END) == 0.0
    tight = net_change(forecast["hire"], forecast["exit"], 0.0, 52)["A"]
    assert tight.expected == 0.0 and tight.interval == (0, 0)
    rng = np.random.default_rng(1)
    independent = {k: _weekly({c: list(rng.poisson(3, WINDOW_WEEKS)) for c in "ABCDEFGHIJ"}) for k in ("h", "e")}
    phi = net_spread(independent["h"], independent["e"], "region", START, END)
    assert 0.5 < phi < 2.0  # independent counts: the Poisson variance of the difference
    fh, fe = (count_forecast(independent[k], "region", START, END, 52) for k in ("h", "e"))
    wide = net_change(fh, fe, phi, 52)["A"]
    assert wide.expected == pytest.approx(fh["A"].expected - fe["A"].expected)
    assert wide.interval[1] - wide.interval[0] > 2 * 1.645 * np.sqrt(0.5 * 312) - 2


def test_the_staffing_gap_forecast_is_the_past_level_with_its_spread():
    rows = []
    for d, (without, vacancy, steady) in enumerate([(10, 4, 90), (12, 6, 88), (14, 2, 86)]):
        day = pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=4 * d)
        # region A in two combinations of the other cells, which the forecast adds up
        rows += [{"date": day, "region": "A", "occupation": "x", "open": 50, "without": without, "vacancy": vacancy},
                 {"date": day, "region": "A", "occupation": "y", "open": steady + without - 50, "without": 0,
                  "vacancy": 0}]
    rows += [{"date": pd.Timestamp("2023-01-02"), "region": "B", "occupation": "x", "open": 1, "without": 1,
              "vacancy": 0}]
    forecast = gap_forecast(pd.DataFrame(rows), "region")
    a = forecast["A"]
    assert a.expected == 12 and a.on_vacancy == 4 and a.open_clients == 100
    assert a.interval[0] < 12 < a.interval[1]
    # B had one such client on one date of three
    assert forecast["B"].expected == pytest.approx(1 / 3)


T = date(2024, 1, 1)


def _clients_sector(con, filled_on: date | None):
    """W1 sees C1 weekly; W2's C2 last saw anyone 20 weeks ago; W3 left 3 weeks ago, C3 went to W1, who saw
    them since, while W3's post waits for a hire (``filled_on``)."""
    left = T - timedelta(weeks=3)
    load(con,
         workers=[worker("W1", date(2020, 1, 1)), worker("W2", date(2020, 1, 1), occupation="casemanager"),
                  worker("W3", date(2020, 1, 1), termination_date=left, termination_reason="voluntary"),
                  worker("W4", filled_on or date(2030, 1, 1))],
         assignments=[assignment("C1", "W1", date(2022, 1, 1)), assignment("C2", "W2", date(2022, 1, 1)),
                      assignment("C3", "W3", date(2022, 1, 1), end_date=left, end_reason="worker_left"),
                      assignment("C3", "W1", left, domain="jeugd"),
                      assignment("C9", "W1", date(2021, 1, 1), end_date=date(2022, 1, 1), end_reason="closed")],
         contacts=[*(contact("C1", "W1", T - timedelta(weeks=k)) for k in range(1, 20)),
                   contact("C2", "W2", T - timedelta(weeks=20)), contact("C3", "W1", T - timedelta(weeks=1))],
         vacancies=[{"vacancy_id": "V1", "organisation_id": "org1", "team_id": "team1",
                     "occupation": "maatschappelijk werker", "fte": 1.0, "opened_on": left + timedelta(days=1),
                     "filled_on": filled_on, "vacated_by": "W3", "filled_by": "W4" if filled_on else None}])


def test_clients_without_a_steady_worker_are_the_unseen_and_those_waiting_on_a_vacancy(con):
    _clients_sector(con, filled_on=None)
    clients = clients_at(con, T).set_index("client_id")
    assert sorted(clients.index) == ["C1", "C2", "C3"]  # C9's case closed
    assert not clients.loc["C1", "unseen"] and not clients.loc["C1", "vacancy"]
    assert clients.loc["C2", "unseen"] and not clients.loc["C2", "vacancy"]
    assert clients.loc["C2", "occupation"] == "casemanager"
    assert not clients.loc["C3", "unseen"] and clients.loc["C3", "vacancy"]
    assert clients.loc["C3", "domain"] == "jeugd"
    # once the post is filled, W3's former client no longer waits; a filling after t is not known at t
    _clients_sector(con, filled_on=T - timedelta(days=2))
    assert not clients_at(con, T).set_index("client_id").loc["C3", "vacancy"]
    _clients_sector(con, filled_on=T + timedelta(days=2))
    assert clients_at(con, T).set_index("client_id").loc["C3", "vacancy"]


def test_the_counts_of_many_dates_in_one_pass_are_those_of_each_date_alone(con):
    _clients_sector(con, filled_on=None)
    # 4 weeks apart as the week's run takes them, and two dates further apart than one pass's weeks can tell
    dates = [T - timedelta(weeks=w) for w in (0, 4, 8, 12, 16, 20, 150)]
    together = client_counts(con, dates)
    alone = pd.concat([client_counts(con, [t]) for t in dates], ignore_index=True)
    assert_frame_equal(together.sort_values(["date", "occupation"], ignore_index=True),
                       alone.sort_values(["date", "occupation"], ignore_index=True))
    at_t = together[together["date"] == pd.Timestamp(T)]
    assert at_t["open"].sum() == 3 and at_t["without"].sum() == 2 and at_t["vacancy"].sum() == 1  # C2; C3
    # C1 was seen weekly from 19 weeks before T on: not on a contact's own day, but the week after, and still
    # 13 weeks after the last contact, not 14
    def c1_unseen(t):
        return bool(clients_at(con, t).set_index("client_id").loc["C1", "unseen"])
    assert c1_unseen(T - timedelta(weeks=19)) and not c1_unseen(T - timedelta(weeks=18))
    assert not c1_unseen(T + timedelta(weeks=12)) and c1_unseen(T + timedelta(weeks=13))  # last seen T - 1 week
    with pytest.raises(ValueError, match="whole weeks apart"):
        client_counts(con, [T, T - timedelta(days=3)])


def test_flows_are_hires_and_exits_in_the_cell_of_their_team(con):
    load(con,
         workers=[worker("W1", date(2023, 3, 1), termination_date=date(2023, 9, 1), termination_reason="retirement"),
                  worker("W2", date(2023, 5, 1), team_id="team2", organisation_id="org2"),
                  worker("W3", date(2021, 5, 1))],
         teams=[{"team_id": "team2", "organisation_id": "org2", "municipality": "GM0363", "domain": "jeugd"}],
         assignments=[assignment("C1", "W1", date(2023, 3, 2), domain="participatie")])
    f = flows(con, date(2023, 1, 1), date(2024, 1, 1)).sort_values(["kind", "day"]).reset_index(drop=True)
    assert list(f["kind"]) == ["exit", "hire", "hire"]
    assert f.loc[f["kind"] == "hire", "domain"].tolist() == ["participatie", "jeugd"]  # the team's domain, else the cases'
    assert f.loc[f["kind"] == "hire", "organisation_id"].tolist() == ["org1", "org2"]
    assert f["worker_id"].tolist() == ["W1", "W1", "W2"]  # whose flow it is, for its destination


def _destinations_sector(con, person_keys: bool = True) -> None:
    """Forty voluntary leavers 27-105 weeks before T, every other one starting at org2 four weeks later (a move),
    the rest gone from the sector; ten recent leavers (2-20 weeks before T) who all moved within a week; a
    retirement. A quarter of the leavers work in region GM0344."""
    key = (lambda k: f"P-{k}") if person_keys else (lambda k: None)
    rows = [worker("RET", date(2010, 1, 1), termination_date=T - timedelta(weeks=60), termination_reason="retirement",
                   person_key=key("RET"))]
    for k in range(40):
        left = T - timedelta(weeks=27 + 2 * k)
        rows.append(worker(f"L{k}", date(2015, 1, 1), termination_date=left, termination_reason="voluntary",
                           person_key=key(f"L{k}"), region="GM0344" if k % 4 in (0, 1) else "GM0363"))
        if k % 2 == 0:
            rows.append(worker(f"M{k}", left + timedelta(weeks=4), organisation_id="org2", person_key=key(f"L{k}")))
    for j in range(10):
        left = T - timedelta(weeks=2 + 2 * j)
        rows += [worker(f"R{j}", date(2015, 1, 1), termination_date=left, termination_reason="voluntary",
                        person_key=key(f"R{j}")),
                 worker(f"N{j}", left + timedelta(weeks=1), organisation_id="org2", person_key=key(f"R{j}"))]
    load(con, workers=rows)


def test_moves_and_leavers_of_the_sector_are_counted_from_known_destinations_only(con):
    from continuity.features.inflow import inflow_history
    from continuity.forecasts.inflow_table import inflow_table
    from continuity.published import SECTOR_INFLOW, conform

    _destinations_sector(con)
    history = inflow_history(con, T)
    assert history["why_moves"] is None and history["moves_until"] == pd.Timestamp(T) - pd.Timedelta(weeks=26)
    destination = history["events"].set_index(["kind", "worker_id"])["destination"]
    assert destination[("exit", "L0")] == "move" and destination[("exit", "L1")] == "sector"
    assert destination[("exit", "R3")] == "move"  # a recent move is seen at once, but counts only once all are known
    assert pd.isna(destination[("exit", "RET")]) and pd.isna(destination[("hire", "M0")])
    table = conform(SECTOR_INFLOW, inflow_table(**history)).set_index(["grouping", "key", "measure", "horizon_weeks"])
    weeks = 105 - 26  # from the first recorded leaver to 26 weeks before the data end
    for h in (52, 104, 156):
        moves, left = table.loc[("sector", "sector", "moves", h)], table.loc[("sector", "sector", "leaves_sector", h)]
        # the 20 moves and 20 leavers of the sector before T - 26 weeks; not the 10 recent moves
        assert moves["past"] == 20 and left["past"] == 20 and moves["window_weeks"] == pytest.approx(weeks)
        assert moves["expected"] == pytest.approx((20 + PRIOR) * h / weeks)
        assert moves["low"] < moves["expected"] < moves["high"]
        # split of the voluntary exits: the two rates add up to theirs (but for one prior count) where all are known
        events = history["events"]
        voluntary = events[events["destination"].isin(["move", "sector"])]
        rate = count_forecast(voluntary, "sector", history["first"], history["moves_until"], h)["sector"]
        assert rate.past == 40
        assert moves["expected"] + left["expected"] == pytest.approx(rate.expected + PRIOR * h / weeks)
        # per region: GM0344 holds leavers 0, 1, 4, 5, ...: five moves and five leavers of the sector
        assert table.loc[("region", "GM0344", "moves", h), "past"] == 10
        assert table.loc[("region", "GM0363", "leaves_sector", h), "past"] == 10
    assert table["reason"].isna().sum() == len(table) - 3  # the gap alone: no contacts


def test_without_a_person_key_moves_and_leavers_of_the_sector_give_reasons_not_figures(con):
    from continuity.features.inflow import inflow_history
    from continuity.forecasts.inflow_table import inflow_table
    from continuity.published import SECTOR_INFLOW, conform

    _destinations_sector(con, person_keys=False)
    history = inflow_history(con, T)
    assert "person_key" in history["why_moves"]
    assert set(history["events"]["destination"].dropna()) == {"unknown"}
    table = conform(SECTOR_INFLOW, inflow_table(**history))
    for measure in ("moves", "leaves_sector"):
        rows = table[table["measure"] == measure]
        assert sorted(rows["horizon_weeks"]) == [52, 104, 156] and (rows["grouping"] == "sector").all()
        assert rows["expected"].isna().all() and rows["reason"].str.contains("person_key").all()
    exits = table[(table["measure"] == "exits") & (table["grouping"] == "sector")]
    assert exits["expected"].notna().all()  # the exits themselves are still forecast


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A small sector of four years, generated and ingested."""
    from continuity.features.ingest import ingest_dir
    from continuity.synth import generate_sector

    out = tmp_path_factory.mktemp("inflow_sector")
    summary = generate_sector(out, workers=200, years=4, seed=3, fmt="parquet")
    report = ingest_dir(out / "exports", out / "wh.duckdb", pseudonym_key=DEMO_PSEUDONYM_KEY,
                        export_date=summary.export_date)
    exports = {name: pd.read_parquet(out / "exports" / f"{name}.parquet") for name in ("workers", "vacancies")}
    return summary, report, exports, out / "wh.duckdb"


def test_the_generated_vacancies_agree_with_its_exits_and_hires(generated):
    summary, report, exports, _ = generated
    w, v = exports["workers"], exports["vacancies"]
    assert report.tables["vacancies"].loaded == len(v) > 50 and report.tables["vacancies"].quarantined == 0
    w = w.assign(hire_date=pd.to_datetime(w.hire_date), termination_date=pd.to_datetime(w.termination_date))
    # a transfer to a tender's winner: dismissed by one employer, the same person hired by the next the day after
    dismissed = w[w.termination_reason == "involuntary"].assign(hire_date=lambda f: f.termination_date
                                                                + pd.Timedelta(days=1))
    transfer = w.merge(dismissed[["person_key", "hire_date", "worker_id"]], on=["person_key", "hire_date"],
                       suffixes=("", "_before"))
    exits = w[w.termination_date.notna() & ~w.worker_id.isin(transfer.worker_id_before)].set_index("worker_id")
    # every other exit opens one vacancy, the day after the last day, of the leaver's post
    assert sorted(v.vacated_by) == sorted(exits.index)
    left = exits.loc[v.vacated_by]
    assert (pd.to_datetime(v.opened_on).to_numpy() == (left.termination_date + pd.Timedelta(days=1)).to_numpy()).all()
    assert (v.occupation.to_numpy() == left.occupation.to_numpy()).all()
    # the post's team is the leaver's team at leaving (a team move changes it), always of their employer
    assert (v.organisation_id.to_numpy() == left.organisation_id.to_numpy()).all()
    # every other hire of the period fills a vacancy, on its first day
    hired = w[w.hire_date >= pd.Timestamp(summary.start)].set_index("worker_id")
    filled = v[v.filled_on.notna()]
    assert sorted(filled.filled_by) == sorted(set(hired.index) - set(transfer.worker_id))
    assert (pd.to_datetime(filled.filled_on).to_numpy() == hired.loc[filled.filled_by, "hire_date"].to_numpy()).all()
    weeks_open = (pd.to_datetime(filled.filled_on) - pd.to_datetime(filled.opened_on)).dt.days / 7
    assert weeks_open.between(1, 14).all()
    # still open at the export: filled by no one yet
    assert v.filled_by.isna().equals(v.filled_on.isna()) and v.filled_on.isna().sum() < 0.1 * summary.workers


def test_the_backtest_counts_what_happened_after_each_origin(generated):
    import duckdb

    from continuity.benchmarks.sector_inflow import sector_inflow

    summary, _, exports, warehouse = generated
    with duckdb.connect(str(warehouse), read_only=True) as con:
        result = sector_inflow(con, horizons=(52, 104))
    assert result["vacancies"] and result["horizons"]["52"]["origins"] == ["2022-01-03", "2023-01-02"]
    assert result["horizons"]["104"]["origins"] == ["2022-01-03"]
    w = exports["workers"].assign(hire_date=lambda f: pd.to_datetime(f.hire_date))
    one_year = result["horizons"]["52"]
    for row in one_year["hires"]["per_origin"]:
        t = pd.Timestamp(row["origin"])
        assert row["realised"] == int(w.hire_date.between(t, t + pd.Timedelta(days=363)).sum())
    for measure in ("hires", "exits", "net_change", "moves", "leaves_sector", "without_steady_worker"):
        for grouping in ("region", "organisation", "domain", "occupation", "sector"):
            figures = one_year[measure][grouping]
            assert figures["cells"] > 0 and 0 <= figures["coverage"] <= 1 and figures["mae"] >= 0
    # where leavers went is realised only 26 weeks after the horizon: origins h + 26 weeks before the data end on
    assert one_year["moves_origins"] == ["2021-07-05", "2022-07-04"]
    assert result["horizons"]["104"]["moves_origins"] == ["2021-07-05"]
    voluntary = w[w.termination_reason == "voluntary"].assign(termination_date=lambda f: pd.to_datetime(
        f.termination_date))
    for moves, left in zip(one_year["moves"]["per_origin"], one_year["leaves_sector"]["per_origin"]):
        t = pd.Timestamp(moves["origin"])
        # every voluntary leaver of the year after t moved or left the sector (the export has every person_key)
        assert moves["realised"] + left["realised"] == int(voluntary.termination_date.between(
            t, t + pd.Timedelta(days=363)).sum())
        assert 0 < moves["realised"] and 0 < left["realised"]
    # hires refill exits in a sector of fixed posts: a year's forecast is right to within a quarter, pooled
    assert 0.75 < one_year["hires"]["sector"]["forecast_realised"] < 1.25
    assert 0.75 < one_year["without_steady_worker"]["sector"]["forecast_realised"] < 1.25


def test_the_published_table_holds_the_forecasts_at_the_data_end(generated):
    """The weekly run's ``sector_inflow``: per grouping, cell, measure and horizon, the figures of
    ``count_forecast``, ``net_change`` and ``gap_forecast`` at the export's data end, in the declared shape."""
    import duckdb

    from continuity.features.inflow import (GAP_DATES, GAP_SPACING_WEEKS, GROUPINGS, inflow_history, records_from,
                                            with_destinations)
    from continuity.forecasts.inflow_table import inflow_table
    from continuity.features.snapshots import data_end
    from continuity.forecasts.aggregates import GROUPINGS as AGGREGATE_GROUPINGS
    from continuity.forecasts.inflow import HORIZONS_WEEKS
    from continuity.published import SECTOR_INFLOW, conform

    assert GROUPINGS == AGGREGATE_GROUPINGS  # the same cells as the aggregates, so their suppression applies
    _, _, _, warehouse = generated
    with duckdb.connect(str(warehouse), read_only=True) as con:
        end = pd.Timestamp(data_end(con) + timedelta(days=1))
        table = conform(SECTOR_INFLOW, inflow_table(**inflow_history(con, end.date())))
        first = pd.Timestamp(records_from(con))
        events = with_destinations(con, flows(con, first.date(), end.date()), end.date())
        past = pd.concat([client_counts(con, [(end - pd.Timedelta(weeks=GAP_SPACING_WEEKS * k)).date()])
                          for k in range(GAP_DATES)])
    assert table["reason"].isna().all() and table["expected"].notna().all()
    assert set(table["measure"]) == {"hires", "exits", "net_change", "moves", "leaves_sector", "without_steady_worker"}
    assert set(table["horizon_weeks"]) == set(HORIZONS_WEEKS)
    assert set(table["grouping"]) == {*GROUPINGS, "sector"}
    figures = table.set_index(["grouping", "key", "measure", "horizon_weeks"])
    events["day"] = pd.to_datetime(events["day"])
    hires, exits = events[events["kind"] == "hire"], events[events["kind"] == "exit"]
    keys = sorted(events["region"].astype(str).unique())
    for h in HORIZONS_WEEKS:
        expected_hires = count_forecast(hires, "region", first, end, h, keys)
        expected_exits = count_forecast(exits, "region", first, end, h, keys)
        net = net_change(expected_hires, expected_exits, net_spread(hires, exits, "region", first, end), h)
        for key in keys:
            row = figures.loc[("region", key, "hires", h)]
            assert row["expected"] == pytest.approx(expected_hires[key].expected)
            assert (row["low"], row["high"]) == expected_hires[key].interval
            assert row["past"] == expected_hires[key].past
            assert figures.loc[("region", key, "exits", h), "expected"] == pytest.approx(expected_exits[key].expected)
            assert (figures.loc[("region", key, "net_change", h), ["low", "high"]].tolist()
                    == list(net[key].interval))
        # the moves: the voluntary exits that started elsewhere in the sector, before 26 weeks ahead of the data end
        moved = count_forecast(events[events["destination"] == "move"], "region", first,
                               end - pd.Timedelta(weeks=26), h, keys)
        for key in keys:
            row = figures.loc[("region", key, "moves", h)]
            assert row["expected"] == pytest.approx(moved[key].expected)
            assert (row["low"], row["high"]) == moved[key].interval
    # the sector as one cell: every hire of the window, and the sum of the cells' expectations
    sector = figures.xs(("sector", "sector"), level=("grouping", "key"))
    assert sector.loc[("hires", 52), "past"] == figures.xs(("region", "hires", 52), level=(
        "grouping", "measure", "horizon_weeks"))["past"].sum()
    gap = gap_forecast(past, "occupation")
    for key, f in gap.items():
        for h in HORIZONS_WEEKS:  # the level holds: the same figure for every horizon
            row = figures.loc[("occupation", key, "without_steady_worker", h)]
            assert row["expected"] == pytest.approx(f.expected) and (row["low"], row["high"]) == f.interval
            assert row["past"] == pytest.approx(f.open_clients)


def test_the_history_counts_each_whole_year_back_from_the_data_end(generated):
    """``sector_history``: per cell the hires and exits of each 52 weeks back from the data end, as far as the export
    records them whole (from its first leaver on); the cells add up to the sector."""
    import duckdb

    from continuity.features.inflow import inflow_history
    from continuity.features.snapshots import data_end
    from continuity.forecasts.sector_history import sector_history
    from continuity.published import SECTOR_HISTORY, conform

    _, _, exports, warehouse = generated
    with duckdb.connect(str(warehouse), read_only=True) as con:
        history = inflow_history(con, data_end(con) + timedelta(days=1))
    table = conform(SECTOR_HISTORY, sector_history(history["end"], history["first"], history["events"]))
    year_ends = sorted(set(pd.to_datetime(table["year_end"])), reverse=True)
    assert year_ends[0] == history["end"] - pd.Timedelta(days=1)
    assert len(year_ends) == (history["end"] - history["first"]).days // 364 == 3  # four years, from the first leaver
    w = exports["workers"].assign(hire_date=lambda f: pd.to_datetime(f.hire_date),
                                  termination_date=lambda f: pd.to_datetime(f.termination_date))
    sector = table[table["grouping"] == "sector"].set_index(["measure", "year_end"])["count"]
    for last in year_ends:
        for measure, column in (("hires", "hire_date"), ("exits", "termination_date")):
            assert sector[(measure, last)] == int(w[column].between(last - pd.Timedelta(days=363), last).sum())
    regions = table[table["grouping"] == "region"].groupby(["measure", "year_end"])["count"].sum()
    assert regions.equals(sector.sort_index())
    assert sector_history(history["end"], None, None).empty  # no flows (no leaver recorded): no history


def test_a_short_or_contactless_export_publishes_why_not_a_crash(con):
    from continuity.features.inflow import inflow_history
    from continuity.forecasts.inflow_table import inflow_table
    from continuity.published import SECTOR_INFLOW, conform

    # no leaver at all, no contacts: every measure says why, for the sector, with empty figures
    load(con, workers=[worker("W1", date(2023, 3, 1)), worker("W2", date(2023, 6, 1))],
         assignments=[assignment("C1", "W1", date(2023, 3, 2))])
    table = conform(SECTOR_INFLOW, inflow_table(**inflow_history(con, T)))
    assert len(table) == 6 * 3 and table["expected"].isna().all() and table["reason"].notna().all()
    assert (table["grouping"] == "sector").all()
    assert "no leaver" in table.set_index("measure").loc["hires", "reason"].iloc[0]
    assert "contacts" in table.set_index("measure").loc["without_steady_worker", "reason"].iloc[0]
    # a first leaver ten weeks before the data end: too little history for a rate
    load(con, workers=[worker("W1", date(2023, 3, 1), termination_date=T - timedelta(weeks=10),
                              termination_reason="voluntary"), worker("W2", date(2023, 6, 1))])
    table = inflow_table(**inflow_history(con, T))
    assert "fewer than the 26" in table.set_index("measure").loc["exits", "reason"].iloc[0]
    # thirty weeks of leavers: the exits are forecast, but 26 weeks before the data end four weeks of them are known
    load(con, workers=[worker("W1", date(2023, 3, 1), termination_date=T - timedelta(weeks=30),
                              termination_reason="voluntary", person_key="P1"),
                       worker("W2", date(2023, 6, 1), organisation_id="org2", person_key="P2")])
    table = inflow_table(**inflow_history(con, T)).set_index("measure")
    assert table.loc["exits", "reason"].isna().all()
    assert "known destination" in table.loc["moves", "reason"].iloc[0]
    assert len(table.loc["leaves_sector"]) == 3
