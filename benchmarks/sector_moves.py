"""``sector.sector_vs_moves`` of the quality benchmark: forecast movers and leavers of the sector against what happened.

At each origin t the active workers' probabilities of leaving voluntarily within h weeks (the chosen
model's, fitted before t; and the oracle's, the synthetic sector's true hazards, at more origins) are
split by the destination model fitted on the exits whose destination was known before t
(``continuity.features.destinations``): forecast moves = sum of p x pi(x), forecast leavers of the
sector = sum of p x (1 - pi(x)). Realised are the same workers' voluntary exits within h weeks, each
with its destination as the whole export tells it (a move when the person starts elsewhere within the
window). A horizon counts only the origins whose every exit's window has passed by the data end, so no
realised destination is censored.

The split holds only if the destination does not depend on the time since the score date (competing
causes sharing the voluntary hazard): ``by_weeks_since_origin`` gives the realised share of moves among
the exits in weeks 0-13, 13-26 and 26-52 after the origins, beside the forecast share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import duckdb
import numpy as np
import pandas as pd

from continuity.features.snapshots import data_end
from continuity.features.destinations import MOVE_WINDOW_WEEKS, exit_destinations, learn_destinations
from continuity.horizons import risk_column
from continuity.models.backtest import Backtest, origin_dates
from continuity.models.metrics import Oracle

ORACLE_ORIGINS = 8
"""Quarterly origins for the oracle: two years of the bench sector's five whose 52 weeks and the move window
after them are observed."""
BANDS = ((0, 13), (13, 26), (26, 52))
TOLERANCE = 0.15
"""The target: forecast within 15% of realised movers and leavers of the sector, per horizon, pooled over origins
(a few hundred exits: the Poisson noise alone is some 5-8%)."""

Predict = Callable[[pd.Timestamp, pd.DataFrame, int], pd.Series]


def sector_vs_moves(backtest: Backtest, snapshots: pd.DataFrame, labels: pd.DataFrame,
                    warehouse: duckdb.DuckDBPyConnection, oracle: pd.DataFrame | None = None,
                    oracle_origins: int = ORACLE_ORIGINS) -> dict:
    """The JSON figure: per horizon, forecast against realised movers and leavers of the sector for the chosen
    model at the backtest's origins (those whose exits' destinations are all known), and for the oracle."""
    fitted = {o.date: o.forecasters[backtest.chosen] for o in backtest.origins}

    def predict(t: pd.Timestamp, rows: pd.DataFrame, h: int) -> pd.Series:
        return fitted[t].predict_risk(rows, (h,))[risk_column(h)]

    result = {"model": backtest.chosen, **split_against_realised(warehouse, snapshots, list(fitted),
                                                                  backtest.horizons, predict)}
    if oracle is not None:
        truth = Oracle(oracle)
        origins = origin_dates(snapshots, labels, oracle_origins, 13, max(backtest.horizons) + MOVE_WINDOW_WEEKS)
        result["oracle"] = split_against_realised(
            warehouse, snapshots, origins, backtest.horizons,
            lambda t, rows, h: truth.predict_risk(rows, (h,))[risk_column(h)])
    return result


def split_against_realised(con: duckdb.DuckDBPyConnection, snapshots: pd.DataFrame, origins: Sequence[pd.Timestamp],
                           horizons: Sequence[int], predict: Predict) -> dict:
    """Per horizon: forecast and realised moves and leavers of the sector, pooled over the origins whose exits'
    destinations are all known by the data end; and the share of moves by weeks since the origin."""
    end = pd.Timestamp(data_end(con))
    known_by = (end + pd.Timedelta(days=1)).date()
    final = exit_destinations(con, known_by).set_index("worker_id")
    dates = pd.to_datetime(snapshots["snapshot_date"])
    per_horizon: dict[int, dict] = {h: {"origins": [], "forecast_moves": 0.0, "forecast_sector": 0.0,
                                        "realised_moves": 0, "realised_sector": 0, "realised_unknown": 0}
                                    for h in horizons}
    bands = {band: {"forecast_share": [], "moves": 0, "exits": 0} for band in BANDS}
    methods = []
    for t in origins:
        t = pd.Timestamp(t)
        learned = learn_destinations(con, t.date())
        if learned.model is None:
            continue
        methods.append(learned.model.method)
        rows = snapshots[dates == t]
        share = learned.model.predict(rows.set_index("worker_id"))
        left = final[final.index.isin(rows.worker_id)]
        weeks = (pd.to_datetime(left.termination_date) - t).dt.days / 7
        for h in horizons:
            if t + pd.Timedelta(weeks=h + MOVE_WINDOW_WEEKS) >= end:
                continue  # some exits' destinations would not be known yet
            p = predict(t, rows, h).to_numpy(dtype=float)
            within = left[(weeks >= 0) & (weeks < h)].destination
            figures = per_horizon[h]
            figures["origins"].append(str(t.date()))
            figures["forecast_moves"] += float((p * share).sum())
            figures["forecast_sector"] += float((p * (1 - share)).sum())
            figures["realised_moves"] += int((within == "move").sum())
            figures["realised_sector"] += int((within == "sector").sum())
            figures["realised_unknown"] += int((~within.isin(["move", "sector"])).sum())
        if t + pd.Timedelta(weeks=max(b for _, b in BANDS) + MOVE_WINDOW_WEEKS) < end:
            p = predict(t, rows, max(b for _, b in BANDS)).to_numpy(dtype=float)
            for low, high in BANDS:
                band = left[(weeks >= low) & (weeks < high)].destination
                bands[(low, high)]["moves"] += int((band == "move").sum())
                bands[(low, high)]["exits"] += int(band.isin(["move", "sector"]).sum())
                bands[(low, high)]["forecast_share"].append(float((p * share).sum() / max(p.sum(), 1e-12)))
    out = {}
    for h, figures in per_horizon.items():
        out[str(h)] = figures | {
            "voluntary_observed_expected": _ratio(figures["realised_moves"] + figures["realised_sector"],
                                                  figures["forecast_moves"] + figures["forecast_sector"]),
            "forecast_move_share": _ratio(figures["forecast_moves"], figures["forecast_moves"] + figures["forecast_sector"]),
            "realised_move_share": _ratio(figures["realised_moves"], figures["realised_moves"] + figures["realised_sector"]),
            "moves_observed_expected": _ratio(figures["realised_moves"], figures["forecast_moves"]),
            "sector_observed_expected": _ratio(figures["realised_sector"], figures["forecast_sector"]),
            "within_tolerance": bool(figures["origins"]) and all(
                abs(_ratio(figures[f"realised_{k}"], figures[f"forecast_{k}"]) - 1) <= TOLERANCE
                for k in ("moves", "sector")),
        }
    return {"window_weeks": MOVE_WINDOW_WEEKS, "tolerance": TOLERANCE, "destination_model": methods,
            "horizons": out,
            "by_weeks_since_origin": {f"{low}-{high}": {
                "exits": b["exits"], "realised_move_share": _ratio(b["moves"], b["exits"]),
                "forecast_move_share": float(np.mean(b["forecast_share"])) if b["forecast_share"] else None}
                for (low, high), b in bands.items()}}


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b else None
