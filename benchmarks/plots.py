"""The backtest's pictures, as PNG files an analyst or a works council can open without Python.

Matplotlib's Agg backend: no display is needed on the machine that runs the flow.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def calibration_curve(tables: dict[str, pd.DataFrame], horizon: int, path: Path) -> Path:
    """Observed against predicted leaving per risk decile, one line per source; the diagonal is perfect."""
    fig, ax = plt.subplots(figsize=(5, 5))
    top = max(max(t["expected"].max(), t["observed"].max()) for t in tables.values())
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="perfect")
    for name, table in tables.items():
        ax.plot(table["expected"], table["observed"], marker="o", label=name)
    ax.set(xlabel=f"predicted P(leave within {horizon} weeks)", ylabel="observed share who left",
           title=f"Calibration by risk decile, {horizon} weeks")
    ax.legend()
    return _save(fig, path)


def survival_curves(weeks: np.ndarray, survival: pd.DataFrame, path: Path) -> Path:
    """P(not yet left voluntarily) over the weeks ahead for a few sample workers (columns: their labels).

    One minus the cumulative incidence of voluntary leaving, as the worker page shows it.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in survival.items():
        ax.step(weeks, curve, where="post", label=str(label))
    ax.set(xlabel="weeks ahead", ylabel="P(not yet left voluntarily)", ylim=(0, 1.02),
           title="Survival curves of sample workers")
    ax.legend(fontsize="small")
    return _save(fig, path)


def lead_time_histogram(lead_weeks: dict[str, pd.Series], path: Path) -> Path:
    """Weeks between first making the top-decile list and leaving, per source; never-listed leavers excluded."""
    fig, ax = plt.subplots(figsize=(6, 4))
    values = {name: lead.dropna() for name, lead in lead_weeks.items()}
    longest = max((v.max() for v in values.values() if len(v)), default=1.0)
    bins = np.arange(0, np.ceil(longest) + 2, 2)
    for name, lead in values.items():
        ax.hist(lead, bins=bins, alpha=0.5, label=f"{name} (median {lead.median():.1f} w)")
    ax.set(xlabel="weeks of warning before leaving", ylabel="leavers", title="Early-warning lead time")
    ax.legend()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
