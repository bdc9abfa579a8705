"""The data contract: the tables an organisation exports and the columns each must have.

Column names here are the field names of the data contract (docs/data-contract.md#tables).
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

from continuity.vocabulary import VULNERABILITY_FLAGS


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
    dated_by: str | None  # None: a time-invariant row that holds at every date (a team and its market)
    also_dated: tuple[str, ...] = field(default=())
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


WORKERS = Table(
    "workers",
    (
        Column("worker_id", "str"),
        # The same person under every employment (a tender transfer, a move within the sector); optional.
        Column("person_key", "str", required=False),
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
        # The client's household (siblings, a couple, a family), pseudonymised like client_id; optional.
        Column("household_id", "str", required=False),
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

PLACEMENTS = Table(
    "placements",
    (
        Column("client_id", "str"),
        Column("placement_date", "date"),
        Column("setting", "str"),
        Column("end_date", "date", required=False),
    ),
    key=("client_id", "placement_date"),
    dated_by="placement_date",
    also_dated=("end_date",),
    optional=True,
)
"""A child's placements out of home; one following an earlier placement of the same client is a re-placement."""

TEAMS = Table(
    "teams",
    (
        Column("team_id", "str"),
        Column("organisation_id", "str"),
        Column("municipality", "str"),
        Column("domain", "str"),
    ),
    key=("team_id",),
    dated_by=None,
    optional=True,
)
"""The market (municipality and domain) each team works for: its funding is the organisation's
``funding_contracts`` of that market. A team that changes employer gets a new team id."""

VACANCIES = Table(
    "vacancies",
    (
        Column("vacancy_id", "str"),
        Column("organisation_id", "str"),
        Column("team_id", "str"),
        Column("occupation", "str"),
        Column("fte", "float"),
        Column("opened_on", "date"),
        Column("filled_on", "date", required=False),
        # The worker whose leaving opened it: their clients wait on it until it is filled.
        Column("vacated_by", "str", required=False),
        Column("filled_by", "str", required=False),
    ),
    key=("vacancy_id",),
    dated_by="opened_on",
    also_dated=("filled_on",),
    optional=True,
)
"""A post without its worker, from the day it fell vacant until the day its next worker started (empty while
open). Hires alone tell the inflow; the vacancies tell how long a post, and its leaver's clients, wait."""

TABLES: dict[str, Table] = {t.name: t for t in (WORKERS, HR_EVENTS, ASSIGNMENTS, CONTACTS, FUNDING_CONTRACTS,
                                                PLACEMENTS, TEAMS, VACANCIES)}


# ---------------------------------------------------------------------------
# Validation rules (added for ingest; nothing above is renamed).
# ---------------------------------------------------------------------------

from continuity import vocabulary  # noqa: E402

ALLOWED_LABELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("workers", "occupation"): vocabulary.OCCUPATIONS,
    ("vacancies", "occupation"): vocabulary.OCCUPATIONS,
    ("workers", "gender"): vocabulary.GENDERS,
    ("workers", "contract_type"): vocabulary.CONTRACT_TYPES,
    ("workers", "termination_reason"): vocabulary.TERMINATION_REASONS,
    ("hr_events", "event_type"): vocabulary.HR_EVENT_TYPES,
    ("assignments", "role"): vocabulary.ASSIGNMENT_ROLES,
    ("assignments", "end_reason"): vocabulary.ASSIGNMENT_END_REASONS,
    ("assignments", "domain"): vocabulary.DOMAINS,
    ("funding_contracts", "domain"): vocabulary.DOMAINS,
    ("placements", "setting"): vocabulary.PLACEMENT_SETTINGS,
    ("teams", "domain"): vocabulary.DOMAINS,
}
"""Columns whose values must come from the sector vocabulary (after the mapping's label translation)."""

OPEN_LABELS: frozenset[tuple[str, str]] = frozenset({("workers", "occupation"), ("vacancies", "occupation")})
"""Label columns whose vocabulary is open: every organisation names some jobs its own way, and a job is
no error. A label outside ``ALLOWED_LABELS`` loads as exported, is counted in the ingest report, and the
models group it as ``OTHER_LABEL`` (``feature_spec.Feature.categories``); the mapping's ``values`` can
map it onto a known label instead."""

OTHER_LABEL = "other"

RANGES: dict[tuple[str, str], tuple[float | None, float | None, bool]] = {
    # (table, column): (low, high, low_inclusive); high is always inclusive.
    ("workers", "fte"): (0.0, 1.2, False),
    ("vacancies", "fte"): (0.0, 1.2, False),
    ("workers", "pay_scale"): (1, 30, True),
    ("workers", "pay_step"): (0, 40, True),
    ("assignments", "complexity"): (1, 5, True),
    ("contacts", "minutes"): (0, 24 * 60, False),
}
"""Plausible ranges: 0 < fte <= 1.2, complexity 1-5, a contact lasts more than 0 minutes and at most a day."""

BIRTH_YEAR_MIN = 1935
MIN_WORKING_AGE = 15
"""birth_year must lie in [BIRTH_YEAR_MIN, export year - MIN_WORKING_AGE]."""

EARLIEST_DATE = "1950-01-01"
"""No date in an export may lie before this (typing errors such as 0202 for 2020)."""

ORDER_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    # table: ((later column, earlier column), ...): later >= earlier when both are present.
    "workers": (("termination_date", "hire_date"), ("contract_end_date", "hire_date")),
    "hr_events": (("end_date", "event_date"),),
    "assignments": (("end_date", "start_date"),),
    "funding_contracts": (("end_date", "start_date"),),
    "placements": (("end_date", "placement_date"),),
    "vacancies": (("filled_on", "opened_on"),),
}

FORWARD_DATED: dict[str, tuple[str, ...]] = {
    "workers": ("contract_end_date", "termination_date"),
    "hr_events": ("end_date",),
    "funding_contracts": ("start_date", "end_date"),
}
"""Date columns that may lie after the export date (a contract's planned end, a notice already given).
Every other date column must lie on or before the export date."""

HR_EVENT_VALUE_RANGES: dict[str, tuple[float, float]] = {
    "overtime": (0.0, 250.0),
    "fte_change": (0.01, 1.2),
    "engagement_survey": (1.0, 10.0),
}
"""Range of hr_events.value per event type (value is ignored for the other types)."""

FOREIGN_KEYS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # table: ((column, referenced table, referenced column), ...)
    "workers": (("organisation_id", "funding_contracts", "organisation_id"),),
    "hr_events": (("worker_id", "workers", "worker_id"),),
    "assignments": (("worker_id", "workers", "worker_id"),),
    "contacts": (("worker_id", "workers", "worker_id"), ("client_id", "assignments", "client_id")),
    "placements": (("client_id", "assignments", "client_id"),),
    "teams": (("organisation_id", "funding_contracts", "organisation_id"),),
    "vacancies": (("vacated_by", "workers", "worker_id"), ("filled_by", "workers", "worker_id")),
}
"""Referential integrity; workers.organisation_id may also be declared in the ingest mapping."""

LOAD_ORDER: tuple[str, ...] = ("funding_contracts", "teams", "workers", "hr_events", "assignments", "placements",
                               "contacts", "vacancies")
"""Referenced tables come first."""

PSEUDONYMISED: dict[str, tuple[str, ...]] = {"workers": ("person_key",), "assignments": ("client_id", "household_id"),
                                             "contacts": ("client_id",), "placements": ("client_id",)}
"""Columns replaced by a keyed hash at ingest."""

HEALTH_EVENTS: tuple[str, ...] = ("sick_leave",)
"""hr_events types that are health data: a row of one carrying any text (a note, a reason, a diagnosis) is
quarantined with its text withheld, so no diagnosis is ever stored, not even in the quarantine."""

