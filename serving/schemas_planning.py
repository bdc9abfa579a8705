"""Request and response models of handover plans, sector aggregates and scenarios.

Descriptions land in the OpenAPI document at /docs; they say what a figure means and
when it is missing, which is what a manager or an analyst at a sector body needs.
"""

from __future__ import annotations

import datetime
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field

from continuity.serving.schemas import CASE_NUMBER, Horizon, Week

ExpectedCount = Annotated[float, Field(ge=0)]



class AggregateBy(str, Enum):
    region = "region"
    organisation = "organisation"
    domain = "domain"
    occupation = "occupation"


class Measure(str, Enum):
    voluntary = "voluntary"
    sector = "sector"
    moves = "moves"


class ScenarioName(str, Enum):
    long_funding_contracts = "long_funding_contracts"
    caseload_at_norm = "caseload_at_norm"
    regular_scale_steps = "regular_scale_steps"


class HandoverRequest(BaseModel):
    worker_id: str = Field(description="The leaving (or at-risk) worker whose open primary clients need a successor.")
    date: datetime.date | None = Field(
        default=None, description="The week the plan is made for: only the published score week is accepted "
        "(plans read who is active, who has room and who knows whom in that week); default that week."
    )
    pinned: dict[str, str] = Field(
        default_factory=dict,
        description="client_id -> successor the manager fixed; placed first, even above the caseload norm.",
    )
    excluded: list[str] = Field(default_factory=list, description="Workers never to be chosen as successor.")


class HandoverItem(BaseModel):
    client_id: str = Field(description="Pseudonymised client id (keyed hash).")
    successor_id: str | None = Field(description="The chosen successor; null when no colleague has room.")
    reasons: list[str] = Field(description="Why this successor, in plain words.")
    successor_p_leave: float | None = Field(
        ge=0, le=1, description="The successor's probability of leaving within the plan's horizon; null with no successor."
    )
    starter_complex: bool = Field(
        default=False,
        description="A complex case (complexity 4 or more) given to a starter (under 2 years in post): the planner "
                    "does so only when no experienced colleague has room, or when the manager pinned it.",
    )
    case_number: str | None = Field(default=None, description=CASE_NUMBER)


class HandoverPlanResponse(BaseModel):
    leaving_worker_id: str
    date: datetime.date = Field(description="The week the plan was made for: the published score week.")
    week: Week
    horizon_weeks: int = Field(description="Horizon of the expected further handovers, in weeks.")
    handovers: list[HandoverItem] = Field(description="One entry per open primary client of the leaving worker.")
    unplaced: list[str] = Field(description="Clients for whom no colleague has room under the caseload norm.")
    expected_further_handovers: ExpectedCount = Field(
        description="Expected number of these clients handed over again within the horizon (their successors leaving)."
    )
    naive_expected_further_handovers: ExpectedCount = Field(
        description="The same for a naive plan that gives each client to the least-loaded colleague."
    )
    risk_assumption: str | None = Field(
        description="How P(leave within the horizon) was derived from the published horizons; null when published."
    )
    scope_note: str | None = Field(
        description="Which colleagues were considered when the token's scope narrowed the candidates; null otherwise."
    )


class AggregateCell(BaseModel):
    key: str = Field(description="The region, organisation, main domain or occupation.")
    workers: int | None = Field(ge=10, description="Scored workers in the cell; null when suppressed.")
    expected_leavers: ExpectedCount | None = Field(description="Sum of the workers' probabilities of leaving within the horizon.")
    interval: list[int] | None = Field(
        min_length=2, max_length=2,
        description="90% interval of the number of leavers, allowing for colleagues who leave together (a shared "
        "team and organisation frailty estimated from past weeks' realised leavers; the Poisson-binomial of the "
        "individual probabilities when no past week has passed the horizon).",
    )
    expected_clients_affected: ExpectedCount | None = Field(
        description="Clients expected to lose their trusted worker within the horizon."
    )
    observed_leavers_last_year: int | None = Field(
        ge=10, description="Workers of the cell who left voluntarily in the 52 weeks before the score week; null "
        "when the cell is suppressed or the count is withheld: a count under 10 (0 included), or one that an "
        "organisation or team could narrow to under 10 people outside its own, is never published."
    )
    suppressed: bool = Field(description="True when the cell is hidden to protect small groups; every figure is then null.")


class Aggregates(BaseModel):
    by: AggregateBy
    horizon: Horizon
    week: Week
    measure: Measure = Field(
        default=Measure.voluntary,
        description="What the cells count: voluntary leavers of their employer; of whom those who leave the sector "
        "(sector) or only move to another employer of the sector (moves), each worker's probability split by the "
        "share of voluntary leaving that is a move, learned from past leavers whose person_key started at another "
        "employer within 26 weeks. With sector or moves the observed outflow is null.",
    )
    destinations: str | None = Field(
        default=None,
        description="With sector or moves: why moves cannot be told from leaving the sector this week (the export has "
        "no person_key, or one employer); every figure is then null, never guessed. Null when known.",
    )
    assumption: str | None = Field(description="How a horizon that is not published was derived; null when published.")
    cells: list[AggregateCell] = Field(
        description="One cell per key. Cells under 10 workers are suppressed, with complementary cells so that no "
        "hidden cell can be recovered from published ones or from another query."
    )


class ScenarioRequest(BaseModel):
    scenario: ScenarioName
    horizon: Horizon = Field(default=Horizon.weeks_26, description="Forecast horizon in weeks.")


class ScenarioFigures(BaseModel):
    expected_leavers: float
    expected_clients_affected: float


class ScenarioCell(BaseModel):
    key: str = Field(description="The organisation.")
    workers: int | None = Field(ge=10, description="Scored workers; null when suppressed.")
    baseline: ScenarioFigures | None
    with_scenario: ScenarioFigures | None
    change: ScenarioFigures | None
    suppressed: bool


class ScenarioResult(BaseModel):
    scenario: ScenarioName
    description: str = Field(description="What the scenario changes, in the model's features.")
    horizon: Horizon
    label: str = Field(description="Always 'model-based, not causal': the change is the model's, not a proven effect.")
    week: Week
    model_name: str
    model_version: str
    workers: int = Field(ge=0, description="Workers scored.")
    workers_changed: int = Field(ge=0, description="Workers whose features the scenario changes.")
    baseline: ScenarioFigures = Field(description="The champion model on this week's snapshot, unchanged.")
    with_scenario: ScenarioFigures = Field(description="The same model with the scenario's changes.")
    change: ScenarioFigures = Field(description="with_scenario minus baseline; negative means fewer leavers.")
    by_organisation: list[ScenarioCell] = Field(description="Per organisation, with the aggregates' suppression.")
