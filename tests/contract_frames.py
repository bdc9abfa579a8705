"""Small contract tables written by hand, loaded into DuckDB with the contract's types.

Tests state only the columns a case is about; every other column gets a plain
default, so a failing test reads as the story it tells. Tables are created from
``features.contract.TABLES`` so that a column added to the contract reaches every
test at once.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from continuity.features.contract import TABLES
from continuity.vocabulary import ASSIGNMENT_END_REASONS, DOMAINS, TERMINATION_REASONS, VULNERABILITY_FLAGS

SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "bool": "BOOLEAN"}


def worker(worker_id: str, hire_date: date, **columns) -> dict:
    row = {
        "worker_id": worker_id,
        "person_key": None,
        "organisation_id": "org1",
        "team_id": "team1",
        "region": "GM0363",
        "occupation": "maatschappelijk werker",
        "birth_year": 1985,
        "gender": "f",
        "contract_type": "permanent",
        "contract_end_date": None,
        "fte": 1.0,
        "pay_scale": 8,
        "pay_step": 3,
        "hire_date": hire_date,
        "termination_date": None,
        "termination_reason": None,
    }
    return row | columns


def hr_event(worker_id: str, event_type: str, event_date: date, **columns) -> dict:
    return {"worker_id": worker_id, "event_date": event_date, "event_type": event_type,
            "end_date": None, "value": None, "detail": None} | columns


def assignment(client_id: str, worker_id: str, start_date: date, **columns) -> dict:
    row = {"client_id": client_id, "worker_id": worker_id, "role": "primary", "start_date": start_date,
           "end_date": None, "end_reason": None, "domain": "wmo", "complexity": 3}
    return row | {flag: False for flag in VULNERABILITY_FLAGS} | columns


def contact(client_id: str, worker_id: str, contact_date: date, minutes: int = 45) -> dict:
    return {"client_id": client_id, "worker_id": worker_id, "contact_date": contact_date, "minutes": minutes}


def funding(contract_id: str, organisation_id: str, start_date: date, end_date: date,
            awarded_date: date, **columns) -> dict:
    row = {"contract_id": contract_id, "organisation_id": organisation_id, "municipality": "GM0363",
           "domain": "wmo", "start_date": start_date, "end_date": end_date, "tendered": True,
           "awarded_date": awarded_date}
    return row | columns


def load(con: duckdb.DuckDBPyConnection, **rows: list[dict] | pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """(Re)create every contract table in ``con`` from rows; tables not named are created empty."""
    for name, table in TABLES.items():
        frame = pd.DataFrame(rows.get(name, []), columns=table.column_names)
        casts = ", ".join(f"cast({c.name} as {SQL_TYPES[c.dtype]}) as {c.name}" for c in table.columns)
        con.register("_contract_rows", frame)
        con.execute(f"create or replace table {name} as select {casts} from _contract_rows")
        con.unregister("_contract_rows")
    return con


def with_households(con: duckdb.DuckDBPyConnection, households: dict[str, str]) -> None:
    """Set the optional ``assignments.household_id`` per client (adding the column where the contract lacks it)."""
    con.execute("alter table assignments add column if not exists household_id varchar")
    for client_id, household_id in households.items():
        con.execute("update assignments set household_id = ? where client_id = ?", [household_id, client_id])


def with_placements(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, date, date | None]]) -> None:
    """(Re)create the optional ``placements`` table from (client_id, placement_date, end_date) rows."""
    frame = pd.DataFrame([{"client_id": c, "placement_date": d, "setting": "foster_family", "end_date": e}
                          for c, d, e in rows], columns=["client_id", "placement_date", "setting", "end_date"])
    con.register("_placements", frame)
    con.execute("create or replace table placements as select client_id::varchar as client_id, "
                "placement_date::date as placement_date, setting::varchar as setting, end_date::date as end_date "
                "from _placements")
    con.unregister("_placements")


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every contract table as a DataFrame, for tests that edit rows and load them back."""
    return {name: con.table(name).df() for name in TABLES}


def random_sector(seed: int, n_workers: int, start: date, end: date) -> dict[str, pd.DataFrame]:
    """Contract tables with random rows of every kind, dense in edge cases rather than realistic.

    Used where a test needs every column and event type to occur on both sides of a
    cut-off (the leakage test) or needs bulk (timings); the synthetic sector of
    ``continuity.synth`` is the realistic one.
    """
    rng = np.random.default_rng(seed)
    span = (end - start).days

    def day(low: int = 0, high: int | None = None) -> date:
        return start + timedelta(days=int(rng.integers(low, high or span)))

    teams = [f"team{i}" for i in range(max(2, n_workers // 8))]
    workers, events, cases, contacts, contracts = [], [], [], [], []
    for i in range(n_workers):
        worker_id = f"w{i}"
        hire = day(0, span - 30)
        leaves = rng.random() < 0.4
        termination = hire + timedelta(days=int(rng.integers(20, span))) if leaves else None
        temporary = rng.random() < 0.3
        workers.append(worker(
            worker_id, hire, organisation_id=f"org{i % 3}", team_id=str(rng.choice(teams)),
            birth_year=int(rng.integers(1958, 2002)), fte=float(rng.choice([0.6, 0.8, 1.0])),
            contract_type="temporary" if temporary else "permanent",
            contract_end_date=hire + timedelta(days=365) if temporary else None,
            termination_date=termination, termination_reason=str(rng.choice(TERMINATION_REASONS)) if leaves else None,
        ))
        last = min(termination or end, end)
        active_days = max((last - hire).days, 1)

        def during() -> date:
            return hire + timedelta(days=int(rng.integers(0, active_days)))

        for event_type in ("team_move", "manager_change", "scale_step", "promotion", "fte_change",
                           "contract_renewal", "training", "appraisal"):
            for _ in range(int(rng.integers(0, 3))):
                events.append(hr_event(
                    worker_id, event_type, during(),
                    detail={"team_move": str(rng.choice(teams)), "manager_change": f"m{rng.integers(9)}",
                            "scale_step": f"{rng.integers(7, 11)}-{rng.integers(1, 12)}",
                            "promotion": f"{rng.integers(9, 12)}-1",
                            "contract_renewal": str(rng.choice(["temporary", "permanent"]))}.get(event_type),
                    value=float(rng.choice([0.6, 0.8, 1.0])) if event_type == "fte_change" else None,
                    end_date=during() + timedelta(days=200) if event_type == "contract_renewal" else None,
                ))
        month = hire.replace(day=1)
        while month < last:
            if rng.random() < 0.5:
                events.append(hr_event(worker_id, "overtime", month, value=float(rng.integers(1, 20))))
            month = (month + timedelta(days=32)).replace(day=1)
        for _ in range(int(rng.integers(0, 4))):
            sick_start = during()
            ongoing = rng.random() < 0.15
            events.append(hr_event(worker_id, "sick_leave", sick_start,
                                   end_date=None if ongoing else sick_start + timedelta(days=int(rng.integers(0, 120)))))
        for _ in range(int(rng.integers(1, 12))):
            case_start = during()
            closes = rng.random() < 0.7
            client_id = f"c{rng.integers(0, n_workers * 4)}"
            cases.append(assignment(
                client_id, worker_id, case_start, role="primary" if rng.random() < 0.8 else "secondary",
                end_date=case_start + timedelta(days=int(rng.integers(1, 400))) if closes else None,
                end_reason=str(rng.choice(ASSIGNMENT_END_REASONS)) if closes else None,
                domain=str(rng.choice(DOMAINS)), complexity=int(rng.integers(1, 6)),
                **{flag: bool(rng.random() < 0.15) for flag in VULNERABILITY_FLAGS},
            ))
            for _ in range(int(rng.integers(0, 6))):
                contacts.append(contact(client_id, worker_id, case_start + timedelta(days=int(rng.integers(0, 300)))))
    for k in range(12):
        contract_start = day(-400, span)
        contracts.append(funding(
            f"fc{k}", f"org{k % 3}", contract_start, contract_start + timedelta(days=int(rng.integers(300, 1500))),
            contract_start - timedelta(days=int(rng.integers(30, 200))),
            municipality=f"GM{k % 4}", domain=str(rng.choice(DOMAINS)),
        ))
    frames = {"workers": workers, "hr_events": events, "assignments": cases,
              "contacts": contacts, "funding_contracts": contracts}
    return {name: pd.DataFrame(rows).drop_duplicates(subset=list(TABLES[name].key))
            for name, rows in frames.items()}
