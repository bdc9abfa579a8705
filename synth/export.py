"""Turn the simulation's logs into the data-contract tables and write them.

Tables are built as Arrow tables typed from ``features/contract.py`` so that CSV and
Parquet come from one object: CSV gets ISO dates, ``true``/``false`` and empty cells for
missing values; Parquet gets native date, bool, int and float columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from continuity.features.contract import TABLES, Table
from continuity.private import private_folder
from continuity.vocabulary import (
    ASSIGNMENT_END_REASONS, ASSIGNMENT_ROLES, CONTRACT_TYPES, DOMAINS, GENDERS, HR_EVENT_TYPES, OCCUPATIONS,
    PLACEMENT_SETTINGS, TERMINATION_REASONS, VULNERABILITY_FLAGS,
)

from .caseload import contacts_by_month
from .clients import OUT_OF_HOME, Placements, out_of_home_at_start
from .simulate import Simulated

CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed")
ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "date": pa.date32(), "bool": pa.bool_()}


def _dates(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 as dates; a negative day marks a missing date."""
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype(np.int32), mask=days < 0).cast(pa.date32())


def _labels(vocabulary: tuple[str, ...] | np.ndarray, index: np.ndarray) -> pa.Array:
    """Labels looked up by index; a negative index is missing."""
    index = np.asarray(index, dtype=np.int64)
    return pa.array(list(vocabulary), type=pa.string()).take(pa.array(index, mask=index < 0))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Ids counted from 1, e.g. C000123; each distinct id is formatted once."""
    numbers = np.asarray(numbers, dtype=np.int64)
    names = pa.array([f"{prefix}{i + 1:0{width}d}" for i in range(int(numbers.max(initial=-1)) + 1)], type=pa.string())
    return names.take(pa.array(numbers))


def _arrow(values: object) -> pa.Array:
    """An Arrow array; NaN in a float column is missing."""
    return values if isinstance(values, pa.Array) else pa.array(values, from_pandas=True)


def _schema(table: Table) -> pa.Schema:
    return pa.schema([(c.name, ARROW_TYPES[c.dtype]) for c in table.columns])


def _typed(table: Table, columns: dict[str, object]) -> pa.Table:
    """Exactly the contract's columns, in its order, with its types."""
    arrays = [_arrow(columns[c.name]).cast(ARROW_TYPES[c.dtype]) for c in table.columns]
    return pa.Table.from_arrays(arrays, schema=_schema(table))


def worker_ids(sim: Simulated) -> pa.Array:
    return _ids("W", np.arange(len(sim.workers)), 6)


def contract_tables(sim: Simulated, households: np.ndarray, placements: Placements) -> dict[str, pa.Table]:
    """Every contract table but the contacts (`write_contacts` streams those); `households` numbers each
    client's household, `placements` are the children's placements out of home, from which each
    assignment's ``flag_out_of_home`` follows (a placement open on the day the assignment started)."""
    teams, sector = sim.sector.teams, sim.sector
    w = sim.workers.arrays()
    wid = worker_ids(sim)
    tables = {
        "workers": _typed(TABLES["workers"], {
            "worker_id": wid,
            "person_key": _ids("P", np.asarray(w["person"]), 6),
            "organisation_id": _labels(sector.org_ids, teams.org[w["team"]]),
            "team_id": _labels(teams.team_id, w["team"]),
            "region": _labels(teams.region, w["team"]),
            "occupation": _labels(OCCUPATIONS, w["occupation"]),
            "birth_year": w["birth_year"],
            "gender": _labels(GENDERS, w["gender"]),
            "contract_type": _labels(CONTRACT_TYPES, w["contract_type"]),
            "contract_end_date": _dates(w["contract_end"]),
            "fte": w["fte"],
            "pay_scale": w["pay_scale"],
            "pay_step": w["pay_step"],
            "hire_date": _dates(w["hire_day"]),
            "termination_date": _dates(w["termination_day"]),
            "termination_reason": _labels(TERMINATION_REASONS, w["termination_reason"]),
        }),
    }

    e = sim.events.arrays()
    order = np.lexsort((e["event_type"], e["day"], e["row"]))
    tables["hr_events"] = _typed(TABLES["hr_events"], {
        "worker_id": wid.take(pa.array(e["row"][order])),
        "event_date": _dates(e["day"][order]),
        "event_type": _labels(HR_EVENT_TYPES, e["event_type"][order]),
        "end_date": _dates(e["end"][order]),
        "value": e["value"][order],
        "detail": pa.array(e["detail"][order], type=pa.string()),
    })

    a = sim.caseload.all_assignments()
    order = np.lexsort((a.primary, a.row, a.client, a.start))
    a = a.select(order)
    clients = sim.caseload.clients()
    flags = clients.flags[a.client]
    flags[:, OUT_OF_HOME] = out_of_home_at_start(a, placements)
    tables["assignments"] = _typed(TABLES["assignments"], {
        "client_id": _ids("C", a.client, 6),
        "household_id": _ids("H", households[a.client], 6),
        "worker_id": wid.take(pa.array(a.row)),
        "role": _labels(ASSIGNMENT_ROLES, np.where(a.primary.astype(bool), 0, 1)),
        "start_date": _dates(a.start),
        "end_date": _dates(a.end),
        "end_reason": _labels(ASSIGNMENT_END_REASONS, a.reason),
        "domain": _labels(DOMAINS, clients.domain[a.client]),
        "complexity": clients.complexity[a.client],
        **{flag: flags[:, j] for j, flag in enumerate(VULNERABILITY_FLAGS)},
    })

    order = np.lexsort((placements.day, placements.client))
    tables["placements"] = _typed(TABLES["placements"], {
        "client_id": _ids("C", placements.client[order], 6),
        "placement_date": _dates(placements.day[order]),
        "setting": _labels(PLACEMENT_SETTINGS, placements.setting[order]),
        "end_date": _dates(placements.end[order]),
    })

    f = sector.funding
    tables["funding_contracts"] = _typed(TABLES["funding_contracts"], {
        "contract_id": f.contract_id.astype(object),
        "organisation_id": _labels(sector.org_ids, f.org),
        "municipality": sector.market_region[f.market].astype(object),
        "domain": _labels(DOMAINS, sector.market_domain[f.market]),
        "start_date": _dates(f.start_day),
        "end_date": _dates(f.end_day),
        "tendered": f.tendered,
        "awarded_date": _dates(f.award_day),
    })

    v = sim.vacancies.arrays()
    tables["vacancies"] = _typed(TABLES["vacancies"], {
        "vacancy_id": _ids("V", np.arange(len(sim.vacancies)), 6),
        "organisation_id": _labels(sector.org_ids, teams.org[v["team"]]),
        "team_id": _labels(teams.team_id, v["team"]),
        "occupation": _labels(OCCUPATIONS, v["occupation"]),
        "fte": v["fte"],
        "opened_on": _dates(v["opened_day"]),
        "filled_on": _dates(v["filled_day"]),
        "vacated_by": wid.take(pa.array(v["vacated_row"])),
        "filled_by": wid.take(pa.array(v["filled_row"], type=pa.int64(), mask=v["filled_row"] < 0)),
    })

    tables["teams"] = _typed(TABLES["teams"], {
        "team_id": teams.team_id.astype(object),
        "organisation_id": _labels(sector.org_ids, teams.org),
        "municipality": teams.region.astype(object),
        "domain": _labels(DOMAINS, teams.domain),
    })
    return tables


def write_contacts(sim: Simulated, rng: np.random.Generator, path: Path, fmt: Literal["csv", "parquet"]) -> int:
    """Draw the contacts a month at a time (`caseload.contacts_by_month`) into `path`; returns how many."""
    a = sim.caseload.all_assignments()
    wid, cid = worker_ids(sim), _ids("C", np.arange(sim.caseload.n_clients), 6)
    rows = 0
    with TableStream(path, fmt, _schema(TABLES["contacts"])) as out:
        for c in contacts_by_month(rng, a, sim.start_day + 7 * sim.n_weeks):
            out.write(_typed(TABLES["contacts"], {
                "client_id": cid.take(pa.array(c.client)),
                "worker_id": wid.take(pa.array(c.row)),
                "contact_date": _dates(c.day),
                "minutes": c.minutes,
            }))
            rows += len(c.day)
    return rows


class OracleWriter:
    """The sink of `records.OracleLog`: writes ``oracle/oracle_hazard.parquet`` a month at a time."""

    SCHEMA = pa.schema([("worker_id", pa.string()), ("week_start", pa.date32()),
                        ("hazard_voluntary", pa.float64()), ("hazard_other", pa.float64())])

    def __init__(self, path: Path) -> None:
        self._stream = TableStream(path, "parquet", self.SCHEMA)
        self._names = pa.array([], type=pa.string())

    def __call__(self, o: dict[str, np.ndarray]) -> None:
        known = len(self._names)
        if o["row"].size and o["row"].max() >= known:  # name the employments begun since the last month
            more = [f"W{i + 1:06d}" for i in range(known, int(o["row"].max()) + 1)]
            self._names = pa.concat_arrays([self._names, pa.array(more, type=pa.string())])
        self._stream.write(pa.table({
            "worker_id": self._names.take(pa.array(o["row"])),
            "week_start": _dates(o["day"]),
            "hazard_voluntary": o["hazard_voluntary"],
            "hazard_other": o["hazard_other"],
        }, schema=self.SCHEMA))

    def close(self) -> None:
        self._stream.close()


class TableStream:
    """A table written in parts as `path` + ".csv" or ".parquet", for tables too large to hold at once."""

    def __init__(self, path: Path, fmt: Literal["csv", "parquet"], schema: pa.Schema) -> None:
        target = path.with_suffix(f".{fmt}")
        private_folder(target.parent)
        self._writer = (pacsv.CSVWriter(target, schema, write_options=CSV_OPTIONS) if fmt == "csv"
                        else pq.ParquetWriter(target, schema))

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TableStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write(table: pa.Table, path: Path, fmt: Literal["csv", "parquet"]) -> Path:
    """Write one table as `path` + ".csv" or ".parquet"; both are byte-identical for identical tables."""
    target = path.with_suffix(f".{fmt}")
    private_folder(target.parent)
    if fmt == "csv":
        pacsv.write_csv(table, target, CSV_OPTIONS)
    else:
        pq.write_table(table, target)
    return target
