"""A published week made from hand-built contract tables by the weekly run's own steps, for planner tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from continuity.features.case_survival import with_handover_weight
from continuity.features.continuity_indices import continuity_indices
from continuity.features.exposure import relational_exposure
from continuity.features.feature_spec import MODEL_FEATURES, in_words
from continuity.features.situation import situation
from continuity.features.snapshots import snapshot_at
from continuity.publication import Publication, Publications
from continuity.published import TABLES


def publish_contract_week(con: duckdb.DuckDBPyConnection, t: date, risk: pd.DataFrame, root: Path) -> Publication:
    """Publish the week at t of the workers in ``risk`` (worker_id, p_13w, p_26w and optionally p_52w;
    without it the 52-week probability follows from the 26-week one under a constant hazard)."""
    snapshot = snapshot_at(con, t)
    risk = snapshot[["worker_id", "organisation_id", "team_id"]].merge(risk, on="worker_id")
    if "p_52w" not in risk.columns:
        risk["p_52w"] = 1 - (1 - risk.p_26w) ** 2
    risk = risk.assign(rank=risk.p_26w.rank(method="first", ascending=False).astype(int), drivers="[]",
                       relative_hazard=1.0, other_factors=1.0,
                       model_name="test", model_version="1",
                       **{f"p_{h}w_{part}": float("nan") for h in (13, 26, 52) for part in ("change", "low", "high")},
                       withheld=None)
    # the curves under a constant hazard through p_26w, weeks 0..52
    weeks = pd.DataFrame({"week": range(53)})
    curves = risk[["worker_id", "p_26w"]].merge(weeks, how="cross")
    curves = curves.assign(survival=(1 - curves.p_26w) ** (curves.week / 26))[["worker_id", "week", "survival"]]
    indices = continuity_indices(con, t)  # as the weekly run: once, for the exposure and the situation tables
    workers, clients = relational_exposure(con, t, risk, indices)
    clients = with_handover_weight(con, t, clients, curves)
    tables = situation(con, t, snapshot[snapshot.worker_id.isin(risk.worker_id)], indices) | {
        "risk_scores": risk, "worker_exposure": workers, "client_exposure": clients,
        "survival_curves": curves,
        "former_workers": pd.DataFrame({"worker_id": [], "organisation_id": [], "team_id": []}),
        "model_inputs": pd.DataFrame(in_words(MODEL_FEATURES)),
    }
    # What planners never read (the audit, the card, monitoring) is published empty.
    tables |= {name: pd.DataFrame(columns=table.column_names) for name, table in TABLES.items() if name not in tables}
    return Publications(root).publish(t, "test", "1", tables)
