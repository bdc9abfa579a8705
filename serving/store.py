"""The published week, held in memory and re-read only when a new week is swapped in.

The service reads nothing but the publications (``continuity.publication``): a folder per
week that no writer touches once it is pointed at. A request checks the pointer's stamp
(one ``stat``) and, when a new week was swapped in, the week is read and prepared before
any request is answered from it; until then the week already in memory stays served.

Everything a request needs from a week is prepared when the week is loaded, not on the
first request that asks for it: the per-worker answers serialised to JSON, the rankings,
and whatever the app's ``on_load`` adds (the sector aggregates).
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import pandas as pd

from continuity.access import Grant, Role
from continuity.horizons import HORIZONS, LIST_HORIZON, risk_column
from continuity.publication import NothingPublished, Publication, Publications
from continuity.serving.schemas import NO_CLIENTS, RiskItem, RiskOrder, WorkerExposure, WorkerRisk
from continuity.translatable import N_

__all__ = ["NothingPublished", "PublishedWeek", "ScoreStore", "read_week"]


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


# Sick leave is health data (GDPR art. 9): its drivers reach hr and the worker themself, not managers or admins.
HEALTH_READERS = frozenset({Role.hr, Role.worker})


def without_health(record: dict[str, Any]) -> dict[str, Any]:
    """The record without its health drivers, their ratio folded into ``other_factors``: the shown ratios still
    multiply to the relative hazard, and nothing tells the reader which part of the rest is health."""
    health = [d for d in record["drivers"] if d.get("health")]
    if not health:
        return record
    return record | {
        "drivers": [d for d in record["drivers"] if not d.get("health")],
        "other_factors": record["other_factors"] * math.prod(d["hazard_ratio"] for d in health),
    }


def _curves(frame: pd.DataFrame) -> dict[str, list[tuple[int, float]]]:
    """Survival points per worker as plain tuples: some 100,000 rows a week, too many for dicts."""
    frame = frame.sort_values(["worker_id", "week"])
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for worker_id, week, survival in zip(*(frame[c].tolist() for c in ("worker_id", "week", "survival"))):
        curves[worker_id].append((week, survival))
    return dict(curves)


def expected_exposure_column(horizon: int) -> str:
    return f"expected_exposure_{horizon}w"


def list_order(horizon: int, order: RiskOrder = RiskOrder.probability) -> Callable[[dict[str, Any]], tuple]:
    """The sort key of a list of workers at a horizon: highest probability (or expected exposure, the clients at
    stake) first, ties by worker id; a worker whose probability is withheld after every other, by worker id alone,
    whatever the order, so that the probability the week keeps for the totals, and the exposure it would give,
    decide nothing about where anyone stands (``continuity.models.scoring.rank_shown``)."""
    column = risk_column(horizon) if order is RiskOrder.probability else expected_exposure_column(horizon)

    def key(record: dict[str, Any]) -> tuple:
        withheld = record["withheld"] is not None
        return withheld, 0.0 if withheld else -record[column], record["worker_id"]

    return key


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
    publication: Publication = field(compare=False, repr=False)  # the planners' tables
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

    def ranking(self, horizon: int, order: RiskOrder = RiskOrder.probability) -> list[dict[str, Any]]:
        """Every scored worker, highest probability of leaving within the horizon (or expected exposure) first;
        those whose probability is withheld last, by worker id (at 26 weeks by probability the published ranks
        give that order, ``read_week``)."""
        if horizon == LIST_HORIZON and order is RiskOrder.probability:
            return self.ranked
        return self._rankings[horizon, order]

    @cached_property
    def _rankings(self) -> dict[tuple[int, RiskOrder], list[dict[str, Any]]]:
        return {(h, order): sorted(self.ranked, key=list_order(h, order)) for h in HORIZONS for order in RiskOrder
                if (h, order) != (LIST_HORIZON, RiskOrder.probability)}

    def visible(self, grant: Grant, horizon: int, order: RiskOrder = RiskOrder.probability) -> list[dict[str, Any]]:
        """The ranking at the horizon as far as the grant may see it, filtered once per scope, horizon and
        order: filtering every record on every request was most of a risk-list request's time."""
        key = (grant.role, grant.organisation_id, grant.teams, horizon, order)
        if key not in self._visible:
            self._visible[key] = [self.shown_to(grant, record) for record in self.ranking(horizon, order)
                                  if grant.sees(record)]
        return self._visible[key]

    def hidden_from(self, grant: Grant) -> set[str]:
        """Scored workers the grant may not see: never a successor in its handover plans."""
        if grant.role is Role.admin:
            return set()
        return {record["worker_id"] for record in self.ranked if not grant.sees(record)}

    def shown_to(self, grant: Grant, record: dict[str, Any]) -> dict[str, Any]:
        """The worker's record as the grant may read it: without health drivers unless hr or the worker."""
        return record if grant.role in HEALTH_READERS else self._without_health[record["worker_id"]]

    @cached_property
    def _without_health(self) -> dict[str, dict[str, Any]]:
        return {record["worker_id"]: without_health(record) for record in self.ranked}

    def survival(self, worker_id: str) -> list[dict[str, Any]]:
        return [{"week": week, "survival": survival} for week, survival in self.curves.get(worker_id, [])]

    @cached_property
    def item_json(self) -> dict[str, bytes]:
        """Each scored worker's entry in the risk list, validated and serialised once."""
        return {record["worker_id"]: RiskItem(**record).model_dump_json().encode() for record in self.ranked}

    @cached_property
    def item_json_without_health(self) -> dict[str, bytes]:
        """``item_json`` as roles that may not read health data get it (``without_health``)."""
        return {record["worker_id"]: RiskItem(**without_health(record)).model_dump_json().encode()
                for record in self.ranked}

    def item_json_for(self, grant: Grant) -> dict[str, bytes]:
        return self.item_json if grant.role in HEALTH_READERS else self.item_json_without_health

    @cached_property
    def risk_json(self) -> dict[str, bytes]:
        """Each scored worker's GET /workers/{worker_id} answer, validated and serialised once: with its
        53-point survival curve, doing so per request cost more than the rest of the request."""
        return self._risk_answers(lambda record: record)

    @cached_property
    def risk_json_without_health(self) -> dict[str, bytes]:
        """``risk_json`` as roles that may not read health data get it (``without_health``)."""
        return self._risk_answers(without_health)

    def risk_json_for(self, grant: Grant) -> dict[str, bytes]:
        return self.risk_json if grant.role in HEALTH_READERS else self.risk_json_without_health

    def _risk_answers(self, shown: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, bytes]:
        return {
            record["worker_id"]: WorkerRisk(
                week=self.score_date, survival=self.survival(record["worker_id"]), **shown(record)
            ).model_dump_json().encode()
            for record in self.ranked
        }

    @cached_property
    def exposure_json(self) -> dict[str, bytes]:
        """Each scored worker's GET /workers/{worker_id}/exposure answer, validated and serialised once."""
        return {
            worker_id: WorkerExposure(
                worker_id=worker_id, week=self.score_date, summary=self.exposure_summary(worker_id),
                clients=self.clients.get(worker_id, []),
            ).model_dump_json().encode()
            for worker_id in self.by_worker
        }

    def exposure_summary(self, worker_id: str) -> dict[str, Any]:
        """The worker's exposure summary as a person may read it, with the expected clients losing the worker
        (probability x active clients, a count of people) beside the expected weighted exposure; both empty
        when the probability is withheld, since beside the clients they would tell it."""
        summary = self.worker_exposure.get(worker_id, NO_CLIENTS)
        record = self.by_worker[worker_id]
        if record["withheld"] is not None:
            return summary | {f"expected_{what}_{h}w": None for what in ("clients", "exposure") for h in HORIZONS}
        return summary | {f"expected_clients_{h}w": record[risk_column(h)] * summary["active_clients"] for h in HORIZONS}

    def prepare(self) -> None:
        """Compute every per-week index and answer now, so that no request pays for it."""
        for derived in ("by_worker", "_rankings", "_without_health", "item_json", "item_json_without_health",
                        "risk_json", "risk_json_without_health", "exposure_json"):
            getattr(self, derived)


def read_week(publication: Publication) -> PublishedWeek:
    """The API's view of one publication; the planners read its other tables from ``publication``."""
    risk = publication.table("risk_scores")
    occupations = publication.table("worker_snapshot").set_index("worker_id")["occupation"]
    risk = risk.assign(occupation=risk.worker_id.map(occupations), drivers=risk.drivers.map(json.loads))
    # Each worker's clients at stake ride along in the list, for its exposure order and columns; a worker
    # without clients has no worker_exposure row and holds none.
    exposure = publication.table("worker_exposure")
    at_stake = ["active_clients", "weighted_clients", *map(expected_exposure_column, HORIZONS)]
    risk = risk.merge(exposure[["worker_id", *at_stake]], on="worker_id", how="left")
    risk = risk.fillna(dict.fromkeys(at_stake, 0)).astype({"active_clients": "int64"})
    # A withheld worker has no rank (``rank_shown``): after the ranked ones, by worker id.
    risk = risk.sort_values(["rank", "worker_id"], na_position="last")
    clients = publication.table("client_exposure").sort_values(["worker_id", "exposure"], ascending=[True, False])
    # A known last day rides along with the worker's probabilities, in every answer that lists the worker.
    departures = {row.worker_id: {"last_day": row.last_day.date(), "reason": row.reason}
                  for row in publication.table("known_departures").itertuples()}
    return PublishedWeek(
        score_date=publication.score_date,
        model_name=publication.model_name,
        model_version=publication.model_version,
        ranked=[record | {"known_departure": departures.get(record["worker_id"])} for record in _records(risk)],
        curves=_curves(publication.table("survival_curves")),
        worker_exposure={r.pop("worker_id"): r for r in _records(publication.table("worker_exposure"))},
        clients=_by_worker(clients),
        former={r.pop("worker_id"): r for r in _records(publication.table("former_workers"))},
        publication=publication,
    )


class ScoreStore:
    """Serves the current publication from memory, re-reading it when another week is swapped in.

    ``on_load`` is called with each newly read week, after the week's own answers are prepared
    and before any request is answered from it.
    """

    def __init__(self, publications: Publications, on_load: Callable[[PublishedWeek], None] = lambda week: None):
        self.publications = publications
        self._on_load = on_load
        self._lock = threading.Lock()
        self._week: PublishedWeek | None = None
        self._stamp: tuple[int, int] | None = None

    def current(self) -> PublishedWeek:
        stamp = self.publications.stamp()
        if stamp is None:
            raise NothingPublished(N_("no week is published yet: run `continuity run`"))
        with self._lock:
            if self._week is None or stamp != self._stamp:
                self._reload(stamp)
            return self._week

    def _reload(self, stamp: tuple[int, int]) -> None:
        week = read_week(self.publications.current())
        week.prepare()
        self._on_load(week)
        self._week, self._stamp = week, stamp
        # The week and the imported libraries are some 300,000 long-lived objects; a full collection
        # scanned them all in 170 ms, a pause every request in flight waited out. Collect what
        # the read left behind, then exempt what survives from later collections.
        gc.collect()
        gc.freeze()
