"""Response models: the contract the web page, exports and other clients rely on.

Field descriptions end up in the OpenAPI document at /docs, which is where HR and
integrators read what a number means; so each says what the figure is and when it
can be missing, not how it is computed in code.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum, IntEnum
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from continuity.horizons import HORIZONS
from continuity.run_record import GRACE, SCHEDULE



class Horizon(IntEnum):
    """The published horizons in weeks (``continuity.horizons``); an enum so the query string '13' validates."""

    weeks_13 = 13
    weeks_26 = 26
    weeks_52 = 52


assert tuple(Horizon) == HORIZONS, "the API's horizons are the published ones"


class RiskOrder(str, Enum):
    """What orders the risk list: the probability of leaving, or the clients at stake (the expected exposure,
    probability x weighted clients). Either way a worker whose probability is withheld comes last, by worker id."""

    probability = "probability"
    exposure = "exposure"

Week = Annotated[date, Field(description="The score date (a Monday) of the published week this answer comes from.")]


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, naming the id or the missing data.")


# Answers every protected route can give, declared once for the OpenAPI document.
UNAUTHENTICATED = {401: {"model": Problem, "description": "No token, or an unknown or revoked one."}}
NOT_PUBLISHED = {503: {"model": Problem, "description": "No week published yet."}}


class Driver(BaseModel):
    feature: str = Field(description="The driver's name (continuity.models.explanation): one snapshot feature or "
                         "several read as one, such as caseload, its ratio to the norm and 'above the norm'.")
    label: str = Field(description="The driver as a sentence with the worker's own figure and a reference, "
                       "e.g. 'caseload 30% above the norm of 12 per fte (14 clients at 0.9 fte)'.")
    message: str | None = Field(default=None, description="The label's message, with its figures as named "
                                "placeholders ('caseload %(off)s%% above the norm ...'), for a client that says "
                                "the sentence in its own language; null in a week published before messages were.")
    values: dict[str, str] | None = Field(default=None, description="The figures of `message` as text: numbers "
                                          "written in English, and words such as 'weeks' that a translation also "
                                          "translates.")
    direction: str = Field(description="Whether the driver raises or lowers this worker's risk.")
    contribution: float = Field(description="The driver's log hazard ratio against the model's reference worker.")
    hazard_ratio: float = Field(gt=0, description="exp(contribution): how many times the driver multiplies the "
                                "worker's hazard of leaving voluntarily, against the reference worker.")
    actionable: bool = Field(description="Whether the organisation can act on it (caseload, pay-scale steps, "
                             "manager changes, contracts); shown first, up to three.")
    health: bool = Field(description="Health data (sick leave): shown only to hr and to the worker themself.")


INCIDENCE = ("Probability of leaving voluntarily within {h} weeks: the cumulative incidence, with dismissal, "
             "retirement and the end of a temporary contract as competing exits; calibrated per horizon. "
             "Null when withheld (see `withheld`).")
CHANGE = ("Change in p_{h}w since the previous published week; null when the worker was not scored then "
          "or the probability is withheld.")
INTERVAL = ("{end} end of the 90% interval of p_{h}w: where the rate among workers the model scores alike lies, "
            "given the weeks its calibration was learnt on. Null when withheld or when the horizon had too few "
            "leavers to calibrate.")
EXPECTED_EXPOSURE = ("P(leave within {h} weeks) x weighted clients; null when the probability is withheld, "
                     "which it would reveal beside weighted_clients.")
WEIGHTED_CLIENTS = ("Weighted exposure: the sum of the clients' relational exposure to this worker leaving, each "
                    "client counted by what the loss costs them (usual provider, bond, need, continuity at stake).")
WITHHELD = ("Why this worker's probabilities are not shown: the fairness audit found the model unreliable for a "
            "group they belong to. Null when they are shown; when set, every probability, change and interval is null.")


class DepartureReason(str, Enum):
    """Why a departure is known (``continuity.features.known_departures``)."""

    notice = "notice"
    contract_end = "contract_end"


class KnownDeparture(BaseModel):
    last_day: date = Field(description="The planned last day: the notice's, or the end of the temporary contract.")
    reason: DepartureReason = Field(
        description="notice: the worker gave notice; contract_end: a temporary contract ends within 52 weeks with no "
                    "renewal known (the organisation may still prevent it by renewing).")


KNOWN_DEPARTURE = ("The worker's known departure, beside (not instead of) the model's probabilities: a notice given, "
                   "or a temporary contract ending within 52 weeks unrenewed; null when none is known at the score "
                   "date.")


class RiskItem(BaseModel):
    worker_id: str
    organisation_id: str
    team_id: str
    occupation: str | None = Field(description="Occupation as in the HR export; null when the export does not give it.")
    p_13w: float | None = Field(ge=0, le=1, description=INCIDENCE.format(h=13))
    p_26w: float | None = Field(ge=0, le=1, description=INCIDENCE.format(h=26))
    p_52w: float | None = Field(ge=0, le=1, description=INCIDENCE.format(h=52))
    p_13w_low: float | None = Field(ge=0, le=1, description=INTERVAL.format(end="Lower", h=13))
    p_13w_high: float | None = Field(ge=0, le=1, description=INTERVAL.format(end="Upper", h=13))
    p_26w_low: float | None = Field(ge=0, le=1, description=INTERVAL.format(end="Lower", h=26))
    p_26w_high: float | None = Field(ge=0, le=1, description=INTERVAL.format(end="Upper", h=26))
    p_52w_low: float | None = Field(ge=0, le=1, description=INTERVAL.format(end="Lower", h=52))
    p_52w_high: float | None = Field(ge=0, le=1, description=INTERVAL.format(end="Upper", h=52))
    withheld: str | None = Field(description=WITHHELD)
    p_13w_change: float | None = Field(description=CHANGE.format(h=13))
    p_26w_change: float | None = Field(description=CHANGE.format(h=26))
    p_52w_change: float | None = Field(description=CHANGE.format(h=52))
    rank: int | None = Field(ge=1, description="Position in the sector-wide list of the week, 1 = highest p_26w, among "
                             "the workers whose probabilities are shown. Null when withheld: a place in the list "
                             "would tell the probability.")
    drivers: list[Driver] = Field(description="The three strongest drivers the organisation can act on, then up "
                                  "to two others; each changes the hazard by at least 5%.")
    relative_hazard: float = Field(gt=0, description="The worker's hazard of leaving voluntarily against the model's "
                                   "reference worker (none of the known causes of leaving, the training average "
                                   "otherwise): the product of the drivers' hazard ratios and other_factors.")
    other_factors: float = Field(gt=0, description="Hazard ratio of everything the drivers shown leave out (for "
                                 "managers and admins, health data included).")
    active_clients: int = Field(ge=0, description="Clients with an open assignment to the worker.")
    weighted_clients: float = Field(ge=0, description=WEIGHTED_CLIENTS)
    expected_exposure_13w: float | None = Field(ge=0, description=EXPECTED_EXPOSURE.format(h=13))
    expected_exposure_26w: float | None = Field(ge=0, description=EXPECTED_EXPOSURE.format(h=26))
    expected_exposure_52w: float | None = Field(ge=0, description=EXPECTED_EXPOSURE.format(h=52))
    known_departure: KnownDeparture | None = Field(default=None, description=KNOWN_DEPARTURE)

    @model_validator(mode="after")
    def _withhold(self) -> Self:
        """The week keeps a withheld probability for the sector's totals; no answer about the person shows it."""
        if self.withheld is not None:
            for h in HORIZONS:
                for suffix in ("", "_change", "_low", "_high"):
                    setattr(self, f"p_{h}w{suffix}", None)
                setattr(self, f"expected_exposure_{h}w", None)
        return self


class RiskList(BaseModel):
    week: Week
    horizon: Horizon = Field(description="The horizon in weeks whose probability, or expected exposure, orders the list.")
    sort: RiskOrder = Field(description="What orders the list: probability (highest first) or exposure (the "
                            "clients at stake: highest expected exposure at the horizon first).")
    total: int = Field(ge=0, description="Number of scored workers matching the filters, over all pages.")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    items: list[RiskItem] = Field(description="One page of workers, highest first by `sort` at the horizon; workers "
                                  "whose probability is withheld after all others, by worker id, so that their "
                                  "place says nothing of it.")


class SurvivalPoint(BaseModel):
    week: int = Field(ge=0, description="Weeks after the score date.")
    survival: float = Field(ge=0, le=1, description="Probability that the worker has not left voluntarily that many "
                            "weeks later (1 minus the cumulative incidence; it passes through p_13w, p_26w and p_52w).")


class WorkerRisk(RiskItem):
    week: Week
    survival: list[SurvivalPoint] = Field(description="Survival curve, week 0 to 52; empty when withheld.")
    model_name: str = Field(description="Registered model that produced the score.")
    model_version: str = Field(description="Version of that model.")

    @model_validator(mode="after")
    def _withhold_curve(self) -> Self:
        """The curve passes through the probabilities at 13, 26 and 52 weeks: withheld with them."""
        if self.withheld is not None:
            self.survival = []
        return self




CASE_NUMBER = ("The organisation's own case number for the client, from the lookup it loaded (`continuity "
               "case-numbers load`); given to hr and manager tokens only, each showing audited. Null for other "
               "tokens and for a client the lookup lacks.")


EXPECTED_CLIENTS = ("P(leave within {h} weeks) x active clients: how many of the worker's clients are expected to "
                    "lose them within {h} weeks, a count of people; null when the probability is withheld.")


class ExposureSummary(BaseModel):
    active_clients: int = Field(ge=0, description="Clients with an open assignment to the worker.")
    vulnerable_clients: int = Field(ge=0, description="Of those, clients with at least one vulnerability flag.")
    mean_relationship_weeks: float | None = Field(
        description="Mean length of the worker's client relationships in weeks; null when the worker has no clients."
    )
    weighted_clients: float = Field(ge=0, description=WEIGHTED_CLIENTS)
    expected_clients_13w: float | None = Field(ge=0, description=EXPECTED_CLIENTS.format(h=13))
    expected_clients_26w: float | None = Field(ge=0, description=EXPECTED_CLIENTS.format(h=26))
    expected_clients_52w: float | None = Field(ge=0, description=EXPECTED_CLIENTS.format(h=52))
    expected_exposure_13w: float | None = Field(ge=0, description=EXPECTED_EXPOSURE.format(h=13))
    expected_exposure_26w: float | None = Field(ge=0, description=EXPECTED_EXPOSURE.format(h=26))
    expected_exposure_52w: float | None = Field(ge=0, description=EXPECTED_EXPOSURE.format(h=52))


NO_CLIENTS = {
    "active_clients": 0,
    "vulnerable_clients": 0,
    "mean_relationship_weeks": None,
    "weighted_clients": 0.0,
    **{f"expected_clients_{h}w": 0.0 for h in HORIZONS},
    "expected_exposure_13w": 0.0,
    "expected_exposure_26w": 0.0,
    "expected_exposure_52w": 0.0,
}
"""The exposure summary of a worker without clients (who has no row in worker_exposure)."""


class ClientExposure(BaseModel):
    client_id: str = Field(description="Pseudonymised client id (keyed hash); no client names are held.")
    role: str = Field(description="The worker's role for this client: primary or secondary.")
    domain: str = Field(description="wmo, jeugd or participatie.")
    complexity: int = Field(ge=1, le=5, description="Case complexity, 1-5.")
    vulnerable: bool = Field(description="Whether the client carries any vulnerability flag.")
    household_id: str | None = Field(default=None, description="Pseudonymised household id; null where the export "
                                     "gives none. The members of a household one worker holds share one exposure.")
    flag_out_of_home: bool = Field(description="Placed out of home at the score date.")
    replacements_24m: int = Field(ge=0, description="Re-placements of the out-of-home placement in the last 24 months.")
    relationship_weeks: float = Field(ge=0, description="Weeks since the worker took on this client.")
    contact_share: float = Field(ge=0, le=1, description="The worker's share of the client's contacts in the window.")
    usual_provider: bool = Field(description="Whether the worker is the client's usual provider (largest contact share).")
    upc: float | None = Field(
        description="Usual provider continuity: largest share of the client's contacts with one worker; "
        "null when the client has no contacts in the window."
    )
    coc: float | None = Field(
        description="Bice-Boxerman continuity of care. Needs at least 2 contacts in the window; null when undefined."
    )
    secon: float | None = Field(
        description="Share of consecutive contact pairs with the same worker; null with fewer than 2 contacts."
    )
    mmci: float | None = Field(
        description="Modified modified continuity index; null when the client has no contacts in the window."
    )
    kpc: float | None = Field(
        description="Known provider continuity: share of contacts with a worker the client had seen in the prior year; "
        "null for a client who knew no worker then (a new client has no familiar face to keep yet)."
    )
    team_continuity: float | None = Field(
        description="Share of contacts with the client's small stable team (up to three faces of one team): care the "
        "sector accepts although the per-person indices score it low; null without contacts in the window."
    )
    distinct_workers_12m: int = Field(ge=0, description="Distinct workers the client saw in the last 12 months.")
    handovers_12m: int = Field(ge=0, description="Handovers the client experienced in the last 12 months.")
    distinct_workers_24m: int = Field(ge=0, description="Distinct workers the client saw in the last 24 months; each "
                                      "beyond the first makes one more loss costlier.")
    coc_drop: float = Field(
        description="Drop in the client's COC if this worker's contacts were gone; 0 when the client's COC is undefined."
    )
    exposure: float = Field(ge=0, description="What this worker leaving would cost this client (relational exposure).")
    case_number: str | None = Field(default=None, description=CASE_NUMBER)


class WorkerExposure(BaseModel):
    worker_id: str
    week: Week
    summary: ExposureSummary
    clients: list[ClientExposure] = Field(description="The worker's clients, most exposed first.")


class TeamWorker(BaseModel):
    worker_id: str
    occupation: str | None
    probability: float | None = Field(ge=0, le=1, description="Probability of leaving voluntarily within the horizon, "
                                      "competing exits accounted for; null when withheld.")
    probability_low: float | None = Field(ge=0, le=1, description="Lower end of its 90% interval; null when withheld "
                                          "or not calibrated.")
    probability_high: float | None = Field(ge=0, le=1,
                                           description="Upper end of its 90% interval; null as the lower end.")
    withheld: str | None = Field(description=WITHHELD)
    change: float | None = Field(description="Change in that probability since the previous week; null for a worker "
                                 "not scored then or withheld.")
    active_clients: int = Field(ge=0)
    vulnerable_clients: int = Field(ge=0)
    weighted_clients: float = Field(ge=0, description=WEIGHTED_CLIENTS)
    expected_clients: float | None = Field(ge=0, description="Probability x active clients: how many of the worker's "
                                           "clients are expected to lose them; null when the probability is withheld.")
    expected_exposure: float | None = Field(ge=0, description="Probability x weighted clients: the expected weighted "
                                            "exposure; null when the probability is withheld.")


class TrustedClient(BaseModel):
    client_id: str = Field(description="Pseudonymised client id (keyed hash).")
    worker_id: str = Field(description="The team member who is this client's usual provider.")
    domain: str
    complexity: int = Field(ge=1, le=5)
    vulnerable: bool
    relationship_weeks: float = Field(ge=0)
    exposure: float = Field(ge=0, description="What the worker leaving would cost this client.")
    probability: float | None = Field(ge=0, le=1, description="The worker's probability of leaving within the horizon; "
                                      "null when withheld.")
    expected_loss: float | None = Field(ge=0, description="Probability x exposure; null when the probability is withheld.")
    case_number: str | None = Field(default=None, description=CASE_NUMBER)


class ClientToHandOver(BaseModel):
    client_id: str = Field(description="Pseudonymised client id (keyed hash).")
    domain: str
    complexity: int = Field(ge=1, le=5)
    vulnerable: bool
    case_number: str | None = Field(default=None, description=CASE_NUMBER)


class TeamDeparture(KnownDeparture):
    worker_id: str
    clients: list[ClientToHandOver] = Field(
        description="The worker's open primary clients, who need a successor: what the handover plan places.")


class TeamView(BaseModel):
    team_id: str
    organisation_id: str
    week: Week
    horizon: Horizon
    model_name: str
    model_version: str
    expected_clients_affected: float = Field(
        ge=0, description="Sum of the workers' expected exposure (weighted, not a count of people). "
        "Workers whose probability is withheld are not counted: their share would be the total less the others'."
    )
    clients_at_stake: int = Field(ge=0, description="Clients whose usual provider is in this team (the `clients` listed).")
    expected_clients_at_stake: float = Field(
        ge=0, description="Of clients_at_stake, how many are expected to lose their trusted worker within the horizon: "
        "the sum of their usual providers' probabilities, withheld ones not counted."
    )
    workers: list[TeamWorker] = Field(description="The team's scored workers, highest probability first.")
    clients: list[TrustedClient] = Field(
        description="Clients whose usual provider is in this team: vulnerable first, then by complexity and exposure."
    )
    known_departures: list[TeamDeparture] = Field(
        default_factory=list, description="Team members with a known last day, soonest first, with the clients they "
        "hand over.")


class AuditEntry(BaseModel):
    id: int
    at: datetime = Field(description="When the read happened (UTC).")
    token_id: str = Field(description="Id of the token that read (never the token itself).")
    role: str
    endpoint: str = Field(description="Method and route, e.g. 'GET /workers/{worker_id}'.")
    status: int = Field(description="200: the data was returned; 403: the attempt was refused, outside the token's "
                                    "role or scope.")
    parameters: dict[str, str] | None = Field(
        description="The request's path and query parameters, e.g. {'team_id': 'team-a1', 'horizon': '13'}: what "
                    "was asked for. Null for entries logged before parameters were recorded.")
    worker_ids: list[str] = Field(description="The workers whose data was returned; for a refused attempt, those asked for.")


class AuditPage(BaseModel):
    total: int = Field(ge=0, description="Entries matching the filters, over all pages.")
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    items: list[AuditEntry] = Field(description="Newest first.")


class LastRun(BaseModel):
    started_at: datetime = Field(description="When the last weekly run started (UTC).")
    ended_at: datetime | None = Field(description="When it ended (UTC); null while it runs, or when it was killed "
                                      "before it could record its end.")
    succeeded: bool | None = Field(description="Whether it published its week; null while it runs.")
    flow_run_id: str | None = Field(description="The run in the Prefect UI, with its task states and logs.")


class Health(BaseModel):
    status: str = Field(description="ok when a week is published and served; no_data otherwise.")
    week: date | None = Field(description="Latest published score week; null when none.")
    workers_scored: int = Field(ge=0, description="Workers scored in that week.")
    model_name: str | None = Field(description="Registered model that produced the week's scores.")
    model_version: str | None = Field(description="Its version.")
    detail: str | None = Field(default=None, description="Why no week is served, when status is no_data.")
    data_end: date | None = Field(
        default=None, description="The last day the served week's data records anything; null when none is served "
        "(or the week was published before this was kept).")
    last_run: LastRun | None = Field(default=None, description="The last weekly run; null when none is recorded.")
    up_to_date: bool = Field(
        default=False, description="False when the list is older than its weekly schedule (the score week more than "
        f"{SCHEDULE.days} days plus a {GRACE.days}-day grace old), when the last run failed, or when nothing is "
        "published.")
    behind: str | None = Field(default=None, description="Why the list is not up to date, in one sentence; null "
                               "when it is.")
