"""The published week's per-worker rows and answers, made when a request asks for a worker, not when the week loads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from continuity.access import Grant, Role
from continuity.serving import store
from continuity.serving.store import Kept, RowsByWorker, _records


def test_rows_by_worker_are_the_records_of_the_whole_table_in_the_order_asked_for():
    frame = pd.DataFrame({
        "worker_id": ["w2", "w1", "w2", "w3", "w1"],
        "client_id": ["c1", "c2", "c3", None, "c5"],
        "exposure": [3.0, np.nan, 1.0, 2.5, 0.5],
        "complexity": [4, 2, 1, 5, 3],
        "vulnerable": [True, False, True, False, False],
    })
    rows = RowsByWorker(pa.Table.from_pandas(frame, preserve_index=False), by="complexity", descending=True)

    expected: dict[str, list[dict]] = {}
    for record in _records(frame.sort_values("complexity", ascending=False)):
        expected.setdefault(record.pop("worker_id"), []).append(record)
    assert sorted(rows) == ["w1", "w2", "w3"] and len(rows) == 3
    for worker_id, records in expected.items():
        assert rows[worker_id] == records
        assert [type(v) for v in rows[worker_id][0].values()] == [type(v) for v in records[0].values()]
    assert [r["client_id"] for r in rows["w1"]] == ["c5", "c2"] and rows["w1"][1]["exposure"] is None
    assert rows["w3"][0]["client_id"] is None
    assert rows.get("w9", []) == [] and "w9" not in rows and "w1" in rows


def test_an_empty_table_has_no_worker():
    rows = RowsByWorker(pa.table({"worker_id": pa.array([], pa.string()), "week": pa.array([], pa.int64())}), by="week")
    assert len(rows) == 0 and rows.get("w1", []) == []


def test_kept_answers_are_made_once_and_bounded(monkeypatch):
    monkeypatch.setattr(store, "ANSWERS_KEPT", 2)
    kept, made = Kept(), []

    def make(key):
        return lambda: made.append(key) or key.encode()

    assert kept.get("a", make("a")) == b"a" and kept.get("a", make("a")) == b"a"
    kept.get("b", make("b"))
    kept.get("a", make("a"))  # a is now the most recent
    kept.get("c", make("c"))  # b, the least recent, goes
    kept.get("a", make("a"))
    kept.get("b", make("b"))
    assert made == ["a", "b", "c", "b"]


def test_a_workers_answers_are_kept_per_reader_of_health_data(app):
    week = app.state.store.current()
    worker_id = next(r["worker_id"] for r in week.ranked if any(d.get("health") for d in r["drivers"]))
    hr = Grant("t-hr", Role.hr, organisation_id=week.by_worker[worker_id]["organisation_id"])
    admin = Grant("t-admin", Role.admin)

    with_health, without = week.risk_json(hr, worker_id), week.risk_json(admin, worker_id)
    assert b'"health":true' in with_health and b'"health":true' not in without
    assert week.risk_json(hr, worker_id) is with_health  # kept, not made again
    assert week.item_json(admin, worker_id) is week.item_json(admin, worker_id)
