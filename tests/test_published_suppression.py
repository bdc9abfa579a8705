"""The weekly run decides the suppression pattern once and publishes it; the service adopts it instead of deciding
it again (minutes at 150,000 workers), and only for the workers and leavers it was decided on."""

from __future__ import annotations

import pandas as pd
import pytest

from continuity.forecasts import aggregates
from continuity.forecasts.aggregates import (GROUPINGS, MIN_CELL, SCOPES, adopt_pattern, aggregate_forecast,
                                             pattern_table)
from continuity.forecasts.frame import forecast_frame
from continuity.forecasts.suppression import suppression_pattern
from continuity.publication import Publications


@pytest.fixture
def publication(weekly_run):
    return Publications(weekly_run[0].published).current()


@pytest.fixture
def fresh_patterns(monkeypatch):
    """No pattern kept from another test, and none decided here: a decision raises."""
    monkeypatch.setattr(aggregates, "_PATTERNS", {})

    def refuse(*args, **kwargs):
        raise AssertionError("the pattern was decided again")

    monkeypatch.setattr(aggregates, "suppression_pattern", refuse)


def test_the_published_pattern_is_the_one_decided_on_the_published_week(publication):
    frame = forecast_frame(publication)
    groupings = [c for c in GROUPINGS.values() if c in frame.workers.columns]
    decided = suppression_pattern(frame.workers, groupings, SCOPES, MIN_CELL, frame.leavers)
    table = publication.table("suppression")

    cells = list(zip(table.grouping, table.key))
    assert {c for c, h in zip(cells, table.hidden) if h} == decided.hidden
    assert {c for c, h in zip(cells, table.outflow_hidden) if h} == decided.outflow_hidden
    assert decided.hidden and len(set(cells)) == len(cells)  # the tiny sector has small cells to hide
    assert set(cells) == {(g, key) for g in groupings for key in frame.workers[g].astype(str).unique()}


def test_the_service_answers_from_the_published_pattern_without_deciding_it(publication, fresh_patterns):
    frame = forecast_frame(publication)  # adopts the week's table
    cells = aggregate_forecast(frame.workers, "region", 26, leavers=frame.leavers)

    table = publication.table("suppression")
    hidden = set(table.key[(table.grouping == "region") & table.hidden])
    assert {c.key for c in cells if c.suppressed} == hidden


def test_a_pattern_of_other_workers_is_not_adopted(publication, fresh_patterns):
    frame = forecast_frame(publication)
    table = publication.table("suppression")
    fewer = frame.leavers.iloc[1:]  # one leaver less: another population, which may need another pattern

    assert not adopt_pattern(frame.workers, fewer, table)
    assert not adopt_pattern(frame.workers, frame.leavers, table.iloc[0:0])
    with pytest.raises(AssertionError, match="decided again"):
        aggregate_forecast(frame.workers, "region", 26, leavers=fewer)
    # the same workers in another order are the same population
    shuffled = frame.workers.sample(frac=1.0, random_state=0)
    assert adopt_pattern(shuffled, frame.leavers, table)


def test_the_table_lists_every_cell_once_with_its_population():
    workers = pd.DataFrame({"worker_id": [f"w{i}" for i in range(30)], "region": ["GM1"] * 25 + ["GM2"] * 5,
                            "organisation_id": ["o1"] * 15 + ["o2"] * 15, "team_id": [f"t{i % 6}" for i in range(30)],
                            "occupation": ["x"] * 30, "domain": ["wmo"] * 30})
    table = pattern_table(workers, None)

    assert list(zip(table.grouping, table.key)) == [("region", "GM1"), ("region", "GM2"), ("organisation_id", "o1"),
                                                    ("organisation_id", "o2"), ("domain", "wmo"), ("occupation", "x")]
    assert dict(zip(table.key, table.hidden))["GM2"]  # five workers
    assert table.population.nunique() == 1
