"""Known departures at t, on hand-made contract tables: notices and unrenewed temporary contracts, point in time."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from contract_frames import hr_event, load, worker
from continuity.features.known_departures import known_departures
from continuity.features.snapshots import snapshot_at

T = date(2024, 6, 10)
HIRED = date(2020, 1, 6)


def departures(con) -> dict[str, tuple[date, str]]:
    table = known_departures(con, T, snapshot_at(con, T))
    return {row.worker_id: (row.last_day.date(), row.reason) for row in table.itertuples()}


def test_a_notice_given_before_t_is_a_known_departure_on_its_planned_last_day(con):
    load(con, workers=[worker("N", HIRED), worker("LATE", HIRED), worker("PAST", HIRED), worker("NONE", HIRED)],
         hr_events=[hr_event("N", "notice", T - timedelta(days=10), end_date=T + timedelta(days=21)),
                    # given on t itself: not yet known at t
                    hr_event("LATE", "notice", T, end_date=T + timedelta(days=30)),
                    # a last day before t on a worker still employed: overtaken, not a departure to plan
                    hr_event("PAST", "notice", T - timedelta(days=60), end_date=T - timedelta(days=3))])

    assert departures(con) == {"N": (T + timedelta(days=21), "notice")}


def test_the_latest_notice_before_t_sets_the_day(con):
    load(con, workers=[worker("N", HIRED)],
         hr_events=[hr_event("N", "notice", T - timedelta(days=40), end_date=T + timedelta(days=5)),
                    hr_event("N", "notice", T - timedelta(days=4), end_date=T + timedelta(days=50))])

    assert departures(con) == {"N": (T + timedelta(days=50), "notice")}


def test_a_temporary_contract_ending_within_52_weeks_without_renewal_is_known_with_its_end(con):
    end = T + timedelta(days=100)
    load(con, workers=[
        worker("TEMP", HIRED, contract_type="temporary", contract_end_date=end),
        worker("FAR", HIRED, contract_type="temporary", contract_end_date=T + timedelta(weeks=60)),
        worker("RENEWED", HIRED, contract_type="temporary", contract_end_date=end),
        worker("PERMANENT", HIRED, contract_type="temporary", contract_end_date=end),
        worker("RENEWED_AT_T", HIRED, contract_type="temporary", contract_end_date=end),
        worker("LAPSED", HIRED, contract_type="temporary", contract_end_date=T - timedelta(days=20)),
        worker("STAYS", HIRED),
    ], hr_events=[
        hr_event("RENEWED", "contract_renewal", T - timedelta(days=7), detail="temporary",
                 end_date=T + timedelta(weeks=70)),
        hr_event("PERMANENT", "contract_renewal", T - timedelta(days=7), detail="permanent"),
        # signed on t: not known at t, the old end stands
        hr_event("RENEWED_AT_T", "contract_renewal", T, detail="permanent"),
    ])

    assert departures(con) == {"TEMP": (end, "contract_end"), "RENEWED_AT_T": (end, "contract_end")}


def test_a_worker_with_both_gets_the_earlier_day_and_leavers_are_not_scored(con):
    end = T + timedelta(days=90)
    load(con, workers=[worker("BOTH", HIRED, contract_type="temporary", contract_end_date=end),
                       worker("GONE", HIRED, termination_date=T - timedelta(days=1), termination_reason="voluntary")],
         hr_events=[hr_event("BOTH", "notice", T - timedelta(days=2), end_date=T + timedelta(days=30)),
                    hr_event("GONE", "notice", T - timedelta(days=40), end_date=T + timedelta(days=30))])

    table = known_departures(con, T, snapshot_at(con, T))
    assert list(table.columns) == ["worker_id", "last_day", "reason"]
    assert departures(con) == {"BOTH": (T + timedelta(days=30), "notice")}
    assert pd.api.types.is_datetime64_any_dtype(table.last_day)


def test_the_weekly_run_publishes_the_known_departures_of_its_scored_workers(weekly_run):
    """On the tiny synthetic sector (whose generator writes notices): every published known departure is a scored
    worker's, dated from the score week to 52 weeks on, and every scored worker with a running notice is among them."""
    import duckdb

    from continuity.publication import Publications

    settings, _ = weekly_run
    week = Publications(settings.published).current()
    t = week.score_date
    known = week.table("known_departures")
    scored = set(week.table("risk_scores").worker_id)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        noticed = set(con.execute(
            "select worker_id from hr_events where event_type = 'notice' and event_date < ? "
            "qualify row_number() over (partition by worker_id order by event_date desc) = 1 and end_date >= ?",
            [t, t]).df().worker_id) & scored

    assert len(known) > 0 and set(known.worker_id) <= scored and known.worker_id.is_unique
    assert set(known.reason) <= {"notice", "contract_end"}
    assert (known.last_day.dt.date >= t).all() and (known.last_day.dt.date <= t + timedelta(weeks=52)).all()
    assert noticed <= set(known.worker_id)
