"""The entry point: simulate a sector and write its exports, oracle and summary.

Random streams are split per job (sector layout, weekly simulation, contacts, households,
placements, notices) so that a change in how contacts, households, placements or notices are
drawn cannot shift who leaves; the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from continuity.features.contract import TABLES
from continuity.vocabulary import TERMINATION_REASONS

from . import clients, export
from .hazard import WEEKS_PER_YEAR
from .notices import add_notices
from .organisations import Sector, build_sector
from .policy import Policy
from .simulate import Simulated, Simulation
from .worlds import DEFAULT_WORLD, WORLDS

EPOCH = date(1970, 1, 1)
MIN_WORKERS = 20
STREAMS = ("layout", "weekly", "contacts", "households", "placements", "notices")
"""One random stream per job, spawned in this order: a stream added at the end leaves the others as they were."""


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
    clients_in_multi_member_households: float  # share of clients (synth/clients.py: about a third of youth)
    placements_per_year: float  # children placed out of home during the period, re-placements included
    replacements_per_year: float  # of which a placement following an earlier one of the same child
    youth_clients_placed: float  # share of youth clients with any placement out of home recorded
    notices_per_year: float  # notices given during the period (synth/notices.py)
    notices_pending_at_export: int  # given before the export for a last day after it: the known departures

    def to_json(self) -> dict:
        """The summary without the folder, so that two runs in different folders agree."""
        facts = asdict(self)
        del facts["out_dir"]
        return json.loads(json.dumps(facts, default=str))


def _outflow(sim: Simulated) -> dict[str, float | dict[str, float]]:
    """Yearly rates per worker-year at risk; a move is an exit followed by a later hire of the same person."""
    w = sim.workers.arrays()
    worker_years = sim.oracle.n_rows / WEEKS_PER_YEAR
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


def _client_facts(tables: dict, start: date, years: int) -> dict[str, float]:
    """Households, placements and notices as the export files record them; rates per year of the period."""
    def frame(name: str, columns: list[str]) -> pd.DataFrame:
        # only the columns needed: a sector's whole assignments table in pandas would take gigabytes
        return tables[name].select(columns).to_pandas(date_as_object=False)

    a = frame("assignments", ["client_id", "household_id", "domain"]).drop_duplicates("client_id")
    sizes = a["household_id"].map(a["household_id"].value_counts())
    p = frame("placements", ["client_id", "placement_date"])
    replacement = p.sort_values("placement_date").duplicated("client_id").sort_index()
    in_period = p["placement_date"] >= pd.Timestamp(start)
    notices = frame("hr_events", ["event_type", "event_date", "end_date"]).query("event_type == 'notice'")
    export_date = pd.Timestamp(start + timedelta(weeks=52 * years))
    youth = a.loc[a["domain"] == "jeugd", "client_id"]
    return dict(
        clients_in_multi_member_households=round(float((sizes > 1).mean()), 4),
        placements_per_year=round(float(in_period.sum()) / years, 1),
        replacements_per_year=round(float((in_period & replacement).sum()) / years, 1),
        youth_clients_placed=round(float(youth.isin(p["client_id"]).mean()) if len(youth) else 0.0, 4),
        notices_per_year=round(float((notices["event_date"] >= pd.Timestamp(start)).sum()) / years, 1),
        notices_pending_at_export=int((notices["end_date"] >= export_date).sum()),
    )


def _streams(seed: int) -> dict[str, np.random.Generator]:
    return dict(zip(STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STREAMS)))))


def sector_layout(*, workers: int, years: int, seed: int, start: date, policy: Policy | None = None) -> Sector:
    """The organisations, teams and funding contracts `generate_sector` draws for these arguments (in every world)."""
    secure = policy is not None and policy.secure_funding_years is not None
    return build_sector(_streams(seed)["layout"], workers, (start - EPOCH).days, 52 * years,
                        secure_from=(policy.from_day - EPOCH).days if secure else None,
                        secure_years=policy.secure_funding_years if secure else 6)


def check_policy(policy: Policy | None, start: date, years: int) -> None:
    """A policy must start inside the simulated weeks, after the first."""
    if policy is not None and not start < policy.from_day < start + timedelta(weeks=52 * years):
        raise ValueError(f"a policy must start inside the simulated weeks, after {start}, got {policy.from_day}")


def generate_sector(out_dir: Path, *, workers: int = 2000, years: int = 5, seed: int = 0,
                    fmt: Literal["csv", "parquet"] = "parquet", start: date = date(2020, 1, 6),
                    world: str = DEFAULT_WORLD, policy: Policy | None = None) -> SectorSummary:
    """Simulate `years` of weekly history for `workers` positions and write the sector to `out_dir`.

    `world` names the hazard model of voluntary leaving (`synth.worlds.WORLDS`). A seed gives the
    same sector layout (organisations, teams, funding) in every world; who leaves differs, and
    with it everything drawn after.

    Writes ``exports/<table>.<fmt>`` in the data-contract format, ``oracle/oracle_hazard.parquet``
    (the true weekly hazards without the personal frailty) and ``sector.json``. The oracle is written a
    month at a time as the weeks are simulated, and the contacts a month at a time after: at 150,000
    positions x 5 years they are 34 and 150 million rows, more than memory should hold at once.

    `policy` (`synth.policy`): the same sector re-simulated with a policy in force from its day on; the
    records dated before that day are those of the sector without it.
    """
    if start.weekday() != 0:
        raise ValueError(f"start must be a Monday, got {start:%A} {start}")
    if workers < MIN_WORKERS or years < 1:
        raise ValueError(f"need at least {MIN_WORKERS} workers and 1 year, got {workers} and {years}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if world not in WORLDS:
        raise ValueError(f"world must be one of {', '.join(WORLDS)}, got {world!r}")
    check_policy(policy, start, years)
    out_dir = Path(out_dir)
    rngs = _streams(seed)
    start_day = (start - EPOCH).days
    n_weeks = 52 * years
    sector = sector_layout(workers=workers, years=years, seed=seed, start=start, policy=policy)
    oracle = export.OracleWriter(out_dir / "oracle" / "oracle_hazard")
    try:
        sim = Simulation(sector, rngs["weekly"], start_day, n_weeks, WORLDS[world], oracle, policy).run()
    finally:
        oracle.close()
    add_notices(sim, rngs["notices"])
    cases, people = sim.caseload.all_assignments(), sim.caseload.clients()
    tables = export.contract_tables(
        sim, clients.households(rngs["households"], cases, people),
        clients.placements(rngs["placements"], cases, people, start_day + 7 * n_weeks))
    del cases
    for name, table in tables.items():
        export.write(table, out_dir / "exports" / name, fmt)
    rows = {name: table.num_rows for name, table in tables.items()}
    facts = _client_facts(tables, start, years)
    del tables  # the contacts come last, with only the simulation's own arrays held beside them
    rows["contacts"] = export.write_contacts(sim, rngs["contacts"], out_dir / "exports" / "contacts", fmt)

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
        rows={name: rows[name] for name in TABLES if name in rows},
        sick_leave_share=round(sim.sick_share, 4),
        **_outflow(sim),
        **facts,
    )
    (out_dir / "sector.json").write_text(json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n")
    return summary
