"""What-if scenarios for sector bodies: re-score this week's workers with some drivers changed.

Each scenario rewrites snapshot features the sector can act on (funding-contract length,
caseload, pay-scale steps) and the champion forecaster scores the changed snapshot; the
answer is the difference from the same forecaster on the unchanged snapshot, so a
calibration gap between the model and the published week cannot pose as an effect.

The difference is *model-based, not causal*: the model learnt associations from the
history, and a policy that moves one feature also moves others the model holds fixed.
Figures are sector-wide totals, and per organisation with the aggregates' suppression
pattern (``aggregates``), so a scenario reveals no cell the aggregates hide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from continuity.horizons import risk_column
from continuity.models.base import Forecaster
from continuity.forecasts.aggregates import aggregate_forecast
from continuity.forecasts.frame import ForecastFrame

LABEL = "model-based, not causal"
LONG_CONTRACT_MONTHS = 72  # "longer municipal contracts (> 6 years)", docs/evidence.md#tenders-and-funding-contracts
SCALE_STEP_EVERY_WEEKS = 156  # a step every 3 years


def _long_funding_contracts(snapshot: pd.DataFrame) -> pd.DataFrame:
    return snapshot.assign(months_to_funding_end=snapshot.months_to_funding_end.clip(lower=LONG_CONTRACT_MONTHS),
                           lost_tender=snapshot.lost_tender.where(snapshot.lost_tender.isna(), 0))


def _caseload_at_norm(snapshot: pd.DataFrame) -> pd.DataFrame:
    over = snapshot.caseload_ratio > 1
    return snapshot.assign(caseload=snapshot.caseload.where(~over, snapshot.caseload / snapshot.caseload_ratio),
                           caseload_ratio=snapshot.caseload_ratio.clip(upper=1.0))


def _regular_scale_steps(snapshot: pd.DataFrame) -> pd.DataFrame:
    return snapshot.assign(weeks_since_scale_step=snapshot.weeks_since_scale_step.clip(upper=SCALE_STEP_EVERY_WEEKS))


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    change: Callable[[pd.DataFrame], pd.DataFrame]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("long_funding_contracts",
             "every municipal funding contract runs at least 6 more years and no tender is lost "
             f"(months_to_funding_end >= {LONG_CONTRACT_MONTHS}, lost_tender = 0)", _long_funding_contracts),
    Scenario("caseload_at_norm",
             "no caseload above the norm of 12 clients per fte (caseload_ratio <= 1, caseload scaled down to it)",
             _caseload_at_norm),
    Scenario("regular_scale_steps",
             f"a pay-scale step at least every 3 years (weeks_since_scale_step <= {SCALE_STEP_EVERY_WEEKS})",
             _regular_scale_steps),
)}


def _changed(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Rows where any feature changed; NaN equal to NaN."""
    same = (before == after) | (before.isna() & after.isna())
    return ~same.all(axis=1).to_numpy()


def _figures(workers: pd.DataFrame, p: np.ndarray) -> dict[str, float]:
    return {"expected_leavers": float(p.sum()),
            "expected_clients_affected": float((p * workers.weighted_clients.to_numpy(dtype=float)).sum())}


def _by_organisation(frame: ForecastFrame, column: str, baseline: np.ndarray, changed: np.ndarray) -> list[dict]:
    """Per organisation, baseline and scenario, with the joint suppression pattern of the aggregates."""
    horizon = int(column[2:-1])
    cells = {}
    for name, p in (("baseline", baseline), ("scenario", changed)):
        workers = frame.workers.assign(**{column: p})
        cells[name] = aggregate_forecast(workers, "organisation", horizon, leavers=frame.leavers)
    rows = []
    for before, after in zip(cells["baseline"], cells["scenario"]):
        if before.suppressed:
            rows.append({"key": before.key, "workers": None, "baseline": None, "with_scenario": None,
                         "change": None, "suppressed": True})
            continue
        base = {"expected_leavers": before.expected_leavers,
                "expected_clients_affected": before.expected_clients_affected}
        new = {"expected_leavers": after.expected_leavers, "expected_clients_affected": after.expected_clients_affected}
        rows.append({"key": before.key, "workers": before.workers, "baseline": base, "with_scenario": new,
                     "change": {k: new[k] - base[k] for k in base}, "suppressed": False})
    return rows


def run_scenario(forecaster: Forecaster, frame: ForecastFrame, scenario: str, horizon: int) -> dict:
    """Baseline and scenario expected leavers and affected clients within ``horizon`` weeks, and the change."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    chosen = SCENARIOS[scenario]
    snapshot = frame.snapshot.set_index("worker_id").loc[frame.workers.worker_id].reset_index()
    changed_snapshot = chosen.change(snapshot)
    column = risk_column(horizon)
    baseline = forecaster.predict_risk(snapshot, (horizon,))[column].to_numpy(dtype=float)
    changed = forecaster.predict_risk(changed_snapshot, (horizon,))[column].to_numpy(dtype=float)
    before, after = _figures(frame.workers, baseline), _figures(frame.workers, changed)
    features = [c for c in snapshot.columns if c in changed_snapshot.columns]
    return {
        "scenario": chosen.name, "description": chosen.description, "horizon": horizon, "label": LABEL,
        "week": frame.score_date, "workers": len(snapshot),
        "workers_changed": int(_changed(snapshot[features], changed_snapshot[features]).sum()),
        "baseline": before, "with_scenario": after,
        "change": {key: after[key] - before[key] for key in before},
        "by_organisation": _by_organisation(frame, column, baseline, changed),
    }
