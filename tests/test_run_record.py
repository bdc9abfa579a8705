"""The weekly run's record of itself, and the rule that calls a list out of date."""

from __future__ import annotations

import os
import stat
from datetime import date, datetime, timedelta

import pytest

from continuity.run_record import GRACE, RECORD, SCHEDULE, LastRun, freshness, read_last_run, recorded_run

MONDAY = date(2026, 11, 23)


def test_a_week_is_up_to_date_through_its_schedule_and_grace_and_overdue_the_day_after():
    last_day = MONDAY + SCHEDULE + GRACE  # the Wednesday after the next Monday

    assert freshness(MONDAY, MONDAY - timedelta(days=1), None, today=last_day).up_to_date
    late = freshness(MONDAY, MONDAY - timedelta(days=1), None, today=last_day + timedelta(days=1))
    assert late.overdue and not late.up_to_date
    assert late.behind() == (f"The scores are from the week of {MONDAY}, older than the weekly schedule allows "
                             f"(the next week was due by {last_day}).")


def test_a_failed_run_makes_even_a_fresh_list_out_of_date_and_a_running_one_does_not():
    started = MONDAY.isoformat() + "T06:00:00+00:00"
    failed = LastRun(*map(datetime.fromisoformat, (started, "2026-11-23T06:04:00+00:00")), succeeded=False)
    running = LastRun(datetime.fromisoformat(started))

    verdict = freshness(MONDAY, None, failed, today=MONDAY)
    assert not verdict.overdue and verdict.last_run_failed and not verdict.up_to_date
    assert verdict.behind() == "The last weekly run, ended 2026-11-23 06:04 UTC, failed."
    assert freshness(MONDAY, None, running, today=MONDAY).up_to_date
    assert freshness(None, None, None, today=MONDAY).behind() == "No week is published."


def test_a_run_is_recorded_at_its_start_and_at_its_end_owner_only(tmp_path):
    folder = tmp_path / "published"
    with recorded_run(folder, "flow-run-1"):
        during = read_last_run(folder)
    after = read_last_run(folder)

    assert (during.ended_at, during.succeeded, during.flow_run_id) == (None, None, "flow-run-1")
    assert after.started_at == during.started_at and after.succeeded is True
    assert after.ended_at >= after.started_at
    assert stat.S_IMODE(os.stat(folder / RECORD).st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [RECORD]  # the temporary file was renamed, not left


@pytest.mark.parametrize("stop", [RuntimeError("export missing"), KeyboardInterrupt()])
def test_a_run_that_stops_is_recorded_as_failed_and_the_stop_goes_on(tmp_path, stop):
    with pytest.raises(type(stop)), recorded_run(tmp_path):
        raise stop

    run = read_last_run(tmp_path)
    assert run.succeeded is False and run.ended_at is not None


def test_no_record_is_none_and_a_broken_one_is_named(tmp_path):
    assert read_last_run(tmp_path) is None
    (tmp_path / RECORD).write_text('{"started_at": "yesterday"}')

    with pytest.raises(ValueError, match=rf"{RECORD}: not a weekly run record"):
        read_last_run(tmp_path)
