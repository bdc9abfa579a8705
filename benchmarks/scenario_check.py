"""``sector.scenarios`` of the quality benchmark: the model-based scenarios against the re-simulated truth.

``POST /scenarios`` answers from the model (``continuity.forecasts.scenarios``): the week's workers re-scored
with a driver changed. Whether that is the policy's effect the model cannot say; on the synthetic sector the
truth can be had. At a backtest origin T the sector is simulated again from the same seed, once with the
scenario's policy in force from T (``continuity.synth.policy``) and once with a policy that changes nothing,
both with the same history before T and the same aligned draws after it; the truth is the difference in the
voluntary leaving of the workers active at T within the horizon (``continuity.synth.counterfactual``).

The model-based figure is ``run_scenario`` with the model the backtest fitted before T, on the bench sector's
snapshot at T: what the service would have answered that week. The error is model-based minus re-simulated
expected change, per horizon; the expected change (the sum of the simulated workers' weekly probabilities)
is the figure to judge by, the realised change in leavers beside it moves with chance as well. Several
futures (``replicates``, the same history with other draws after T) give the truth's spread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from continuity.forecasts.frame import ForecastFrame
from continuity.forecasts.scenarios import LABEL, SCENARIOS, run_scenario
from continuity.models.backtest import Backtest
from continuity.models.base import Forecaster
from continuity.synth.counterfactual import cohort_outflow
from continuity.synth.policy import POLICY_SCENARIOS, scenario_policy
from continuity.synth.worlds import DEFAULT_WORLD

HORIZONS = (26, 52)
REPLICATES = 4
"""Futures per policy: each re-simulation of the bench sector takes about 5 s, and four give the truth's
standard error to well under the effects measured (a few to 20 leavers in 52 weeks)."""
ORIGINS = 2
"""The latest two origins of the backtest, summed: two weeks of workers a quarter apart, about 2 minutes of
re-simulation in all."""
WORKER_COLUMNS = ("worker_id", "organisation_id", "team_id", "region", "occupation")


def scenario_check(fitted: Backtest | Mapping[pd.Timestamp, Forecaster], snapshots: pd.DataFrame, *,
                   workers: int, years: int, seed: int, world: str = DEFAULT_WORLD, start: date = date(2020, 1, 6),
                   horizons: Sequence[int] = HORIZONS, replicates: int = REPLICATES, origins: int = ORIGINS) -> dict:
    """Per scenario and horizon, the model-based change in expected voluntary leavers against the re-simulated one.

    `fitted`: the backtest (its chosen model per origin) or forecasters by origin, each fitted on data before its
    origin. `workers`, `years`, `seed`, `world`, `start`: the arguments the bench sector was generated with. The
    latest `origins` origins are checked, and their figures summed per scenario and horizon.
    """
    if isinstance(fitted, Backtest):
        fitted = {o.date: o.forecasters[fitted.chosen] for o in fitted.origins}
    chosen = sorted(fitted)[-origins:]
    dates = pd.to_datetime(snapshots["snapshot_date"])
    per_origin = []
    for t in chosen:
        t = pd.Timestamp(t)
        frame = _frame(snapshots[dates == t], t.date())
        model = {name: {h: run_scenario(fitted[t], frame, name, h) for h in horizons} for name in POLICY_SCENARIOS}
        truth = _resimulated(t.date(), horizons, replicates, workers=workers, years=years, seed=seed, world=world,
                             start=start)
        per_origin.append({"origin": str(t.date()), "snapshot_workers": len(frame.workers),
                           "simulated_workers": truth.pop("workers"), "model": model, "truth": truth})
    scenarios = {}
    for name in POLICY_SCENARIOS:
        scenarios[name] = {"description": SCENARIOS[name].description, "horizons": {}}
        for h in horizons:
            model_based = sum(o["model"][name][h]["change"]["expected_leavers"] for o in per_origin)
            baseline = sum(o["model"][name][h]["baseline"]["expected_leavers"] for o in per_origin)
            truths = [o["truth"][name][h] for o in per_origin]
            expected = float(sum(t["expected"] for t in truths))
            figures = {
                "model_based": float(model_based),
                "resimulated_expected": expected,
                "resimulated_expected_se": float(np.sqrt(sum(t["expected_se"] ** 2 for t in truths))),
                "resimulated_oracle": float(sum(t["oracle"] for t in truths)),
                "resimulated_realised": float(sum(t["realised"] for t in truths)),
                "error": float(model_based - expected),
                "relative_error": float((model_based - expected) / abs(expected)) if expected else None,
                "model_baseline": float(baseline),
                "resimulated_baseline": float(sum(t["baseline_expected"] for t in truths)),
            }
            scenarios[name]["horizons"][str(h)] = figures
    return {"label": LABEL, "origins": [o["origin"] for o in per_origin], "replicates": replicates,
            "workers": {o["origin"]: {"snapshot": o["snapshot_workers"], "simulated": o["simulated_workers"]}
                        for o in per_origin},
            "scenarios": scenarios}


def _frame(rows: pd.DataFrame, score_date: date) -> ForecastFrame:
    """The week at T as `run_scenario` reads it, from the bench snapshot rather than a publication: no clients
    weighted (the check counts leavers) and no leavers of the year before (they only decide suppression)."""
    workers = rows[list(WORKER_COLUMNS)].reset_index(drop=True).assign(weighted_clients=0.0)
    leavers = workers.iloc[:0][list(WORKER_COLUMNS)]
    return ForecastFrame(score_date, workers, leavers, rows.reset_index(drop=True), pd.DataFrame(
        columns=["horizon", "team", "organisation", "cohorts"]))


def _resimulated(t: date, horizons: Sequence[int], replicates: int, **sector) -> dict:
    """Per scenario and horizon, the mean over futures of the change against the baseline future, and its
    standard error; the baseline's expected leavers beside it."""
    runs = {name: [cohort_outflow(scenario_policy(name, t, r), horizons, **sector) for r in range(replicates)]
            for name in ("baseline", *POLICY_SCENARIOS)}
    out: dict = {"workers": runs["baseline"][0][0].workers}
    for name in POLICY_SCENARIOS:
        out[name] = {}
        for i, h in enumerate(horizons):
            pairs = [(run[i], base[i]) for run, base in zip(runs[name], runs["baseline"])]
            change = np.array([(a.expected - b.expected, a.oracle_expected - b.oracle_expected, a.realised - b.realised)
                               for a, b in pairs])
            se = float(change[:, 0].std(ddof=1) / np.sqrt(len(change))) if len(change) > 1 else float("nan")
            out[name][h] = {"expected": float(change[:, 0].mean()), "expected_se": se,
                            "oracle": float(change[:, 1].mean()), "realised": float(change[:, 2].mean()),
                            "baseline_expected": float(np.mean([b.expected for _, b in pairs]))}
    return out
