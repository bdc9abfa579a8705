"""The data contract: the tables an organisation exports and the columns each must have.

Column names here are the field names of the brief (DESIGN.md, "Data contract").
Mutable worker attributes (team, contract type, fte, pay scale and step) are the
values *at hire*; every later change is an ``hr_events`` row carrying the new value.
That makes every table append-only in time, so the state of a worker at any
cut-off t can be rebuilt from rows dated before t alone (the point-in-time rule).

``dated_by`` names the column that says when a row became known; ``also_dated``
names columns that hold later facts about an already-known row (an end date, a
termination) which a snapshot at t must ignore when they fall at or after t.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from continuity.sector import VULNERABILITY_FLAGS


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str", "int", "float", "date", "bool"
    required: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    dated_by: str
    also_dated: tuple[str, ...] = field(default=())
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


WORKERS = Table(
    "workers",
    (
        Column("worker_id", "str"),
        Column("organisation_id", "str"),
        Column("team_id", "str"),
        Column("region", "str"),
        Column("occupation", "str"),
        Column("birth_year", "int"),
        Column("gender", "str"),
        Column("contract_type", "str"),
        Column("contract_end_date", "date", required=False),
        Column("fte", "float"),
        Column("pay_scale", "int"),
        Column("pay_step", "int"),
        Column("hire_date", "date"),
        Column("termination_date", "date", required=False),
        Column("termination_reason", "str", required=False),
    ),
    key=("worker_id",),
    dated_by="hire_date",
    also_dated=("termination_date",),
)

HR_EVENTS = Table(
    "hr_events",
    (
        Column("worker_id", "str"),
        Column("event_date", "date"),
        Column("event_type", "str"),
        Column("end_date", "date", required=False),
        Column("value", "float", required=False),
        Column("detail", "str", required=False),
    ),
    key=("worker_id", "event_date", "event_type"),
    dated_by="event_date",
    also_dated=("end_date",),
)

ASSIGNMENTS = Table(
    "assignments",
    (
        Column("client_id", "str"),
        Column("worker_id", "str"),
        Column("role", "str"),
        Column("start_date", "date"),
        Column("end_date", "date", required=False),
        Column("end_reason", "str", required=False),
        Column("domain", "str"),
        Column("complexity", "int"),
        *(Column(flag, "bool") for flag in VULNERABILITY_FLAGS),
    ),
    key=("client_id", "worker_id", "role", "start_date"),
    dated_by="start_date",
    also_dated=("end_date",),
)

CONTACTS = Table(
    "contacts",
    (
        Column("client_id", "str"),
        Column("worker_id", "str"),
        Column("contact_date", "date"),
        Column("minutes", "int"),
    ),
    key=("client_id", "worker_id", "contact_date"),
    dated_by="contact_date",
    optional=True,
)

FUNDING_CONTRACTS = Table(
    "funding_contracts",
    (
        Column("contract_id", "str"),
        Column("organisation_id", "str"),
        Column("municipality", "str"),
        Column("domain", "str"),
        Column("start_date", "date"),
        Column("end_date", "date"),
        Column("tendered", "bool"),
        Column("awarded_date", "date"),
    ),
    key=("contract_id",),
    dated_by="awarded_date",
)

TABLES: dict[str, Table] = {t.name: t for t in (WORKERS, HR_EVENTS, ASSIGNMENTS, CONTACTS, FUNDING_CONTRACTS)}
