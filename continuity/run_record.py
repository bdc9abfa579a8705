"""The weekly run's record of its last run, and whether the list it published is still up to date.

A run that fails leaves last week's list served, and nothing in that week says that a newer one is
missing. So every weekly run writes, when it starts, when it started, and when it ends (also when it
fails) when it ended and whether it succeeded, into ``last_run.json`` in the publications folder
(``Settings.published``, under HOME by default): beside the weeks the service reads, so the service
finds it wherever the weeks are kept, and no warehouse lock stands between the run and a reader. The
file is replaced whole with an atomic rename, so a reader sees the old record or the new one, never
half of one; it is owner-only like all local state (``continuity.private``).

``freshness`` then says what the web page and ``/health`` show: the score week, the last day of data,
the last run, and whether the list is older than its schedule.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from continuity.private import private_files, private_folder

RECORD = "last_run.json"
# The run is weekly (`continuity schedule`, Monday 06:00 by default): each run publishes the next score week.
SCHEDULE = timedelta(days=7)
# Days a missing week is tolerated before the list is called out of date: an export delivered a day or two
# late (a Monday holiday such as Easter or Whit Monday moves it to Tuesday) is not yet a failure, while a
# list that missed its week is flagged by mid-week, before it is mistaken for this week's. A run that
# failed is flagged at once, whatever the grace.
GRACE = timedelta(days=2)


@dataclass(frozen=True)
class LastRun:
    """One weekly run as recorded: ``ended_at`` and ``succeeded`` are None while it runs (or when it was
    killed outright, which no process survives to record; the list then grows overdue)."""

    started_at: datetime
    ended_at: datetime | None = None
    succeeded: bool | None = None
    flow_run_id: str | None = None  # the run in the Prefect UI, with its task states and logs

    def to_json(self) -> dict:
        return {"started_at": self.started_at.isoformat(),
                "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
                "succeeded": self.succeeded, "flow_run_id": self.flow_run_id}


def read_last_run(folder: Path) -> LastRun | None:
    """The last run recorded in the publications folder; None when no run has been recorded there.
    A file that is not a run record raises ValueError naming it and what is wrong with it."""
    path = Path(folder) / RECORD
    try:
        record = json.loads(path.read_text())
        return LastRun(
            started_at=datetime.fromisoformat(record["started_at"]),
            ended_at=None if record["ended_at"] is None else datetime.fromisoformat(record["ended_at"]),
            succeeded=record["succeeded"], flow_run_id=record["flow_run_id"],
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a weekly run record ({type(error).__name__}: {error}); the next weekly "
                         "run replaces it") from None


def _write(folder: Path, run: LastRun) -> None:
    folder = private_folder(folder)
    with private_files():
        incoming = folder / f".{RECORD}-{uuid.uuid4().hex[:8]}"
        incoming.write_text(json.dumps(run.to_json(), indent=2) + "\n")
        os.replace(incoming, folder / RECORD)


@contextmanager
def recorded_run(folder: Path, flow_run_id: str | None = None) -> Iterator[None]:
    """Record a run in the publications folder: started now, then ended and whether it succeeded; any
    exception (a stop with Ctrl-C or a cancellation too) is recorded as a failure and raised on."""
    started = datetime.now(UTC)
    _write(folder, LastRun(started, flow_run_id=flow_run_id))
    try:
        yield
    except BaseException:
        _write(folder, LastRun(started, datetime.now(UTC), False, flow_run_id))
        raise
    _write(folder, LastRun(started, datetime.now(UTC), True, flow_run_id))


@dataclass(frozen=True)
class Freshness:
    """What a reader of the list needs to judge its age."""

    score_week: date | None  # the week the scores are from; None while nothing is published
    data_end: date | None  # the last day the week's data records anything (None: published before it was kept)
    last_run: LastRun | None
    overdue: bool  # the score week is older than its weekly schedule allows (SCHEDULE + GRACE), or there is none

    @property
    def last_run_failed(self) -> bool:
        return self.last_run is not None and self.last_run.succeeded is False

    @property
    def up_to_date(self) -> bool:
        return not self.overdue and not self.last_run_failed

    @property
    def due_by(self) -> date | None:
        return None if self.score_week is None else due_by(self.score_week)

    def behind(self) -> str | None:
        """Why the list is not up to date, in one English sentence (the page says it in the reader's language)."""
        reasons = []
        if self.score_week is None:
            reasons.append("no week is published")
        elif self.overdue:
            reasons.append(f"the scores are from the week of {self.score_week}, older than the weekly schedule "
                           f"allows (the next week was due by {self.due_by})")
        if self.last_run_failed:
            reasons.append(f"the last weekly run, ended {self.last_run.ended_at:%Y-%m-%d %H:%M} UTC, failed")
        if not reasons:
            return None
        sentence = "; ".join(reasons)
        return sentence[0].upper() + sentence[1:] + "."


def due_by(score_week: date) -> date:
    """The last day ``score_week`` is the list to expect; from the day after, the next week is overdue."""
    return score_week + SCHEDULE + GRACE


def freshness(score_week: date | None, data_end: date | None, last_run: LastRun | None,
              today: date | None = None) -> Freshness:
    """The list's age as of ``today`` (default: today in UTC, the time the run records)."""
    today = today or datetime.now(UTC).date()
    overdue = score_week is None or today > due_by(score_week)
    return Freshness(score_week, data_end, last_run, overdue)
