"""The quality benchmark: a backtest on the default synthetic sector (and the IBM file), on record.

`quality_benchmark` writes the issue's JSON; `log_backtest` keeps any backtest
in MLflow with its figures per origin and pooled, and the plots as PNG files.
The synthetic sector is generated, ingested and snapshotted once into
`<home>/bench/`, kept apart from the warehouse the weekly flow serves from, so
the benchmark always measures the same default sector whatever was ingested.
"""

from __future__ import annotations

import json
import math
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd

from continuity.config import Settings
from continuity.benchmarks import plots
from continuity.models.backtest import ORACLE, Backtest, rolling_backtest
from continuity.models.registry import experiment_id, tracking_client
from continuity.models.tabular import evaluate_csv

BENCH_WORKERS, BENCH_YEARS, BENCH_SEED = 2000, 5, 0
IBM_DROP = ("EmployeeNumber", "EmployeeCount", "Over18", "StandardHours")
# The benchmark figures per source; the backtest computes more (see `continuity.models.metrics`).
REPORTED = ("c_index", "auc_13w", "auc_26w", "auc_52w", "ibs", "ece_26w", "top_decile_recall_26w", "median_lead_weeks")


def quality_benchmark(out_json: Path, settings: Settings) -> dict:
    """Backtest the candidates and the oracle on the default sector, add the IBM check, write and return the JSON."""
    snapshots, labels, oracle = _bench_frames(settings)
    backtest = rolling_backtest(snapshots, labels, oracle=oracle)
    log_backtest(backtest, settings, tags={"benchmark": "quality"})
    pooled = backtest.pooled
    result = {
        "synthetic": {
            "models": {name: _reported(m) for name, m in pooled.items() if name != ORACLE},
            "chosen": backtest.chosen,
            "oracle": _reported(pooled[ORACLE]),
        }
    }
    if settings.ibm_csv_path.exists():
        # ids and constants out, as issue 4 runs it; tenure-derived columns stay (AUC is the figure that counts)
        result["ibm"] = evaluate_csv(settings.ibm_csv_path, duration="YearsAtCompany", event="Attrition",
                                     drop=IBM_DROP, folds=5, repeats=3)
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=2))
    return result


def log_backtest(backtest: Backtest, settings: Settings, tags: dict[str, str] | None = None) -> str:
    """One MLflow run per backtest: pooled and per-origin figures, plots as PNG artifacts; returns the run id."""
    client = tracking_client(settings)
    with mlflow.start_run(experiment_id=experiment_id(client, settings), tags={"kind": "backtest", **(tags or {})}) \
            as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({"origins": ",".join(f"{o.date:%Y-%m-%d}" for o in backtest.origins),
                           "horizons": ",".join(map(str, backtest.horizons)), "chosen": backtest.chosen})
        figures = {f"{name}.{k}": v for name, m in backtest.pooled.items() for k, v in m.items()}
        for o in backtest.origins:
            figures |= {f"{name}.{k}.{o.date:%Y%m%d}": v for name, m in o.metrics.items() for k, v in m.items()}
        mlflow.log_metrics({k: float(v) for k, v in figures.items() if math.isfinite(v)})
        for path in _plots(backtest, Path(tmp)):
            mlflow.log_artifact(str(path), artifact_path="plots")
    return run.info.run_id


def _plots(backtest: Backtest, folder: Path) -> list[Path]:
    latest = backtest.origins[-1].scored[backtest.chosen]
    risk = latest.risk[f"p_{min(26, max(backtest.horizons))}w"].to_numpy()
    order = np.argsort(risk)
    sample = {f"risk percentile {q}": order[min(len(order) - 1, int(q / 100 * len(order)))] for q in (10, 50, 90, 99)}
    weeks = np.arange(1, latest.incidence.shape[1] + 1)
    curves = pd.DataFrame({label: 1 - latest.incidence[row] for label, row in sample.items()})
    lead = {name: pd.concat([o.scored[name].lead_weeks for o in backtest.origins]) for name in backtest.sources}
    return [
        *(plots.calibration_curve(backtest.calibration_tables(h), h, folder / f"calibration_{h}w.png")
          for h in backtest.horizons),
        plots.survival_curves(weeks, curves, folder / "survival_curves.png"),
        plots.lead_time_histogram(lead, folder / "lead_time.png"),
    ]


def _reported(metrics: dict) -> dict:
    return {k: float(metrics[k]) for k in REPORTED if k in metrics}


def _bench_frames(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The default sector's snapshots, labels and oracle, built on first use."""
    from continuity.features.ingest import ingest_dir
    from continuity.features.snapshots import build_snapshots
    from continuity.synth.generate import generate_sector
    from continuity.warehouse import connect, has_table, replace_table

    folder = settings.home / "bench"
    warehouse = folder / "warehouse.duckdb"
    with connect(warehouse) as con:
        if not has_table(con, "snapshots"):
            summary = generate_sector(folder / "sector", workers=BENCH_WORKERS, years=BENCH_YEARS, seed=BENCH_SEED)
            ingest_dir(folder / "sector" / "exports", warehouse, export_date=date.fromisoformat(summary.to_json()["export_date"]),
                       pseudonym_key=settings.pseudonym_key.get_secret_value())
            replace_table(con, "oracle_hazard", pd.read_parquet(folder / "sector" / "oracle" / "oracle_hazard.parquet"))
            build_snapshots(con)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.table("snapshots").df(), con.table("labels").df(), con.table("oracle_hazard").df()
