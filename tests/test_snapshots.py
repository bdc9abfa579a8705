"""Point-in-time snapshots: the leakage guarantee first, then each feature on a case with a known answer."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from continuity.features.feature_spec import DERIVED, MODEL_FEATURES, RECORDED_FEATURES
from continuity.features.snapshot_sql import SNAPSHOT_COLUMNS, SNAPSHOT_SQL
from continuity.features.snapshots import (build_snapshots, data_end, score_date, score_snapshot, snapshot_at,
                                           weekly_dates)
from continuity.synth.generate import generate_sector

from contract_frames import assignment, funding, hr_event, load, random_sector, tables, worker

T = date(2021, 3, 1)  # a Monday
DAY = timedelta(days=1)


def only(frame: pd.DataFrame, worker_id: str) -> pd.Series:
    rows = frame[frame.worker_id == worker_id]
    assert len(rows) == 1, f"{worker_id} should have exactly one row"
    return rows.iloc[0]


def blind_after(frames: dict[str, pd.DataFrame], t: date) -> dict[str, pd.DataFrame]:
    """Change or delete every fact dated at or after t, the way a different future would."""
    ts = pd.Timestamp(t)

    def later(column: pd.Series) -> pd.Series:
        return pd.to_datetime(column) >= ts

    workers = frames["workers"][~later(frames["workers"].hire_date)].copy()
    leaving_later = later(workers.termination_date)
    shifted = leaving_later & (workers.index % 2 == 0)
    workers.loc[leaving_later & ~shifted, ["termination_date", "termination_reason"]] = None
    workers.loc[shifted, "termination_date"] = pd.to_datetime(workers.termination_date[shifted]) + timedelta(days=90)
    workers.loc[shifted, "termination_reason"] = "involuntary"

    events = frames["hr_events"][~later(frames["hr_events"].event_date)].copy()
    spell_ends_later = (events.event_type == "sick_leave") & later(events.end_date)
    events.loc[spell_ends_later, "end_date"] = None

    cases = frames["assignments"][~later(frames["assignments"].start_date)].copy()
    case_ends_later = later(cases.end_date)
    cases.loc[case_ends_later, "end_date"] = pd.to_datetime(cases.end_date[case_ends_later]) + timedelta(days=3)
    cases.loc[case_ends_later, "end_reason"] = "worker_left"

    return {
        "workers": workers,
        "hr_events": events,
        "assignments": cases,
        "contacts": frames["contacts"][~later(frames["contacts"].contact_date)],
        "funding_contracts": frames["funding_contracts"][~later(frames["funding_contracts"].awarded_date)],
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_different_future_leaves_the_snapshot_unchanged(con, seed):
    load(con, **random_sector(seed, n_workers=60, start=date(2019, 1, 1), end=date(2023, 1, 1)))
    before = snapshot_at(con, T)
    assert len(before) > 20
    future_rows = sum((pd.to_datetime(f[c]) >= pd.Timestamp(T)).sum()
                      for f, c in ((tables(con)["hr_events"], "event_date"), (tables(con)["workers"], "termination_date")))
    assert future_rows > 50, "the case must have a future to change"

    load(con, **blind_after(tables(con), T))

    assert_frame_equal(snapshot_at(con, T), before)


def test_a_different_future_leaves_a_synthetic_sector_snapshot_unchanged(con, tmp_path):
    generate_sector(tmp_path, workers=60, years=2, seed=7, start=date(2020, 1, 6))
    load(con, **{path.stem: pd.read_parquet(path) for path in (tmp_path / "exports").glob("*.parquet")})
    t = date(2021, 1, 4)
    before = snapshot_at(con, t)
    assert len(before) >= 50 and before.caseload.sum() > 0 and before.sick_weeks_52w.sum() > 0

    load(con, **blind_after(tables(con), t))

    assert_frame_equal(snapshot_at(con, t), before)


@pytest.mark.parametrize("edit", ["sick spell", "team move", "assignment", "funding award", "colleague left"])
def test_a_different_past_changes_the_snapshot(con, edit):
    """The leakage test above would pass for a constant function: here the past does matter."""
    frames = random_sector(4, n_workers=60, start=date(2019, 1, 1), end=date(2023, 1, 1))
    load(con, **frames)
    before = snapshot_at(con, T)
    target = before.worker_id.iloc[0]
    earlier = T - timedelta(weeks=4)
    if edit == "sick spell":
        frames["hr_events"].loc[len(frames["hr_events"])] = hr_event(target, "sick_leave", earlier, end_date=T - DAY)
    elif edit == "team move":
        frames["hr_events"].loc[len(frames["hr_events"])] = hr_event(target, "team_move", earlier, detail="elsewhere")
    elif edit == "assignment":
        frames["assignments"].loc[len(frames["assignments"])] = assignment("new client", target, earlier)
    elif edit == "funding award":
        frames["funding_contracts"] = frames["funding_contracts"].iloc[0:0]
    else:
        colleague = worker("colleague", date(2019, 2, 4), team_id=only(before, target).team_id,
                           termination_date=earlier, termination_reason="voluntary")
        frames["workers"].loc[len(frames["workers"])] = colleague
    load(con, **frames)

    assert not snapshot_at(con, T).equals(before)


def test_active_means_hired_before_t_and_not_yet_gone(con):
    load(con, workers=[
        worker("hired at t", T),
        worker("hired the day before", T - DAY),
        worker("leaves at t", date(2020, 1, 6), termination_date=T, termination_reason="voluntary"),
        worker("left the day before", date(2020, 1, 6), termination_date=T - DAY, termination_reason="voluntary"),
    ])
    assert sorted(snapshot_at(con, T).worker_id) == ["hired the day before", "leaves at t"]


def test_columns_follow_the_feature_spec_and_model_features_have_no_nulls(con):
    load(con, **random_sector(5, n_workers=40, start=date(2019, 1, 1), end=date(2023, 1, 1)))
    snapshot = snapshot_at(con, T)
    assert tuple(snapshot.columns) == SNAPSHOT_COLUMNS
    assert not snapshot[[f for f in MODEL_FEATURES if f in RECORDED_FEATURES]].isna().any().any()
    assert not set(snapshot.columns) & set(DERIVED), "indicators are derived by the models, never stored"
    assert set(snapshot.age_band) <= {"<25", "25-34", "35-44", "45-54", "55+"}


def test_state_at_t_follows_the_changes_dated_before_t(con):
    hire = date(2018, 1, 1)
    load(con, workers=[worker("w", hire, team_id="A", fte=1.0, pay_scale=8, contract_type="temporary",
                              contract_end_date=date(2019, 1, 1), birth_year=1997)],
         hr_events=[
             hr_event("w", "team_move", date(2020, 5, 1), detail="B"),
             hr_event("w", "team_move", T, detail="C"),  # at t: not yet known
             hr_event("w", "fte_change", date(2020, 1, 1), value=0.5),
             hr_event("w", "contract_renewal", date(2018, 12, 1), detail="temporary", end_date=T + timedelta(weeks=10)),
             hr_event("w", "scale_step", date(2019, 6, 3), detail="9-1"),
             hr_event("w", "manager_change", T - timedelta(weeks=3), detail="m2"),
             hr_event("w", "manager_change", T - timedelta(weeks=60), detail="m1"),
             hr_event("w", "overtime", date(2020, 12, 1), value=5.0),  # T - 90 days: a whole month in the window
             hr_event("w", "overtime", date(2020, 11, 1), value=100.0),
         ])
    row = only(snapshot_at(con, T), "w")
    assert row.team_id == "B"
    assert row.fte == 0.5
    assert (row.is_temporary, row.weeks_to_contract_end) == (1, 10.0)
    assert row.pay_scale == 9
    assert row.weeks_since_scale_step == (T - date(2019, 6, 3)).days / 7
    assert row.weeks_since_manager_change == 3.0
    assert row.manager_changes_52w == 1
    assert row.team_moves_52w == 1
    assert row.overtime_hours_13w == 5.0
    assert row.age_band == "<25"  # 2021 - 1997 = 24
    assert row.tenure_weeks == (T - hire).days / 7


def test_a_change_without_a_value_still_replaces_the_one_before_and_other_kinds_carry_on(con):
    """The state timeline holds each kind's latest change whole: a renewal into a permanent contract (no end date)
    ends the temporary one's date, and a later change of another kind keeps both."""
    load(con, workers=[worker("w", date(2018, 1, 1), contract_type="temporary", contract_end_date=date(2019, 1, 1))],
         hr_events=[
             hr_event("w", "contract_renewal", date(2018, 12, 1), detail="temporary", end_date=date(2020, 6, 1)),
             hr_event("w", "contract_renewal", date(2020, 5, 4), detail="permanent", end_date=None),
             hr_event("w", "fte_change", date(2020, 9, 1), value=0.8),
         ])
    row = only(snapshot_at(con, T), "w")
    assert (row.is_temporary, row.weeks_to_contract_end, row.fte) == (0, 520, 0.8)
    before = only(snapshot_at(con, date(2020, 5, 4)), "w")  # the permanent contract not yet known
    assert (before.is_temporary, before.weeks_to_contract_end) == (1, 4.0)


def test_overtime_counts_only_months_over_before_t(con):
    """A month's overtime is dated on its first day but written when the month is over; the running month's
    record would tell who left in it (no record), so it waits until the month has ended."""
    t = date(2021, 3, 15)
    load(con, workers=[worker("w", date(2018, 1, 1))],
         hr_events=[hr_event("w", "overtime", date(2021, 2, 1), value=5.0),
                    hr_event("w", "overtime", date(2021, 3, 1), value=7.0)])
    assert only(snapshot_at(con, t), "w").overtime_hours_13w == 5.0
    assert only(snapshot_at(con, date(2021, 4, 5)), "w").overtime_hours_13w == 12.0


def test_never_happened_means_since_hire_capped(con):
    load(con, workers=[worker("new", T - timedelta(weeks=30)), worker("old", date(2005, 1, 3))])
    snapshot = snapshot_at(con, T)
    assert only(snapshot, "new").weeks_since_scale_step == 30.0
    # the manager a worker was hired under is not a new manager
    assert only(snapshot, "new").weeks_since_manager_change == 520
    assert only(snapshot, "old").weeks_since_scale_step == 520
    assert only(snapshot, "old").weeks_to_contract_end == 520


def test_sick_weeks_count_days_in_the_window_and_clip_ongoing_spells_at_t(con):
    load(con, workers=[worker("w", date(2019, 1, 7))], hr_events=[
        # 7 days inside the 13-week window, 14 before it
        hr_event("w", "sick_leave", T - timedelta(days=91 + 14), end_date=T - timedelta(days=91 - 6)),
        # ongoing: from 14 days before t
        hr_event("w", "sick_leave", T - timedelta(days=14)),
        # long outside the 52-week window
        hr_event("w", "sick_leave", date(2019, 3, 1), end_date=date(2019, 4, 1)),
    ])
    row = only(snapshot_at(con, T), "w")
    assert row.sick_weeks_13w == 3.0
    assert row.sick_weeks_52w == 5.0
    assert row.sick_spells_52w == 2


def test_caseload_counts_open_primary_cases(con):
    start = T - timedelta(weeks=20)
    load(con, workers=[worker("starter", T - timedelta(weeks=50), fte=0.5), worker("senior", date(2010, 1, 4))],
         assignments=[
             assignment("c1", "starter", start, complexity=5, flag_crisis=True),
             assignment("c2", "starter", start, complexity=2, end_date=T),  # ends at t: still open
             assignment("c3", "starter", start, complexity=4, end_date=T - DAY),  # closed
             assignment("c4", "starter", start, complexity=5, role="secondary"),
             assignment("c5", "starter", T, complexity=5),  # starts at t
             assignment("c6", "senior", start, complexity=5),
         ])
    snapshot = snapshot_at(con, T)
    starter = only(snapshot, "starter")
    assert starter.caseload == 2
    assert starter.caseload_ratio == pytest.approx(2 / 6)
    assert starter.mean_complexity == 3.5
    assert starter.complex_share_starter == 0.5
    assert starter.vulnerable_clients == 1
    assert only(snapshot, "senior").complex_share_starter == 0.0


def test_team_leavers_count_the_team_a_leaver_was_in(con):
    load(con, workers=[
        worker("me", date(2019, 1, 7), team_id="A"),
        worker("moved in then left", date(2019, 1, 7), team_id="B",
               termination_date=T - timedelta(weeks=2), termination_reason="voluntary"),
        worker("left long ago", date(2019, 1, 7), team_id="A",
               termination_date=T - timedelta(weeks=27), termination_reason="voluntary"),
        worker("left another team", date(2019, 1, 7), team_id="B",
               termination_date=T - timedelta(weeks=1), termination_reason="voluntary"),
    ], hr_events=[hr_event("moved in then left", "team_move", date(2020, 1, 1), detail="A")])
    assert only(snapshot_at(con, T), "me").team_leavers_26w == 1


def test_funding_runs_to_the_end_of_back_to_back_contracts_known_at_t(con):
    load(con, workers=[worker(w, date(2019, 1, 7), organisation_id=w) for w in
                       ("renewed", "ended", "unfunded", "renewal after t", "lost")],
         funding_contracts=[
             funding("r1", "renewed", date(2019, 1, 1), date(2021, 6, 30), date(2018, 9, 1), municipality="GM2"),
             funding("r2", "renewed", date(2021, 7, 1), date(2022, 6, 30), date(2021, 1, 4), municipality="GM2"),
             funding("e1", "ended", date(2019, 1, 1), T - DAY, date(2018, 9, 1), municipality="GM3"),
             funding("a1", "renewal after t", date(2019, 1, 1), date(2021, 6, 30), date(2018, 9, 1), municipality="GM4"),
             funding("a2", "renewal after t", date(2021, 7, 1), date(2024, 6, 30), T, municipality="GM4"),
             funding("l1", "lost", date(2019, 1, 1), date(2021, 6, 30), date(2018, 9, 1), municipality="GM1"),
             funding("l2", "competitor", date(2021, 7, 1), date(2025, 6, 30), date(2021, 2, 1), municipality="GM1"),
         ])
    snapshot = snapshot_at(con, T)
    months = lambda end: (end - T).days / (365.25 / 12)  # noqa: E731
    assert only(snapshot, "renewed").months_to_funding_end == pytest.approx(months(date(2022, 6, 30)))
    assert only(snapshot, "renewal after t").months_to_funding_end == pytest.approx(months(date(2021, 6, 30)))
    assert only(snapshot, "ended").months_to_funding_end == 0.0
    assert only(snapshot, "unfunded").months_to_funding_end == 120.0
    assert snapshot.set_index("worker_id").lost_tender.to_dict() == {
        "renewed": 0, "ended": 0, "unfunded": 0, "renewal after t": 0, "lost": 1}


def test_build_snapshots_stores_what_snapshot_at_returns_and_is_idempotent(con):
    load(con, **random_sector(6, n_workers=40, start=date(2019, 1, 1), end=date(2022, 1, 1)))
    rows = build_snapshots(con, every_weeks=4)
    assert build_snapshots(con, every_weeks=4) == rows
    stored = con.table("snapshots").df()
    dates = weekly_dates(con, every_weeks=4)
    assert stored.snapshot_date.nunique() == len(dates) and len(stored) == rows
    middle = dates[len(dates) // 2]
    assert_frame_equal(stored[stored.snapshot_date == pd.Timestamp(middle)].reset_index(drop=True),
                       snapshot_at(con, middle))


def test_the_week_to_score_is_built_with_the_snapshots_as_snapshot_at_returns_it(con):
    load(con, **random_sector(5, n_workers=40, start=date(2019, 1, 1), end=date(2022, 1, 1)))
    t = score_date(con)
    assert t.weekday() == 0 and data_end(con) < t <= data_end(con) + timedelta(days=7)
    assert score_snapshot(con, t).empty is False
    computed = snapshot_at(con, t)

    build_snapshots(con, every_weeks=4)

    assert len(computed) > 20 and t > con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
    assert_frame_equal(con.table("score_snapshot").df(), computed)
    assert_frame_equal(score_snapshot(con, t), computed)
    # another week than the one built is computed, not read
    earlier = t - timedelta(weeks=30)
    assert_frame_equal(score_snapshot(con, earlier), snapshot_at(con, earlier))


def test_snapshots_built_a_few_dates_at_a_time_equal_one_build_and_leave_no_temporary_table(con, monkeypatch):
    import continuity.features.snapshots as snapshots

    load(con, **random_sector(9, n_workers=40, start=date(2019, 1, 1), end=date(2022, 1, 1)))
    build_snapshots(con, every_weeks=2)
    whole = con.table("snapshots").df()
    most = whole.groupby("snapshot_date").size().max()
    dates = weekly_dates(con, every_weeks=2)
    blocks = snapshots.date_blocks(con, dates, rows=3 * most)
    assert [d for block in blocks for d in block] == dates and 1 < len(blocks) < len(dates)
    assert all(len(block) <= 3 for block in blocks)
    monkeypatch.setattr(snapshots, "BLOCK_ROWS", 1)  # one date a block
    build_snapshots(con, every_weeks=2)
    assert_frame_equal(con.table("snapshots").df(), whole)
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchall()[0][0] == 0


def test_labels_measure_weeks_to_leaving_and_censor_at_the_data_end(con):
    load(con, workers=[
        worker("stays", date(2019, 1, 7)),
        worker("leaves", date(2019, 1, 7), termination_date=date(2020, 3, 2), termination_reason="voluntary"),
        worker("retires late", date(2019, 1, 7), termination_date=date(2020, 6, 1), termination_reason="retirement"),
    ])
    assert data_end(con) == date(2020, 6, 1)
    build_snapshots(con, start=date(2020, 1, 6), end=date(2020, 4, 6))
    labels = con.table("labels").df().set_index(["worker_id", "snapshot_date"])
    first = pd.Timestamp(2020, 1, 6)
    assert tuple(labels.loc[("leaves", first)]) == (8.0, "voluntary")
    assert tuple(labels.loc[("stays", first)]) == (13.0, "censored")
    assert tuple(labels.loc[("retires late", first)]) == (13.0, "censored")
    assert ("leaves", pd.Timestamp(2020, 3, 9)) not in labels.index
    assert len(labels) == len(con.table("snapshots").df())


def test_weekly_dates_are_mondays_from_the_observation_start_after_the_warm_up(con):
    load(con, workers=[
        worker("long served", date(1996, 5, 1)),
        worker("first leaver", date(2010, 1, 4), termination_date=date(2019, 1, 2), termination_reason="voluntary"),
        worker("last leaver", date(2010, 1, 4), termination_date=date(2020, 1, 1), termination_reason="voluntary"),
    ])
    dates = weekly_dates(con, every_weeks=2)
    assert dates[0] == date(2019, 7, 8)  # first Monday 26 weeks after the first recorded leaving
    assert all(d.weekday() == 0 for d in dates)
    assert {b - a for a, b in zip(dates, dates[1:])} == {timedelta(weeks=2)}
    assert dates[-1] < date(2020, 1, 1) <= dates[-1] + timedelta(weeks=2)


def test_with_a_teams_table_funding_is_the_teams_market_chain(con):
    """One organisation, two markets: the wmo contract ends in two months, the jeugd one runs for years."""
    workers = [worker("wmo team", date(2019, 1, 7), organisation_id="org", team_id="W"),
               worker("jeugd team", date(2019, 1, 7), organisation_id="org", team_id="J"),
               worker("team not listed", date(2019, 1, 7), organisation_id="org", team_id="X")]
    contracts = [funding("wmo", "org", date(2019, 1, 1), T + timedelta(days=60), date(2018, 9, 1), domain="wmo"),
                 funding("jeugd", "org", date(2019, 1, 1), date(2025, 12, 31), date(2018, 9, 1), domain="jeugd")]
    months = lambda end: (end - T).days / (365.25 / 12)  # noqa: E731
    load(con, workers=workers, funding_contracts=contracts)
    without = snapshot_at(con, T).set_index("worker_id").months_to_funding_end
    # the organisation's chain: its contracts overlap, so every team reads the longest
    assert without.to_dict() == pytest.approx(dict.fromkeys(without.index, months(date(2025, 12, 31))))

    load(con, workers=workers, funding_contracts=contracts,
         teams=[{"team_id": "W", "organisation_id": "org", "municipality": "GM0363", "domain": "wmo"},
                {"team_id": "J", "organisation_id": "org", "municipality": "GM0363", "domain": "jeugd"}])
    with_teams = snapshot_at(con, T).set_index("worker_id").months_to_funding_end
    assert with_teams["wmo team"] == pytest.approx(months(T + timedelta(days=60)))
    assert with_teams["jeugd team"] == pytest.approx(months(date(2025, 12, 31)))
    assert with_teams["team not listed"] == without["team not listed"]  # falls back to the organisation


def test_the_generators_hazard_and_the_feature_read_the_same_funding_contract(con, tmp_path):
    """The synthetic hazard's funding insecurity is the team's market contract ending within 183 days (or a
    tender for it known lost); with the exported teams table the feature reads that contract too."""
    from continuity.synth.generate import sector_layout
    from continuity.synth.organisations import INSECURE_DAYS

    start = date(2020, 1, 6)
    # seed 7 at 300 positions: organisations whose markets' contracts end at different times, and lost tenders
    generate_sector(tmp_path, workers=300, years=3, seed=7, start=start)
    frames = {path.stem: pd.read_parquet(path) for path in (tmp_path / "exports").glob("*.parquet")}
    insecure = sector_layout(workers=300, years=3, seed=7, start=start).insecure

    def read(**replace) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        load(con, **(frames | replace))
        build_snapshots(con, start=start + timedelta(weeks=1), every_weeks=2)
        s = con.table("snapshots").df()
        week = (s.snapshot_date - pd.Timestamp(start)).dt.days // 7
        hazard = pd.Series(insecure[s.team_id.str[1:].astype(int) - 1, week], index=s.index)
        return s, hazard, s.months_to_funding_end * (365.25 / 12) < INSECURE_DAYS - 0.5

    s, hazard, short = read()
    assert short.sum() > 500
    assert not (short & ~hazard).any()  # a short funding horizon is always the hazard's insecurity
    assert (s.lost_tender[hazard & ~short] == 1).all()  # the rest is a tender known lost
    _, hazard, org_short = read(teams=frames["teams"].iloc[0:0])
    assert (hazard & ~org_short & (s.lost_tender == 0)).sum() > 100  # the organisation's chain misses it


def test_a_notice_is_no_feature_and_changes_no_label(con):
    """A notice announces a certain departure: the features ignore the event type, and labels stay on the
    termination date, so a notice can neither leak the label nor become a driver."""
    frames = random_sector(4, n_workers=60, start=date(2019, 1, 1), end=date(2023, 1, 1))
    load(con, **frames)
    build_snapshots(con, start=T, end=date(2022, 1, 3), every_weeks=8)
    before = {name: con.table(name).df() for name in ("snapshots", "labels")}
    workers = frames["workers"]
    leavers = workers[workers.termination_date.notna()]
    notices = [hr_event(w.worker_id, "notice", pd.Timestamp(w.termination_date).date() - timedelta(days=40),
                        end_date=w.termination_date, detail="worker") for w in leavers.itertuples()]
    notices += [hr_event(w, "notice", T - 7 * DAY, end_date=T + timedelta(days=30), detail="worker")
                for w in workers.worker_id[workers.termination_date.isna()]]
    load(con, **(frames | {"hr_events": frames["hr_events"].to_dict("records") + notices}))
    build_snapshots(con, start=T, end=date(2022, 1, 3), every_weeks=8)
    for name, frame in before.items():
        assert_frame_equal(con.table(name).df(), frame)
    assert not any("notice" in name for name in MODEL_FEATURES + RECORDED_FEATURES)


# The caseload features as first written: every primary case joined to every week it is open (a row per case and
# week, which at sector scale is hundreds of millions). Kept here only to show the running sums give the same.
_FAN_OUT_OPEN_CASES = """open_cases as (
    select
        a.worker_id, c.snapshot_date,
        count(*) as caseload,
        avg(a.complexity) as mean_complexity,
        avg(cast(a.complexity >= {complex_min} as integer)) as complex_share,
        count(distinct a.client_id) filter (where {vulnerable}) as vulnerable_clients
    from assignments a
    join calendar c on a.start_date < c.snapshot_date
                   and c.snapshot_date <= coalesce(a.end_date, date '9999-12-31')
    where a.role = 'primary'
    group by a.worker_id, c.snapshot_date
),
"""
_RUNNING_TO_FAN_OUT = {
    "case when oc.caseload > 0 then oc.complexity_total / oc.caseload else 0.0 end as mean_complexity":
        "coalesce(oc.mean_complexity, 0.0) as mean_complexity",
    "and oc.caseload > 0\n             then oc.complex_cases / oc.caseload else 0.0 end":
        "\n             then coalesce(oc.complex_share, 0.0) else 0.0 end",
    "s.snapshot_date > oc.event_date\n                          and s.snapshot_date <= oc.superseded":
        "oc.snapshot_date = s.snapshot_date",
}


def _fan_out_snapshot_sql() -> str:
    from continuity.vocabulary import COMPLEX_CASE_MIN, VULNERABILITY_FLAGS

    start, end = SNAPSHOT_SQL.index("primary_cases as ("), SNAPSHOT_SQL.index("leavers as (")
    old = _FAN_OUT_OPEN_CASES.format(complex_min=COMPLEX_CASE_MIN, vulnerable=" or ".join(VULNERABILITY_FLAGS))
    sql = SNAPSHOT_SQL[:start] + old + SNAPSHOT_SQL[end:]
    for running, fan_out in _RUNNING_TO_FAN_OUT.items():
        assert sql.count(running) == 1, running
        sql = sql.replace(running, fan_out)
    return sql


@pytest.mark.parametrize("sector", ["synthetic", "random"])
def test_open_cases_as_running_sums_equal_the_case_by_week_fan_out(con, tmp_path, sector):
    if sector == "synthetic":
        generate_sector(tmp_path, workers=60, years=2, seed=7, start=date(2020, 1, 6))
        load(con, **{path.stem: pd.read_parquet(path) for path in (tmp_path / "exports").glob("*.parquet")})
    else:  # dense in edge cases: cases ending on a snapshot date, overlapping cases of one client, open ends
        load(con, **random_sector(8, n_workers=50, start=date(2019, 1, 1), end=date(2022, 1, 1)))
    dates = weekly_dates(con)
    running = con.execute(SNAPSHOT_SQL, {"dates": dates}).df()
    fan_out = con.execute(_fan_out_snapshot_sql(), {"dates": dates}).df()
    assert running.caseload.sum() > 0 and running.vulnerable_clients.sum() > 0
    assert_frame_equal(running, fan_out, check_dtype=False)


def test_labels_are_checked_where_they_are_built(tmp_path):
    """A label the models would trust blindly (a repeated key, a negative duration, an unknown exit reason,
    a snapshot row without one) stops the build (`build_snapshots` checks inside its transaction)."""
    from continuity.features.snapshots import check_labels

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create table snapshots as select 'w1' as worker_id, date '2024-01-01' as snapshot_date "
                    "union all select 'w2', date '2024-01-01'")
        con.execute("create table labels as select 'w1' as worker_id, date '2024-01-01' as snapshot_date, "
                    "3.0 as duration_weeks, 'voluntary' as exit_reason "
                    "union all select 'w2', date '2024-01-01', 5.0, 'censored'")
        check_labels(con)  # a sound set passes
        con.execute("insert into labels values ('w1', date '2024-01-01', -1.0, 'bored'), "
                    "('w3', date '2024-01-01', 2.0, 'censored')")
        con.execute("delete from labels where worker_id = 'w2'")
        with pytest.raises(ValueError) as raised:
            check_labels(con)
    message = str(raised.value)
    for said in ("1 (worker, week) keys with more than one label", "1 labels without a duration of at least 0",
                 "1 labels with an exit reason outside the vocabulary", "1 snapshot rows without a label"):
        assert said in message
