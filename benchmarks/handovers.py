"""Expected handovers, checked against what happened (issue 12's acceptance item).

A client's expected handovers in the next 26 weeks, as the discontinuity monitor
shows them, is the sum over the client's open workers of each worker's
P(leaving voluntarily within 26 weeks). This benchmark checks that sum against
what happened on the bench sector of `continuity.benchmarks.quality`, at the
rolling backtest's origins (`continuity.models.backtest.rolling_backtest`), so
each origin's forecasts come from models fitted on data before it only.

What is counted, per (client, worker) pair open at the origin:

- p_leave: the worker's P(leaving voluntarily within 26 weeks) from the model
  chosen at that origin (and, beside it, from the oracle: the generator's true
  hazards, the ceiling any model can reach): the monitor's figure;
- predicted: P(the worker leaves voluntarily within 26 weeks *while the pair's case
  is still open*). About a quarter of the cases close or move on before their worker
  leaves, and those never need a handover, so p_leave alone over-counts. Week by week,
  the chance that the worker leaves in week k (the source's cumulative incidence,
  scaled to p_leave) is weighted by the chance that the case is still open then: a
  Kaplan-Meier curve of assignment durations per domain (``features.case_survival``, the
  weight the discontinuity monitor applies too), fitted on
  the assignments known before the origin (ended for any reason but the worker
  leaving: an event; still open at the origin, or ended by the worker leaving:
  censored), conditional on the case's age at the origin. A pair holding several
  assignments is open while any of them is, taken as independent;
- realised: 1 if one of the pair's open assignments ended with end_reason
  ``worker_left`` within the 26 weeks *and* the worker's exit was voluntary
  (the labels' exit reason). Exits on an involuntary dismissal, a retirement or
  a temporary contract's end also end assignments as ``worker_left``, but they
  are not what the probability forecasts; assignments closed or handed over for
  another reason are not handovers of a leaving worker;
- workers_left: 1 if the worker left voluntarily within the 26 weeks, however
  the pair's assignment ended. The forecast is of this event, so p_leave
  against workers_left is the model's calibration, and realised below
  workers_left is the share of cases that closed or moved on before the worker
  left: a handover that never had to happen, which predicted takes out.

Clients are put into deciles of predicted handovers pooled over origins; per
decile the O/E (realised / predicted) has a 90% exact Poisson interval on the
realised count. The issue's target, O/E within 0.8-1.25, is judged on deciles
with at least 20 realised handovers, fewer being too noisy to judge.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from continuity.benchmarks.quality import _bench_frames, bench_warehouse
from continuity.config import Settings
from continuity.features.case_survival import (HANDOVER_HORIZON, WORKER_LEFT, CaseSurvival, leaving_by_week,
                                               pair_open_by_week)
from continuity.horizons import risk_column
from continuity.models.backtest import ORACLE, Scored, rolling_backtest
from continuity.models.drift import OE_LEVEL, OE_RANGE, oe_interval
from continuity.models.metrics import horizon_status
from continuity.synth.worlds import DEFAULT_WORLD

DECILES = 10
MIN_REALISED = 20  # the issue judges O/E only on deciles with at least this many realised handovers
# The JSON's statement of what each figure counts, per (client, worker) pair open at the origin (see above).
COUNTED = {
    "p_leave": "P(worker leaves voluntarily within 26 weeks), from the model chosen at the origin",
    "predicted": "P(worker leaves voluntarily within 26 weeks while the pair's case is still open): each week's "
                 "chance of leaving (the model's incidence, scaled to p_leave) times the case's chance of being "
                 "open then (Kaplan-Meier of assignment durations by domain before the origin, given its age)",
    "realised": "an assignment of the pair ended 'worker_left' within 26 weeks and the worker's exit was voluntary; "
                "involuntary exits, retirements, temporary contracts' ends and assignments closed or handed over "
                "for other reasons are not counted: the probability does not forecast them",
    "workers_left": "the worker left voluntarily within 26 weeks, however the pair's assignment ended",
}


def handovers_benchmark(out_json: Path, settings: Settings, world: str = DEFAULT_WORLD) -> dict:
    """Predicted against realised handovers per decile of clients, for the chosen model and the oracle.

    Writes the JSON to `out_json` and returns it.
    """
    snapshots, labels, oracle = _bench_frames(settings, world)
    with duckdb.connect(str(bench_warehouse(settings, world)), read_only=True) as con:
        assignments = con.table("assignments").df()
    backtest = rolling_backtest(snapshots, labels, oracle=oracle)
    sources = {"model": lambda o: o.chosen, ORACLE: lambda o: ORACLE}
    result = {
        "world": world,
        "horizon_weeks": HANDOVER_HORIZON,
        "origins": {f"{o.date:%Y-%m-%d}": o.chosen for o in backtest.origins},
        "counted": COUNTED,
        "targets": {"observed_expected": list(OE_RANGE), "min_realised": MIN_REALISED, "interval": OE_LEVEL},
    }
    for key, source in sources.items():
        clients = pd.concat([
            client_handovers(handover_pairs(o.date, snapshots.loc[o.scored[source(o)].risk.index, "worker_id"],
                                            o.scored[source(o)], assignments))
            for o in backtest.origins
        ], ignore_index=True)
        table = decile_table(clients)
        result[key] = {"summary": summary(table), "deciles": json.loads(table.to_json(orient="records"))}
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=2))
    return result


def handover_pairs(origin: pd.Timestamp, worker_ids: pd.Series, scored: Scored, assignments: pd.DataFrame,
                   horizon: int = HANDOVER_HORIZON) -> pd.DataFrame:
    """One row per (client, worker) pair with an assignment open at `origin`: p_leave, predicted, realised,
    workers_left.

    `worker_ids` names the rows `scored` forecasts (the workers active at the origin). A pair
    whose worker has no forecast at the origin (not active in that week's snapshot) is dropped:
    the monitor would show no probability for it either.
    """
    origin = pd.Timestamp(origin)
    window_end = origin + pd.Timedelta(weeks=horizon)
    known, left = horizon_status(scored.outcomes, horizon)
    if not known.all():
        raise ValueError(f"{int((~known).sum())} workers are not followed {horizon} weeks after {origin:%Y-%m-%d}")
    p_leave = scored.risk[risk_column(horizon)].to_numpy(float)
    workers = pd.DataFrame({"worker_id": worker_ids.astype(str).to_numpy(), "p_leave": p_leave,
                            "left_voluntarily": left.to_numpy(bool), "row": np.arange(len(p_leave))})
    start, end = pd.to_datetime(assignments["start_date"]), pd.to_datetime(assignments["end_date"])
    open_ = assignments[(start <= origin) & (end.isna() | (end > origin))]
    open_ = open_.assign(worker_id=open_["worker_id"].astype(str))
    ended_on_leaving = open_["end_reason"].eq(WORKER_LEFT) & (pd.to_datetime(open_["end_date"]) <= window_end)
    pair_open = pair_open_by_week(origin, open_, CaseSurvival.before(origin, assignments), horizon)
    pairs = (open_.assign(ended_on_leaving=ended_on_leaving)
             .groupby(["client_id", "worker_id"], as_index=False)["ended_on_leaving"].any()
             .merge(workers, on="worker_id", how="inner", validate="many_to_one"))
    leaving = leaving_by_week(scored.incidence[:, :horizon], p_leave)[pairs["row"].to_numpy()]
    open_then = pair_open.loc[pd.MultiIndex.from_frame(pairs[["client_id", "worker_id"]])].to_numpy()
    return pairs.assign(
        origin=origin,
        predicted=(leaving * open_then).sum(axis=1),
        realised=(pairs["ended_on_leaving"] & pairs["left_voluntarily"]).astype(int),
        workers_left=pairs["left_voluntarily"].astype(int),
    )[["origin", "client_id", "worker_id", "p_leave", "predicted", "realised", "workers_left"]]


def client_handovers(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per client and origin: open workers, their summed p_leave, predicted and realised handovers, workers who
    left voluntarily."""
    return pairs.groupby(["origin", "client_id"], as_index=False).agg(
        workers=("worker_id", "size"), p_leave=("p_leave", "sum"), predicted=("predicted", "sum"),
        realised=("realised", "sum"), workers_left=("workers_left", "sum"))


def decile_table(clients: pd.DataFrame) -> pd.DataFrame:
    """Clients (pooled over origins) in deciles of predicted handovers, with O/E and its exact Poisson interval.

    The interval and the 0.8-1.25 target are the drift check's (`continuity.models.drift`), so that
    the handovers are judged as the weekly monitoring judges realised against expected leavers.

    Deciles are cut on the rank, ties broken by order, so that they hold equal numbers of
    clients even though many clients share a worker and so the same prediction.
    """
    decile = pd.qcut(clients["predicted"].rank(method="first"), DECILES, labels=False) + 1
    table = clients.groupby(decile.rename("decile")).agg(
        clients=("client_id", "size"), p_leave=("p_leave", "sum"), predicted=("predicted", "sum"),
        realised=("realised", "sum"), workers_left=("workers_left", "sum")).reset_index()
    table["oe"] = table["realised"] / table["predicted"]
    table[["oe_low", "oe_high"]] = [oe_interval(r, e) for r, e in zip(table["realised"], table["predicted"])]
    table["reported"] = table["realised"] >= MIN_REALISED
    table["within_target"] = table["reported"] & table["oe"].between(*OE_RANGE)
    return table


def summary(table: pd.DataFrame) -> dict:
    """All clients together, and how many of the reported deciles meet the target."""
    predicted, realised = float(table["predicted"].sum()), int(table["realised"].sum())
    return {"clients": int(table["clients"].sum()), "p_leave": float(table["p_leave"].sum()),
            "predicted": predicted, "realised": realised,
            "workers_left": int(table["workers_left"].sum()), "oe": realised / predicted if predicted else None,
            "deciles_reported": int(table["reported"].sum()),
            "deciles_within_target": int(table["within_target"].sum())}
