"""What the service prepares when it starts or loads a week, so that no request pays for it."""

from __future__ import annotations

import json
from itertools import product

from fastapi.testclient import TestClient

from continuity.access import create_token
from continuity.serving.app import create_app
from continuity.serving.schemas import Horizon, RiskList, WorkerRisk
from continuity.serving.schemas_planning import AggregateBy
from continuity.serving.store import without_health


def test_startup_prepares_the_weeks_indexes_and_every_aggregate(weekly_run):
    settings = weekly_run[0]
    app = create_app(settings)
    with TestClient(app):  # runs the lifespan: startup, then no request at all
        week = app.state.store.current()
        prepared = week.__dict__  # what the week's cached properties hold

        assert {"by_worker", "_rankings", "_without_health"} <= set(prepared)
        assert len(prepared["by_worker"]) == len(week.ranked)
        for by, horizon in product(AggregateBy, Horizon):
            body = json.loads(app.state.forecasts.stored(week, ("aggregates", by.value, int(horizon))))
            assert (body["by"], body["horizon"], body["week"]) == (by.value, int(horizon), week.score_date.isoformat())


def test_a_week_is_prepared_with_one_interval_simulation_per_horizon_and_measure(settings, monkeypatch):
    """Every grouping's cells come from the same simulated draws: preparing the week's 36 aggregates (4 groupings x
    3 horizons x 3 measures) simulates 9 times, where a grouping at a time had made each one anew (at 150,000
    workers, 26 s of the service's load)."""
    from continuity.forecasts import aggregates
    from continuity.serving.schemas_planning import Measure

    simulated = []
    real = aggregates.frailty_intervals
    monkeypatch.setattr(aggregates, "frailty_intervals", lambda *a, **k: simulated.append(1) or real(*a, **k))
    monkeypatch.setattr(aggregates, "_INTERVALS", {})
    app = create_app(settings)
    week = app.state.store.current()  # read and prepared
    assert len(simulated) == len(Horizon) * len(Measure)
    for by, horizon, measure in product(AggregateBy, Horizon, Measure):
        key = ("aggregates", by.value, int(horizon)) + (() if measure is Measure.voluntary else (measure.value,))
        assert json.loads(app.state.forecasts.stored(week, key))["measure"] == measure.value


def test_prepared_answers_are_what_the_models_would_serialise(app, settings):
    """The bodies are built once from the models; a page of the list is spliced from its items. An admin
    reads no health drivers (``without_health``)."""
    client = TestClient(app, headers={"Authorization": f"Bearer {create_token(settings, 'admin')}"})
    week = app.state.store.current()
    page = client.get("/risk-list", params={"page": 2, "page_size": 7, "horizon": 13})
    record = week.ranked[3]

    expected = RiskList(week=week.score_date, horizon=13, sort="probability", total=len(week.ranked), page=2, page_size=7,
                        items=[without_health(r) for r in week.ranking(13)[7:14]])
    assert page.json() == json.loads(expected.model_dump_json())
    assert client.get(f"/workers/{record['worker_id']}").json() == json.loads(
        WorkerRisk(week=week.score_date, survival=week.survival(record["worker_id"]),
                   **without_health(record)).model_dump_json()
    )
