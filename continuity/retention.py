"""Retention: personal data is kept as long as its purpose needs, and the logs as long as the law asks.

Two clocks (``Settings``): the audit log and the reviews are kept ``audit_retention_days`` (at least
six months, AI Act art. 26(6)); the warehouse's history of scores about workers (risk scores,
survival curves, worker and client exposure) is kept ``score_retention_weeks`` score weeks. The
score weeks are counted back from the newest recorded week, not from today: a week is history
only once later weeks were scored, so a run on an old export (or the demo sector, dated in the
past) never loses the week it serves. Only what is older than retention is removed; a dry run
counts it and removes nothing.

The audit log's hash chain survives purging its oldest entries: ``AccessStore.purge_audit`` keeps
the hash of the last entry removed as the anchor the remaining chain is verified from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from continuity.access import AccessStore
from continuity.config import Settings
from continuity.warehouse import connect, has_table, transaction

# The history tables that hold scores about individual workers (``continuity.published``).
SCORE_HISTORY = ("risk_scores", "survival_curves", "worker_exposure", "client_exposure")


@dataclass(frozen=True)
class PurgeReport:
    """What was removed (or, in a dry run, would be) per table, and the start of each retention."""

    dry_run: bool
    audit_kept_from: datetime
    scores_kept_from: date | None  # None: no score history yet
    removed: dict[str, int] = field(default_factory=dict)


def purge(settings: Settings, *, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Remove the audit entries and reviews older than the audit retention and the score weeks older
    than the score retention."""
    audit_kept_from = (now or datetime.now(UTC)) - timedelta(days=settings.audit_retention_days)
    access = AccessStore(settings.access_db)
    try:
        removed = {"audit_log": access.purge_audit(audit_kept_from, dry_run),
                   "reviews": access.purge_reviews(audit_kept_from, dry_run)}
    finally:
        access.close()
    scores_kept_from = None
    if settings.warehouse.exists():
        with connect(settings.warehouse, read_only=dry_run) as con:
            scores_kept_from = _score_weeks_kept_from(con, settings.score_retention_weeks)
            if scores_kept_from is not None:
                removed |= _purge_scores(con, scores_kept_from, dry_run)
    return PurgeReport(dry_run, audit_kept_from, scores_kept_from, removed)


def _score_weeks_kept_from(con, weeks: int) -> date | None:
    """The oldest score week retention keeps: ``weeks`` score weeks, the newest recorded one included."""
    if not has_table(con, "risk_scores"):
        return None
    (newest,) = con.execute("select max(score_date) from risk_scores").fetchone()
    return None if newest is None else newest - timedelta(weeks=weeks - 1)


def _purge_scores(con, kept_from: date, dry_run: bool) -> dict[str, int]:
    """Per score-history table, the rows of weeks before ``kept_from``: counted, and removed (all tables in
    one transaction) unless a dry run."""
    tables = [name for name in SCORE_HISTORY if has_table(con, name)]
    removed = {name: con.execute(f'select count(*) from "{name}" where score_date < ?', [kept_from]).fetchone()[0]
               for name in tables}
    if not dry_run:
        with transaction(con):
            for name in tables:
                con.execute(f'delete from "{name}" where score_date < ?', [kept_from])
    return removed
