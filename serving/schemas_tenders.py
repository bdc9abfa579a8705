"""Response model of the tender calendar, ``GET /funding-contracts`` (``continuity.forecasts.tender_calendar``)."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, Field

from continuity.serving.schemas import Week

_HIDDEN = "; null when the contract is suppressed"


class FundingContract(BaseModel):
    contract_id: str = Field(description="The funding contract.")
    organisation_id: str = Field(description="The organisation it funds.")
    municipality: str = Field(description="Municipality code of the market.")
    municipality_name: str | None = Field(description="The municipality's name; null where the code is not known.")
    domain: str = Field(description="wmo, jeugd or participatie.")
    start_date: datetime.date = Field(description="First day funded.")
    end_date: datetime.date = Field(description="Last day funded.")
    weeks_to_end: int = Field(ge=0, description="Whole weeks from the score week to the end.")
    tendered: bool = Field(description="Awarded by tender.")
    successor: Literal["renewed", "lost", "open"] = Field(
        description="Known at the score week: renewed (the organisation's next contract for the market is awarded), "
        "lost (a rival's is), open (none yet: the tender is still to come).")
    workers: int | None = Field(ge=0, description="Scored workers whose team works for the contract's market" + _HIDDEN
                                + ".")
    clients: int | None = Field(ge=0, description="Clients with an open case with those workers" + _HIDDEN
                                + " or, for a sector token, a count of 1 to 9.")
    expected_leavers: float | None = Field(
        ge=0, description="Expected voluntary leavers among the workers before the end (at most 52 weeks ahead): "
        "the sum of the model's probabilities with the months to the end of funding counting down as the end nears "
        "(the published probabilities where that changes nothing the model reads)" + _HIDDEN + ".")
    expected_leavers_far: float | None = Field(
        ge=0, description="The model's expected leavers of the same workers over the same weeks with the contract's "
        "end far away (months to the end of funding at least 72, every other input unchanged)" + _HIDDEN + ".")
    extra_leavers: float | None = Field(
        description="expected_leavers - expected_leavers_far: the departures the approaching end adds; model-based, "
        "not causal" + _HIDDEN + ".")
    clients_at_risk: int | None = Field(
        ge=0, description="Clients whose every open case is with a worker on the contract: if the tender is lost "
        "they lose every worker they have" + _HIDDEN + " or, for a sector token, a count of 1 to 9.")
    vulnerable_clients_at_risk: int | None = Field(
        ge=0, description="Of them, clients with a vulnerability flag or placed out of home; null as clients_at_risk.")
    suppressed: bool = Field(description="True when the contract's workers form a small cell, or would give one away "
                             "beside the aggregates: only its end and successor are shown.")


class FundingContracts(BaseModel):
    week: Week
    method: str = Field(description="How the figures are computed.")
    contracts: list[FundingContract] = Field(
        description="The funding contracts running at the score week, by end date: for a sector token those of its "
        "regions (all when it is not limited), for an hr token its own organisation's.")
