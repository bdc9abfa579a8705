"""Retention: `continuity purge` removes only what retention no longer covers, keeps the audit chain
verifiable, and refuses an audit retention under six months (AI Act art. 26(6))."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from continuity.access import AccessStore, Grant, Read, Role
from continuity.cli import app
from continuity.config import Settings
from continuity.retention import SCORE_HISTORY, purge
from continuity.warehouse import connect

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HR = Grant("tok_hr", Role.hr, "org-a")
NEWEST_WEEK = date(2026, 5, 25)
WEEKS_RECORDED = 6


def _read(days_ago: float, worker: str) -> str:
    return Read(HR, "GET /workers/{worker_id}", (worker,), at=(NOW - timedelta(days=days_ago)).isoformat()).line()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Settings:
    """A home with audit entries, reviews and score weeks on both sides of retention (365 days, 3 weeks).

    The audit log, in id order: two entries 400 days old, one 10 days old, then one 500 days old that a
    late journal logged after it (an entry kept must not be cut from the chain by an older one purged)."""
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path))
    monkeypatch.setenv("CONTINUITY_SCORE_RETENTION_WEEKS", "3")
    settings = Settings()
    store = AccessStore(settings.access_db)
    store.record([_read(400, "W1"), _read(400, "W2")])
    store.record([_read(10, "W3")])
    store.record([_read(500, "W4")])
    for days_ago, worker in ((400, "W1"), (10, "W3")):
        review = store.add_review(HR, worker, "disputed", "too high", "2025-01-06", "1")
        with sqlite3.connect(settings.access_db) as con:
            con.execute("update reviews set at = ? where id = ?", [(NOW - timedelta(days=days_ago)).isoformat(), review["id"]])
    store.close()
    with connect(settings.warehouse) as con:
        for name in SCORE_HISTORY:
            con.execute(f"create table {name} (score_date date, worker_id varchar)")
            for k in range(WEEKS_RECORDED):
                con.execute(f"insert into {name} values (?, 'W1'), (?, 'W2')", [NEWEST_WEEK - timedelta(weeks=k)] * 2)
    return settings


def _state(settings: Settings) -> dict:
    store = AccessStore(settings.access_db)
    try:
        _, entries = store.audit(limit=100)
        _, reviews = store.reviews()
        check = store.verify()
    finally:
        store.close()
    with connect(settings.warehouse, read_only=True) as con:
        weeks = {name: sorted({row[0] for row in con.execute(f"select score_date from {name}").fetchall()})
                 for name in SCORE_HISTORY}
    return {"audit": sorted(sum((e["worker_ids"] for e in entries), [])), "reviews": sorted(r["worker_id"] for r in reviews),
            "weeks": weeks, "check": (check.intact, check.broken_at)}


def test_purge_keeps_what_retention_covers_and_removes_the_rest(home):
    report = purge(home, now=NOW)
    after = _state(home)

    assert report.removed == {"audit_log": 2, "reviews": 1} | {name: 2 * (WEEKS_RECORDED - 3) for name in SCORE_HISTORY}
    assert after["audit"] == ["W3", "W4"]  # W4 is old, but logged after W3, which retention covers
    assert after["reviews"] == ["W3"]
    kept = [NEWEST_WEEK - timedelta(weeks=k) for k in (2, 1, 0)]
    assert all(weeks == kept for weeks in after["weeks"].values())
    assert report.scores_kept_from == kept[0] and report.audit_kept_from == NOW - timedelta(days=365)


def test_a_dry_run_reports_the_counts_and_removes_nothing(home):
    before = _state(home)

    report = purge(home, dry_run=True, now=NOW)

    assert report.dry_run and report.removed == purge(home, now=NOW).removed  # the same counts a real purge removes
    assert before["audit"] == ["W1", "W2", "W3", "W4"] and before["check"] == (4, None)


def test_the_dry_run_itself_leaves_every_row(home):
    before = _state(home)
    purge(home, dry_run=True, now=NOW)
    assert _state(home) == before


def test_verify_passes_after_a_purge_and_the_chain_goes_on_from_its_anchor(home):
    purge(home, now=NOW)
    store = AccessStore(home.access_db)
    store.record([Read(HR, "GET /teams/{team_id}", ("W5",)).line()])

    check = store.verify()

    assert (check.intact, check.broken_at, check.purged_through) == (3, None, 2)


def test_after_a_purge_an_entry_edited_still_breaks_the_chain(home):
    purge(home, now=NOW)
    with sqlite3.connect(home.access_db) as con:
        con.execute("update audit_log set token_id = 'tok_someone_else' where id = 4")

    assert AccessStore(home.access_db).verify().broken_at == 4


def test_an_entry_removed_without_the_anchor_breaks_the_chain(home):
    with sqlite3.connect(home.access_db) as con:
        con.execute("delete from audit_workers where audit_id = 1")
        con.execute("delete from audit_log where id = 1")

    assert AccessStore(home.access_db).verify().broken_at == 2


def test_a_purge_of_everything_old_then_nothing_new_keeps_the_anchor_for_the_next_entry(tmp_path):
    settings = Settings(home=tmp_path)
    store = AccessStore(settings.access_db)
    store.record([_read(400, "W1")])
    assert purge(settings, now=NOW).removed["audit_log"] == 1
    store.record([Read(HR, "GET /workers/{worker_id}", ("W2",)).line()])

    assert (store.verify().intact, store.verify().broken_at) == (1, None)


@pytest.mark.parametrize("days", [182, 30])
def test_an_audit_retention_under_six_months_is_refused(tmp_path, monkeypatch, days):
    with pytest.raises(ValidationError, match=r"26\(6\)"):
        Settings(home=tmp_path, audit_retention_days=days)
    monkeypatch.setenv("CONTINUITY_AUDIT_RETENTION_DAYS", str(days))
    with pytest.raises(ValidationError, match=r"at least six months"):
        Settings(home=tmp_path)


def test_six_months_and_the_defaults_are_accepted(tmp_path):
    assert Settings(home=tmp_path, audit_retention_days=183).audit_retention_days == 183
    assert (Settings(home=tmp_path).audit_retention_days, Settings(home=tmp_path).score_retention_weeks) == (365, 104)


def test_the_command_dry_run_prints_counts_and_removes_nothing(home):
    before = _state(home)

    result = CliRunner().invoke(app, ["purge", "--dry-run"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "would remove" in result.output and "risk_scores: 6 rows" in result.output
    assert _state(home) == before


def test_the_command_purges(home):
    result = CliRunner().invoke(app, ["purge"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "removed" in result.output
    assert all(len(weeks) == 3 for weeks in _state(home)["weeks"].values())


def test_the_weekly_run_purges_after_publishing(weekly_run):
    settings, result = weekly_run

    assert set(result.purged) == {"audit_log", "reviews", *SCORE_HISTORY}
    assert purge(settings, dry_run=True).removed == dict.fromkeys(result.purged, 0)  # nothing left over retention
