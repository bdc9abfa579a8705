"""Response models of the client discontinuity monitor (``serving.discontinuity``).

Descriptions land in the OpenAPI document at /docs: what each figure counts and when it is
incomplete, which is what a manager deciding whom to look after first needs.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from continuity.serving.schemas import CASE_NUMBER, Week


class CurrentWorker(BaseModel):
    worker_id: str = Field(description="A current worker of the client within the token's scope.")
    relationship_weeks: float = Field(ge=0, description="Weeks the worker has known the client.")
    p_26w: float | None = Field(ge=0, le=1, description="The worker's probability of leaving voluntarily within 26 "
                                "weeks; null when withheld.")


class DiscontinuityClient(BaseModel):
    client_id: str = Field(description="Pseudonymised client id (keyed hash).")
    case_number: str | None = Field(default=None, description=CASE_NUMBER)
    flagged: bool = Field(description="Three or more new faces in the last 52 weeks, unless a small stable team "
                          "cares for the client (team_continuity of 0.75 or more).")
    new_faces_12m: int = Field(ge=0, description="Workers the client first met in the last 52 weeks.")
    handovers_12m: int = Field(ge=0, description="Handovers the client went through in the last 52 weeks.")
    replacements_24m: int = Field(ge=0, description="Re-placements of the client's out-of-home placement in the last "
                                  "104 weeks (0 where the export has no placements).")
    distinct_workers_12m: int = Field(ge=0, description="Different workers in the last 52 weeks, new or known.")
    team_continuity: float | None = Field(ge=0, le=1, description="Share of the last 52 weeks' contacts with the "
                                          "client's small stable team (up to three faces of one team); null "
                                          "without contacts.")
    familiarity_weeks: float = Field(ge=0, description="The longest bond, in weeks, the client has with any current "
                                     "worker: low means only barely known faces are left.")
    expected_handovers_26w: float = Field(ge=0, description="Expected handovers in the next 26 weeks: the sum over the "
                                          "current workers of their probability of leaving times the chance that "
                                          "the client's case with them is still open when they leave, those not "
                                          "counted left out.")
    workers_not_counted: int = Field(ge=0, description="Current workers whose probability is unknown to this token "
                                     "(withheld, or outside its scope) and so not in expected_handovers_26w, which "
                                     "is then a lower bound.")
    current_workers: list[CurrentWorker] = Field(description="The client's current workers within the token's scope.")


class DiscontinuityMonitorPage(BaseModel):
    week: Week
    total: int = Field(ge=0, description="Clients of the token's workers, over all pages.")
    flagged: int = Field(ge=0, description="Of those, the flagged clients: three or more new faces in the last 52 "
                         "weeks and no small stable team caring for them.")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    items: list[DiscontinuityClient] = Field(
        description="Flagged clients first, then most new faces, most handovers, most re-placements, least familiar "
                    "current workers, "
                    "most expected handovers, by client id.")
