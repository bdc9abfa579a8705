"""The insider differencing attack on the demo sector (``continuity synth`` defaults), every reader,
grouping and horizon. It builds the sector (about 30 s), in a module of its own so that pytest-xdist
runs it beside the rest of the suite."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest

from continuity.features.ingest import ingest_dir
from continuity.features.situation import voluntary_leavers, worker_snapshot
from continuity.features.snapshots import build_snapshots, snapshot_at
from continuity.synth.generate import generate_sector
from differencing import assert_no_cell_minus_an_insiders_view_is_small, assert_no_two_cells_isolate_a_few

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo sector's workers at its last Monday (probabilities drawn at random: the pattern
    depends on the counts alone) and the year's voluntary leavers."""
    folder = tmp_path_factory.mktemp("demo")
    summary = generate_sector(folder / "sector")
    export_date = date.fromisoformat(summary.to_json()["export_date"])
    ingest_dir(folder / "sector" / "exports", folder / "warehouse.duckdb", export_date=export_date,
               pseudonym_key="demo-check-key-" * 3)
    with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
        build_snapshots(con)
        t = con.execute("select max(snapshot_date) from snapshots").fetchone()[0]
        workers, leavers = worker_snapshot(con, t, snapshot_at(con, t)), voluntary_leavers(con, t)
    rng = np.random.default_rng(0)
    for weeks, high in ((13, 0.15), (26, 0.3), (52, 0.5)):
        workers[f"p_{weeks}w"] = rng.uniform(0, high, len(workers))
    workers["weighted_clients"] = rng.uniform(0, 8, len(workers))
    return workers, leavers


@pytest.mark.parametrize("horizon", [13, 26, 52])
def test_no_reader_isolates_a_few_workers_of_the_demo_sector(demo, horizon):
    workers, leavers = demo
    assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, horizon)
    assert_no_two_cells_isolate_a_few(workers, leavers, horizon)
