"""`evaluate-csv` on the IBM file and on public survival data sets, timed, against the issue's goal.

The goal: the model the nested selection picks beats the best of Cox, the random
survival forest and XGBoost AFT by more than one fold's standard deviation (of
that best baseline) on the data set's own metric. Each data set is written to a
CSV first and run through `evaluate_csv`, so the figures are those of the command
an analyst would run. The IBM file is chosen by ROC AUC (its tenure-derived
columns inflate any C-index); the medical data sets by Harrell's C-index.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from continuity.benchmarks.quality import IBM_DROP
from continuity.config import Settings
from continuity.models.tabular import DEFAULT_TIME_BUDGET, METRICS, evaluate_csv

BASELINES = ("cox", "random_survival_forest", "xgboost_aft")


@dataclass(frozen=True)
class SurvivalFile:
    load: Callable[[], pd.DataFrame]  # one row per person, the duration and event columns included
    duration: str
    event: str
    metric: str = "c-index"
    drop: tuple[str, ...] = ()


def _sksurv(loader: Callable[[], tuple[pd.DataFrame, object]]) -> Callable[[], pd.DataFrame]:
    """A scikit-survival data set as one table: its covariates plus `time` and `event` (0/1)."""

    def load() -> pd.DataFrame:
        covariates, outcome = loader()
        event, duration = outcome.dtype.names
        return covariates.assign(time=outcome[duration], event=outcome[event].astype(int))

    return load


def public_files() -> dict[str, SurvivalFile]:
    from lifelines.datasets import load_rossi
    from sksurv.datasets import load_gbsg2, load_veterans_lung_cancer, load_whas500

    return {
        "rossi": SurvivalFile(load_rossi, "week", "arrest"),
        "whas500": SurvivalFile(_sksurv(load_whas500), "time", "event"),
        "gbsg2": SurvivalFile(_sksurv(load_gbsg2), "time", "event"),
        "veterans": SurvivalFile(_sksurv(load_veterans_lung_cancer), "time", "event"),
    }


def survival_files_benchmark(out_json: Path, settings: Settings, time_budget: float = DEFAULT_TIME_BUDGET,
                             folds: int = 5, repeats: int = 1) -> dict:
    """Evaluate every file (the IBM one where it exists), time each run, judge the goal; write and return the JSON."""
    files = public_files()
    if settings.ibm_csv_path.exists():
        files = {"ibm": SurvivalFile(lambda: pd.read_csv(settings.ibm_csv_path), "YearsAtCompany", "Attrition",
                                     metric="auc", drop=IBM_DROP)} | files
    result = {}
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in files.items():
            path = Path(tmp) / f"{name}.csv"
            spec.load().to_csv(path, index=False)
            start = time.monotonic()
            figures = evaluate_csv(path, spec.duration, spec.event, drop=spec.drop, folds=folds, repeats=repeats,
                                   metric=spec.metric, time_budget=time_budget)
            result[name] = figures | {"seconds": round(time.monotonic() - start, 1), "goal": goal(figures)}
            # written after every data set: a run of many minutes keeps what it measured if stopped
            out_json.write_text(json.dumps(result, indent=2))
    return result


def goal(figures: dict) -> dict:
    """The nested selection's figure against the best baseline's mean plus one of its fold standard deviations."""
    key = METRICS[figures["metric"]]
    best = max(BASELINES, key=lambda name: figures["models"][name][key])
    baseline, sd = figures["models"][best][key], figures["models"][best][f"{key}_std"]
    selected = figures["selection"][key]
    return {"metric": figures["metric"], "best_baseline": best, "baseline": baseline, "baseline_std": sd,
            "selection": selected, "margin": selected - baseline, "met": selected - baseline > sd}
