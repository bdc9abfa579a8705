"""The published week, held in memory and re-read only when the warehouse file changes.

A published week is small (about 2,000 workers), and DuckDB lets no second process
open the file while the weekly flow holds it for writing; so the service reads the
latest week once, answers every request from memory, and re-reads when the file's
modification time or size changes. While the flow is writing, the week already in
memory stays served.

Everything a request needs from a week is prepared when the week is loaded, not on the
first request that asks for it: the per-worker answers serialised to JSON, the rankings,
and whatever the app's ``on_load`` adds (the sector aggregates).
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from continuity.access import Grant, Role
from continuity.serving.schemas import NO_CLIENTS, RiskItem, WorkerExposure, WorkerRisk
from continuity.warehouse import connect, has_table

PUBLISHED_TABLES = ("risk_scores", "survival_curves", "worker_exposure", "client_exposure")
RETRY_AFTER_S = 30  # a weekly publication holds the warehouse for seconds to a minute


class NothingPublished(Exception):
    """No week can be served: no warehouse file, no published scores, or the first read is blocked."""

    def __init__(self, reason: str, retry_after_s: int | None = None):
        super().__init__(reason)
        self.retry_after_s = retry_after_s


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with missing values as None, so an undefined index is JSON null."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _by_worker(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped per worker, in the frame's order; converted once for the whole table, since
    converting a group at a time costs milliseconds each and a week has thousands of workers."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in _records(frame):
        grouped[record.pop("worker_id")].append(record)
    return dict(grouped)


def _curves(frame: pd.DataFrame) -> dict[str, list[tuple[int, float]]]:
    """Survival points per worker as plain tuples: some 100,000 rows a week, too many for dicts."""
    frame = frame.sort_values(["worker_id", "week"])
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for worker_id, week, survival in zip(*(frame[c].tolist() for c in ("worker_id", "week", "survival"))):
        curves[worker_id].append((week, survival))
    return dict(curves)


@dataclass(frozen=True)
class PublishedWeek:
    """One score week as plain records, indexed for the questions the API answers.

    Requests filter and slice these lists directly: at a few thousand workers that takes
    well under a millisecond, where going through pandas per request costs several.
    """

    score_date: date
    model_name: str
    model_version: str
    ranked: list[dict[str, Any]]  # one record per scored worker, by rank
    curves: dict[str, list[tuple[int, float]]]  # per worker (week, survival), by week
    worker_exposure: dict[str, dict[str, Any]]
    clients: dict[str, list[dict[str, Any]]]  # per worker, most exposed first
    former: dict[str, dict[str, str]]  # per worker scored before but not this week: last organisation_id, team_id
    _visible: dict[tuple, list[dict[str, Any]]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def by_worker(self) -> dict[str, dict[str, Any]]:
        return {record["worker_id"]: record for record in self.ranked}

    @cached_property
    def organisations(self) -> frozenset[str]:
        return frozenset(record["organisation_id"] for record in self.ranked)

    @cached_property
    def teams(self) -> frozenset[str]:
        return frozenset(record["team_id"] for record in self.ranked)

    @cached_property
    def occupations(self) -> frozenset[str]:
        return frozenset(record["occupation"] for record in self.ranked if record["occupation"] is not None)

    def ranking(self, horizon: int) -> list[dict[str, Any]]:
        """Every scored worker, highest probability of leaving within the horizon (13 or 26 weeks) first."""
        return self.ranked if horizon == 26 else self._ranked_13w

    @cached_property
    def _ranked_13w(self) -> list[dict[str, Any]]:
        return sorted(self.ranked, key=lambda record: (-record["p_13w"], record["worker_id"]))

    def visible(self, grant: Grant, horizon: int) -> list[dict[str, Any]]:
        """The ranking at the horizon as far as the grant may see it, filtered once per scope and
        horizon: filtering every record on every request was most of a risk-list request's time."""
        if grant.role is Role.admin:
            return self.ranking(horizon)
        key = (grant.role, grant.organisation_id, grant.teams, horizon)
        if key not in self._visible:
            self._visible[key] = [record for record in self.ranking(horizon) if grant.sees(record)]
        return self._visible[key]

    def survival(self, worker_id: str) -> list[dict[str, Any]]:
        return [{"week": week, "survival": survival} for week, survival in self.curves.get(worker_id, [])]

    @cached_property
    def item_json(self) -> dict[str, bytes]:
        """Each scored worker's entry in the risk list, validated and serialised once."""
        return {record["worker_id"]: RiskItem(**record).model_dump_json().encode() for record in self.ranked}

    @cached_property
    def risk_json(self) -> dict[str, bytes]:
        """Each scored worker's GET /workers/{worker_id} answer, validated and serialised once: with its
        53-point survival curve, doing so per request cost more than the rest of the request."""
        return {
            record["worker_id"]: WorkerRisk(
                week=self.score_date, survival=self.survival(record["worker_id"]), **record
            ).model_dump_json().encode()
            for record in self.ranked
        }

    @cached_property
    def exposure_json(self) -> dict[str, bytes]:
        """Each scored worker's GET /workers/{worker_id}/exposure answer, validated and serialised once."""
        return {
            worker_id: WorkerExposure(
                worker_id=worker_id, week=self.score_date, summary=self.worker_exposure.get(worker_id, NO_CLIENTS),
                clients=self.clients.get(worker_id, []),
            ).model_dump_json().encode()
            for worker_id in self.by_worker
        }

    def prepare(self) -> None:
        """Compute every per-week index and answer now, so that no request pays for it."""
        for derived in ("by_worker", "_ranked_13w", "item_json", "risk_json", "exposure_json"):
            getattr(self, derived)


def read_latest_week(warehouse: Path) -> PublishedWeek:
    """Read the latest complete score week (and the week before it, for the trend); raises NothingPublished when there is none."""
    with connect(warehouse, read_only=True) as con:
        missing = [t for t in PUBLISHED_TABLES if not has_table(con, t)]
        if missing:
            raise NothingPublished(f"no scores published yet: table(s) {', '.join(missing)} missing in {warehouse}")
        # A week counts once every table holds it, so a half-written publication is never served.
        complete = " intersect ".join(f"select score_date from {t}" for t in PUBLISHED_TABLES)
        dates = [d for (d,) in con.execute(f"{complete} order by score_date desc limit 2").fetchall()]
        if not dates:
            raise NothingPublished(
                f"no scores published yet: no score week is in all of {', '.join(PUBLISHED_TABLES)} in {warehouse}"
            )

        def week_of(table: str, score_date: date) -> pd.DataFrame:
            return con.execute(f"select * exclude (score_date) from {table} where score_date = ?", [score_date]).df()

        risk = week_of("risk_scores", dates[0])
        previous = week_of("risk_scores", dates[1]) if len(dates) > 1 else risk.iloc[:0]
        curves = week_of("survival_curves", dates[0])
        worker_exposure = week_of("worker_exposure", dates[0])
        client_exposure = week_of("client_exposure", dates[0])
        # A worker scored before but not this week (left, or not scored now) keeps the organisation and
        # team of their last scored week: a caller who could read them then gets a 404, not a 403.
        former = con.execute(
            "select worker_id, organisation_id, team_id from risk_scores where score_date < ? "
            "and worker_id not in (select worker_id from risk_scores where score_date = ?) "
            "qualify row_number() over (partition by worker_id order by score_date desc) = 1",
            [dates[0], dates[0]],
        ).fetchall()
        # Occupation is not a score column; it comes from the HR export (a fixed attribute, not an hr_event).
        occupations = (
            con.execute("select worker_id, any_value(occupation) as occupation from workers group by worker_id").df()
            if has_table(con, "workers") else pd.DataFrame({"worker_id": [], "occupation": []})
        ).set_index("worker_id")["occupation"]

    before = previous.set_index("worker_id")
    risk = risk.assign(
        occupation=risk["worker_id"].map(occupations),
        drivers=risk["drivers"].map(json.loads),
        p_13w_change=risk["p_13w"] - risk["worker_id"].map(before["p_13w"]),
        p_26w_change=risk["p_26w"] - risk["worker_id"].map(before["p_26w"]),
        model_version=risk["model_version"].astype(str),
    ).sort_values(["rank", "worker_id"])
    model_name, model_version = risk[["model_name", "model_version"]].value_counts().idxmax()
    return PublishedWeek(
        score_date=pd.Timestamp(dates[0]).date(),
        model_name=model_name,
        model_version=model_version,
        ranked=_records(risk),
        curves=_curves(curves),
        worker_exposure={r.pop("worker_id"): r for r in _records(worker_exposure)},
        clients=_by_worker(client_exposure.sort_values(["worker_id", "exposure"], ascending=[True, False])),
        former={worker_id: {"organisation_id": organisation, "team_id": team} for worker_id, organisation, team in former},
    )


class ScoreStore:
    """Serves the latest published week from memory, re-reading it when the warehouse file changes.

    ``on_load`` is called with each newly read week, after the week's own answers are prepared
    and before any request is answered from it.
    """

    def __init__(self, warehouse: Path, on_load: Callable[[PublishedWeek], None] = lambda week: None):
        self.warehouse = Path(warehouse)
        self._on_load = on_load
        self._lock = threading.Lock()
        self._week: PublishedWeek | None = None
        self._stamp: tuple[int, int] | None = None

    def current(self) -> PublishedWeek:
        try:
            stat = os.stat(self.warehouse)
        except FileNotFoundError:
            raise NothingPublished(f"no warehouse at {self.warehouse}: nothing has been published yet") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._week is None or stamp != self._stamp:
                self._reload(stamp)
            return self._week

    def _reload(self, stamp: tuple[int, int]) -> None:
        try:
            week = read_latest_week(self.warehouse)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            # Held by a writer (the weekly flow, in this or another process): keep the week
            # in memory and try again on the next request.
            if self._week is None:
                raise NothingPublished(f"the warehouse is being written, try again shortly ({error})", RETRY_AFTER_S) from error
            return
        except NothingPublished:
            self._week = None
            raise
        week.prepare()
        self._on_load(week)
        self._week, self._stamp = week, stamp
        # The week and the imported libraries are some 300,000 long-lived objects; a full collection
        # scanned them all in 170 ms, a pause every request in flight waited out. Collect what
        # the read left behind, then exempt what survives from later collections.
        gc.collect()
        gc.freeze()
