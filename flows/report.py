"""The short summary a person reads after a weekly run."""

from __future__ import annotations

import json
import math

from rich.console import Console
from rich.table import Table

from continuity.config import Settings
from continuity.features.ingest_summary import print_ingest
from continuity.warehouse import connect


ARROW = {"raises": "↑", "lowers": "↓"}
QUALITY = {"c_index": "C-index", "auc_13w": "AUC 13w", "auc_26w": "AUC 26w", "auc_52w": "AUC 52w",
           "ece_26w": "ECE 26w"}


def print_summary(console: Console, result, settings: Settings) -> None:
    print_ingest(console, result.ingest)
    console.print(f"Weekly snapshots: {result.snapshot_rows:,} worker-weeks; scored week {result.score_date}: "
                  f"{result.scored_workers:,} active workers")

    if result.metrics:
        quality = Table(title="Quality on held-out weeks (voluntary leaving)")
        quality.add_column("model")
        for column in QUALITY.values():
            quality.add_column(column, justify="right")
        for name, m in result.metrics.items():
            label = {result.chosen: f"{name} (chosen)", "incumbent": "champion before this run"}.get(name, name)
            quality.add_row(label, *(_fmt(m.get(k)) for k in QUALITY))
        console.print(quality)
        console.print(f"Chosen candidate {'became' if result.promoted else 'did NOT become'} the champion "
                      "(it must be no worse in C-index and in ECE at 26 weeks on the same weeks).")
    if result.source is not None:
        console.print(f"Model fitted on: {result.source}" + (f" ({result.reason})." if result.reason else "."))
        if not result.metrics:
            console.print("No test weeks of its own: the history only covers calibrating the base model.")

    with connect(settings.warehouse, read_only=True) as con:
        top = con.execute(
            "select rank, worker_id, organisation_id, team_id, p_13w, p_26w, p_52w, drivers from risk_scores "
            "where score_date = ? and rank is not null order by rank limit 10", [result.score_date]).fetchall()
    risk = Table(title=f"Top 10 of the risk list, week of {result.score_date} "
                       f"(model {result.model_name} v{result.model_version}; advisory)")
    for column in ("rank", "worker", "organisation", "team", "P(13w)", "P(26w)", "P(52w)", "top drivers"):
        risk.add_column(column)
    for rank, worker, org, team, p13, p26, p52, drivers in top:
        # Health drivers are for hr and the worker only, not for whoever runs the flow.
        words = "; ".join(f"{ARROW[d['direction']]} {d['label']}" for d in json.loads(drivers) if not d.get("health"))
        risk.add_row(str(rank), worker, org, team, f"{p13:.1%}", f"{p26:.1%}", f"{p52:.1%}", words)
    console.print(risk)
    console.print(f"Drift check: {len(result.alerts)} alert(s) (PSI >= 0.25, or an O/E interval wholly outside "
                  "0.8-1.25; GET /monitoring)")
    for alert in result.alerts:
        console.print(f"  alert: {alert}")
    if any(result.purged.values()):
        console.print("Retention: removed " + ", ".join(f"{rows:,} {name}" for name, rows in result.purged.items() if rows)
                      + " (continuity purge)")
    console.print(f"Warehouse: {settings.warehouse.resolve()}")
    console.print(f"MLflow store: {settings.tracking_uri} (artifacts in {settings.artifact_root}); "
                  f"browse with `.venv/bin/mlflow ui --backend-store-uri {settings.tracking_uri}`")


def _fmt(value) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"
