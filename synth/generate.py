"""The entry point: simulate a sector and write its exports, oracle and summary.

Random streams are split per job (sector layout, weekly simulation, contacts) so that a
change in how contacts are drawn cannot shift who leaves; the same arguments give
byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

from continuity.vocabulary import TERMINATION_REASONS

from . import export
from .hazard import WEEKS_PER_YEAR
from .organisations import build_sector
from .simulate import Simulated, Simulation
from .worlds import DEFAULT_WORLD, WORLDS

EPOCH = date(1970, 1, 1)
MIN_WORKERS = 20


@dataclass(frozen=True)
class SectorSummary:
    """What a generated sector is: its arguments, sizes and the outflow it reached."""

    out_dir: str
    seed: int
    world: str  # the hazard model voluntary leaving was drawn from (`synth.worlds`)
    workers: int
    years: int
    start: date
    export_date: date
    organisations: int
    teams: int
    rows: dict[str, int]
    organisation_leaving_rate: float  # exits from an employer per worker-year (docs/evidence.md#outflow: 25-30%)
    sector_outflow_rate: float  # exits not followed by a job elsewhere in the sector (docs/evidence.md#outflow: 17%)
    move_rate: float  # moves to another employer of the sector per worker-year (docs/evidence.md#outflow: 12%)
    transfer_rate: float  # of which teams passing to a tender's winner, per worker-year
    voluntary_share: float  # voluntary exits among all exits (guess: 70%, docs/evidence.md#exit-mix)
    exit_rates: dict[str, float]  # per termination reason, per worker-year
    sick_leave_share: float  # share of worker-weeks on sick leave (docs/evidence.md#sick-leave: 5-6.4%)

    def to_json(self) -> dict:
        """The summary without the folder, so that two runs in different folders agree."""
        facts = asdict(self)
        del facts["out_dir"]
        return json.loads(json.dumps(facts, default=str))


def _outflow(sim: Simulated) -> dict[str, float | dict[str, float]]:
    """Yearly rates per worker-year at risk; a move is an exit followed by a later hire of the same person."""
    w = sim.workers.arrays()
    worker_years = len(sim.oracle.arrays()["row"]) / WEEKS_PER_YEAR
    left = w["termination_day"] >= 0
    order = np.lexsort((w["hire_day"], w["person"]))
    moved = np.zeros(len(order), dtype=bool)
    moved[order[:-1]] = w["person"][order[:-1]] == w["person"][order[1:]]
    moved &= left
    reasons = w["termination_reason"][left]
    return dict(
        organisation_leaving_rate=round(float(left.sum() / worker_years), 4),
        sector_outflow_rate=round(float((left.sum() - moved.sum()) / worker_years), 4),
        move_rate=round(float(moved.sum() / worker_years), 4),
        transfer_rate=round(sim.transfers / worker_years, 4),
        voluntary_share=round(float(np.mean(reasons == TERMINATION_REASONS.index("voluntary"))), 4),
        exit_rates={r: round(float((reasons == i).sum() / worker_years), 4) for i, r in enumerate(TERMINATION_REASONS)},
    )


def generate_sector(out_dir: Path, *, workers: int = 2000, years: int = 5, seed: int = 0,
                    fmt: Literal["csv", "parquet"] = "parquet", start: date = date(2020, 1, 6),
                    world: str = DEFAULT_WORLD) -> SectorSummary:
    """Simulate `years` of weekly history for `workers` positions and write the sector to `out_dir`.

    `world` names the hazard model of voluntary leaving (`synth.worlds.WORLDS`). A seed gives the
    same sector layout (organisations, teams, funding) in every world; who leaves differs, and
    with it everything drawn after.

    Writes ``exports/<table>.<fmt>`` in the data-contract format, ``oracle/oracle_hazard.parquet``
    (the true weekly hazards without the personal frailty) and ``sector.json``.
    """
    if start.weekday() != 0:
        raise ValueError(f"start must be a Monday, got {start:%A} {start}")
    if workers < MIN_WORKERS or years < 1:
        raise ValueError(f"need at least {MIN_WORKERS} workers and 1 year, got {workers} and {years}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if world not in WORLDS:
        raise ValueError(f"world must be one of {', '.join(WORLDS)}, got {world!r}")
    out_dir = Path(out_dir)
    layout_rng, weekly_rng, contacts_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    start_day = (start - EPOCH).days
    n_weeks = 52 * years
    sector = build_sector(layout_rng, workers, start_day, n_weeks)
    sim = Simulation(sector, weekly_rng, start_day, n_weeks, WORLDS[world]).run()

    tables = export.contract_tables(sim, contacts_rng)
    for name, table in tables.items():
        export.write(table, out_dir / "exports" / name, fmt)
    export.write(export.oracle_table(sim), out_dir / "oracle" / "oracle_hazard", "parquet")

    summary = SectorSummary(
        out_dir=str(out_dir),
        seed=seed,
        world=world,
        workers=workers,
        years=years,
        start=start,
        export_date=start + timedelta(weeks=n_weeks),
        organisations=len(sector.org_ids),
        teams=len(sector.teams.team_id),
        rows={name: table.num_rows for name, table in tables.items()},
        sick_leave_share=round(sim.sick_share, 4),
        **_outflow(sim),
    )
    (out_dir / "sector.json").write_text(json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n")
    return summary
