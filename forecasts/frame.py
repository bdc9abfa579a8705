"""The frames the sector aggregates and scenarios are computed from, read from the published week.

``aggregate_forecast`` wants one row per scored worker with every grouping column
(region, organisation, main domain, occupation; team for the insider checks of the
suppression), the published probabilities and the worker's weighted clients, and one
row per worker who left voluntarily in the year before the score date with the same
groupings; each worker's ``move_share`` splits their voluntary leaving into moves to another
employer and leaving the sector (``destination_model``; empty where the week cannot tell).
Region, occupation and main domain are the published snapshot's at the score date
(``features/situation.py``), so they agree with what the model scored. The week's
``interval_frailty`` says how much its workers leave together (``forecasts.dispersion``), and its
``suppression`` which cells the aggregates may publish (``aggregates.pattern_table``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from continuity.forecasts.aggregates import adopt_pattern
from continuity.forecasts.dispersion import published_frailty
from continuity.forecasts.intervals import Frailty
from continuity.horizons import horizons_in, risk_column
from continuity.publication import Publication


@dataclass(frozen=True)
class ForecastFrame:
    """The scored workers of one week and last year's voluntary leavers, each with every grouping column."""

    score_date: date
    workers: pd.DataFrame  # worker_id, organisation_id, team_id, region, occupation, domain, p_<h>w, weighted_clients
    leavers: pd.DataFrame  # worker_id, organisation_id, team_id, region, occupation, domain
    snapshot: pd.DataFrame  # the model's input at the score date, for re-scoring scenarios
    frailty_table: pd.DataFrame  # horizon, team, organisation: the published interval_frailty
    destinations: str | None = None  # why the move shares are unknown (workers.move_share empty); None: known

    def frailty(self, horizon: int) -> Frailty:
        return published_frailty(self.frailty_table, horizon)


def forecast_frame(publication: Publication) -> ForecastFrame:
    risk = publication.arrow("risk_scores", drop=("drivers",)).to_pandas()  # the drivers: 300 MB at 150,000 workers
    snapshot = publication.table("worker_snapshot")
    weighted = publication.table("worker_exposure").set_index("worker_id")["weighted_clients"]
    workers = grouped_workers(risk, snapshot)
    workers["weighted_clients"] = workers.worker_id.map(weighted).fillna(0.0)
    leavers = publication.table("voluntary_leavers")
    try:
        adopt_pattern(workers, leavers, publication.table("suppression"))
    except FileNotFoundError:  # a week published before the pattern was: decided on first use
        pass
    try:
        frailty = publication.table("interval_frailty")
    except FileNotFoundError:  # a week published before the frailty was: independent leaving
        frailty = pd.DataFrame(columns=["horizon", "team", "organisation", "cohorts"])
    workers["move_share"], unknown = _move_shares(publication, workers.worker_id)
    return ForecastFrame(publication.score_date, workers, leavers, snapshot, frailty, unknown)


def grouped_workers(risk: pd.DataFrame, snapshot: pd.DataFrame) -> pd.DataFrame:
    """The scored workers (``risk_scores``) with their probabilities and every grouping column (``worker_snapshot``):
    what the weekly run decides the pattern on and the service answers from."""
    workers = risk[["worker_id", "organisation_id", "team_id", *map(risk_column, horizons_in(risk.columns))]]
    return workers.merge(snapshot[["worker_id", "region", "occupation", "domain"]], on="worker_id")


def _move_shares(publication: Publication, worker_id: pd.Series) -> tuple[pd.Series, str | None]:
    """Each worker's share of voluntary leaving that is a move to another employer (``move_shares``), and why it
    is unknown when it is (then every share is empty): the week's destination model said so, or the week was
    published before destinations were."""
    try:
        shares, model = publication.table("move_shares"), publication.table("destination_model")
    except FileNotFoundError:
        return pd.Series(float("nan"), index=worker_id.index), "the week was published before destinations were"
    share = worker_id.map(shares.set_index("worker_id")["move_share"]).astype(float)
    reason = None if model.empty or model.status.iloc[0] == "known" else str(model.reason.iloc[0])
    if reason is None and share.isna().any():
        reason = "the week has no move share for some of its workers"
    return share, reason
