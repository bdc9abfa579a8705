"""The published week, held in memory and re-read only when a new week is swapped in.

The service reads nothing but the publications (``continuity.publication``): a folder per
week that no writer touches once it is pointed at. A request checks the pointer's stamp
(one ``stat``) and, when a new week was swapped in, the week is read and prepared before
any request is answered from it; until then the week already in memory stays served.

What every request of a kind needs is prepared when the week is loaded, not on the first
request that asks for it: the rankings and whatever the app's ``on_load`` adds (the sector
aggregates). What one worker's request needs (the answer serialised to JSON, the clients
as records, the survival curve) is made when a request asks for that worker, and the
latest ``ANSWERS_KEPT`` answers are kept: at 150,000 workers, every answer of the week
made in advance took minutes and several GB (1.3M clients as dicts alone some 2.5 GB),
where one worker's costs well under a millisecond.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from continuity.access import Grant, Role
from continuity.horizons import HORIZONS, LIST_HORIZON, risk_column
from continuity.publication import NothingPublished, Publication, Publications
from continuity.serving.schemas import NO_CLIENTS, RiskItem, RiskOrder, WorkerExposure, WorkerRisk
from continuity.translatable import N_

__all__ = ["NothingPublished", "PublishedWeek", "ScoreStore", "read_week"]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with missing values as None, so an undefined index is JSON null."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


class RowsByWorker(Mapping[str, list[dict[str, Any]]]):
    """A published table's rows per worker, held as one Arrow table sorted by worker and made into records
    (as ``_records`` makes them: Python values, a missing one None) only for the worker asked for. At 150,000
    workers a week has 1.3M client rows and 7.6M curve points: as dicts some 2.5 GB, as pandas frames with
    a Python string per row about 1.3 GB, as Arrow columns a fraction of that.

    Each worker's rows are in the order of ``by`` (numbers; ``descending`` for highest first), ties in the
    table's order.
    """

    def __init__(self, table: pa.Table, by: str, descending: bool = False):
        ids = pc.dictionary_encode(table["worker_id"]).combine_chunks()
        codes = ids.indices.to_numpy(zero_copy_only=False)
        values = table[by].to_numpy()
        order = np.lexsort((-values if descending else values, codes))
        counts = np.bincount(codes, minlength=len(ids.dictionary))
        stops = np.cumsum(counts)
        self._slices = dict(zip(ids.dictionary.to_pylist(), zip((stops - counts).tolist(), stops.tolist())))
        self._table = table.drop_columns(["worker_id"]).take(order).combine_chunks()

    def __getitem__(self, worker_id: str) -> list[dict[str, Any]]:
        start, stop = self._slices[worker_id]
        return self._table.slice(start, stop - start).to_pylist()

    def __iter__(self) -> Iterator[str]:
        return iter(self._slices)

    def __len__(self) -> int:
        return len(self._slices)

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._slices


ANSWERS_KEPT = 50_000
"""Per-worker answers kept serialised, the most recently asked for: a few KB each (a survival curve's answer
the most), so a few hundred MB at the most."""


class Kept:
    """The latest ``ANSWERS_KEPT`` answers by key, shared by the request threads; two threads asking for the
    same missing answer may both make it, and either is kept."""

    def __init__(self) -> None:
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        answer = make()
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > ANSWERS_KEPT:
                self._answers.popitem(last=False)
        return answer


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
    curves: RowsByWorker  # per worker (week, survival), by week
    worker_exposure: dict[str, dict[str, Any]]
    clients: RowsByWorker  # per worker, most exposed first
    former: dict[str, dict[str, str]]  # per worker scored before but not this week: last organisation_id, team_id
    publication: Publication = field(compare=False, repr=False)  # the planners' tables
    _visible: dict[tuple, list[dict[str, Any]]] = field(default_factory=dict, compare=False, repr=False)
    _kept: Kept = field(default_factory=Kept, compare=False, repr=False)

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
        return self.curves.get(worker_id, [])

    def _answer(self, key: tuple, make: Callable[[], Any]) -> bytes:
        return self._kept.get(key, lambda: make().model_dump_json().encode())

    def item_json(self, grant: Grant, worker_id: str) -> bytes:
        """The worker's entry in the risk list as the grant may read it (``shown_to``)."""
        record = self.shown_to(grant, self.by_worker[worker_id])
        return self._answer(("item", grant.role in HEALTH_READERS, worker_id), lambda: RiskItem(**record))

    def risk_json(self, grant: Grant, worker_id: str) -> bytes:
        """The worker's GET /workers/{worker_id} answer, with its 53-point survival curve, as the grant may read it."""
        record = self.shown_to(grant, self.by_worker[worker_id])
        return self._answer(("risk", grant.role in HEALTH_READERS, worker_id),
                            lambda: WorkerRisk(week=self.score_date, survival=self.survival(worker_id), **record))

    def exposure_json(self, worker_id: str) -> bytes:
        """The worker's GET /workers/{worker_id}/exposure answer (without case numbers)."""
        return self._answer(("exposure", worker_id), lambda: WorkerExposure(
            worker_id=worker_id, week=self.score_date, summary=self.exposure_summary(worker_id),
            clients=self.clients.get(worker_id, [])))

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
        """Compute every per-week index now, so that no request pays for it."""
        for derived in ("by_worker", "_rankings", "_without_health"):
            getattr(self, derived)


def read_week(publication: Publication) -> PublishedWeek:
    """The API's view of one publication; the planners read its other tables from ``publication``."""
    risk = publication.arrow("risk_scores").to_pandas()  # not kept: its drivers' JSON is 300 MB at 150,000 workers
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
    # A known last day rides along with the worker's probabilities, in every answer that lists the worker.
    departures = {row.worker_id: {"last_day": row.last_day.date(), "reason": row.reason}
                  for row in publication.table("known_departures").itertuples()}
    return PublishedWeek(
        score_date=publication.score_date,
        model_name=publication.model_name,
        model_version=publication.model_version,
        ranked=[record | {"known_departure": departures.get(record["worker_id"])} for record in _records(risk)],
        curves=RowsByWorker(publication.arrow("survival_curves"), by="week"),
        worker_exposure={r.pop("worker_id"): r for r in _records(publication.table("worker_exposure"))},
        clients=RowsByWorker(publication.arrow("client_exposure"), by="exposure", descending=True),
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
