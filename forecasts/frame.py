"""The frames the sector aggregates and scenarios are computed from, read from the published week.

``aggregate_forecast`` wants one row per scored worker with every grouping column
(region, organisation, main domain, occupation; team for the insider checks of the
suppression), the published probabilities and the worker's weighted clients, and one
row per worker who left voluntarily in the year before the score date with the same
groupings. Region, occupation and main domain are the published snapshot's at the score
date (``features/situation.py``), so they agree with what the model scored. The week's
``interval_frailty`` says how much its workers leave together (``forecasts.dispersion``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

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

    def frailty(self, horizon: int) -> Frailty:
        return published_frailty(self.frailty_table, horizon)


def forecast_frame(publication: Publication) -> ForecastFrame:
    risk = publication.table("risk_scores")
    snapshot = publication.table("worker_snapshot")
    weighted = publication.table("worker_exposure").set_index("worker_id")["weighted_clients"]
    workers = risk[["worker_id", "organisation_id", "team_id", *map(risk_column, horizons_in(risk.columns))]]
    workers = workers.merge(snapshot[["worker_id", "region", "occupation", "domain"]], on="worker_id")
    workers["weighted_clients"] = workers.worker_id.map(weighted).fillna(0.0)
    try:
        frailty = publication.table("interval_frailty")
    except FileNotFoundError:  # a week published before the frailty was: independent leaving
        frailty = pd.DataFrame(columns=["horizon", "team", "organisation", "cohorts"])
    return ForecastFrame(publication.score_date, workers, publication.table("voluntary_leavers"), snapshot, frailty)
