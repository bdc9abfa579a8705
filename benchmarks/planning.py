"""The handover planner against the naive plan on the demo sector (issue 12's acceptance item).

For the 30 workers most likely to leave within 52 weeks in the demo sector's published
week, each is planned alone, as a manager would plan one leaver (so colleagues' room is not
shared between the leavers), once by ``plan_handover`` and once by ``naive_plan`` (each
client to the least-loaded colleague with room). Per method it reports:

- expected further handovers within 52 weeks: the sum over clients of the successor's
  published p_52w, the figure both plans are judged by;
- complex cases (complexity ``COMPLEX_CASE_MIN`` or more) given to starters (under
  ``STARTER_TENURE_WEEKS``), and how many of those the plan flags;
- clients given a successor they already know (client_familiarity);
- households (two or more of the leaver's clients with one ``household_id``) and how many
  the plan keeps with one worker, every member placed with the same successor;
- clients of out-of-home placements (``flag_out_of_home``) and how many are given a
  successor they already know.

A week whose export has no households or placements counts 0 of each.

The demo sector is the one ``continuity demo`` builds (2000 positions, 5 years, seed 0): when
HOME has no published week, it is generated and the weekly flow is run, without serving.
"""

from __future__ import annotations

import json
from pathlib import Path

from continuity.config import Settings
from continuity.handover.planner import (
    STARTER_COMPLEX, HandoverPlan, Situation, naive_plan, plan_handover, situation)
from continuity.horizons import p_leave_within
from continuity.publication import NothingPublished, Publication, Publications

HORIZON_WEEKS = 52
LEAVERS = 30


def demo_week(settings: Settings, workers: int = 2000, years: int = 5) -> Publication:
    """The published week in HOME, after generating the demo sector and running the weekly flow if there is none."""
    try:
        return Publications(settings.published).current()
    except NothingPublished:
        pass
    from continuity.flows.weekly import weekly
    from continuity.synth.generate import generate_sector

    if not (settings.exports / "workers.parquet").exists() and not (settings.exports / "workers.csv").exists():
        generate_sector(settings.exports.parent, workers=workers, years=years, seed=0, fmt="parquet")
    weekly(settings=settings, retrain=True)
    return Publications(settings.published).current()


def compare_plans(publication: Publication, leavers: int = LEAVERS) -> dict:
    """Planner and naive plan for the ``leavers`` highest-risk workers of the week, with the figures to compare."""
    risk = publication.table("risk_scores")
    p, _ = p_leave_within(risk, HORIZON_WEEKS)
    chosen = risk.assign(p=p.to_numpy()).sort_values(["p", "worker_id"], ascending=[False, True]).worker_id
    plans: dict[str, list[tuple[Situation, HandoverPlan]]] = {"planner": [], "naive": []}
    for leaver in chosen.head(leavers):
        now = situation(publication, leaver, horizon_weeks=HORIZON_WEEKS)
        plans["planner"].append((now, plan_handover(now)))
        plans["naive"].append((now, naive_plan(now)))
    familiarity = publication.table("client_familiarity")
    known = set(zip(familiarity.client_id, familiarity.worker_id))
    return {"score_date": str(publication.score_date), "horizon_weeks": HORIZON_WEEKS,
            "leavers": int(min(leavers, len(chosen))),
            **{method: _figures(made, known) for method, made in plans.items()}}


def _figures(plans: list[tuple[Situation, HandoverPlan]], known: set[tuple[str, str]]) -> dict:
    rows = [h for _, plan in plans for h in plan.handovers]
    placed = [h for h in rows if h.successor_id is not None]
    out_of_home = {c for now, _ in plans for c in now.clients.client_id[now.clients.flag_out_of_home.astype(bool)]}
    kept = [now.kept_together({h.client_id: h.successor_id for h in plan.handovers if h.successor_id is not None})
            for now, plan in plans]
    return {
        "clients": len(rows),
        "unplaced": len(rows) - len(placed),
        "expected_further_handovers": round(sum(plan.expected_further_handovers for _, plan in plans), 3),
        "complex_to_starters": sum(h.starter_complex for h in placed),
        "complex_to_starters_flagged": sum(h.starter_complex and STARTER_COMPLEX in h.reasons for h in placed),
        "known_successor": sum((h.client_id, h.successor_id) in known for h in placed),
        "households": sum(len(now.households()) for now, _ in plans),
        "households_kept_with_one_worker": sum(map(len, kept)),
        "out_of_home_clients": len(out_of_home),
        "out_of_home_with_known_successor": sum(h.client_id in out_of_home and (h.client_id, h.successor_id) in known
                                                for h in placed),
    }


def planning_benchmark(out: Path, settings: Settings) -> dict:
    """Run ``compare_plans`` on the demo week in HOME and write the figures as JSON to ``out``."""
    result = compare_plans(demo_week(settings))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return result
