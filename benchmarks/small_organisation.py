"""Small organisations on record: a base model recalibrated against a model trained on own data only.

For each size of organisation (a synthetic one, generated apart from the base model's
sector, with another seed) the weekly run's own training step (`flows.weekly.train_or_recalibrate`)
runs with the base model beside the own-data candidates; every candidate is then scored on
the organisation's own test weeks. Reported per organisation: C-index and ECE at 13 and 26
weeks on those weeks for the recalibrated base and for the model the own-data candidates
chose, and which of the two the run chose on its validation weeks. ECE at 26 weeks needs test
rows followed 26 weeks: a two-year history's test weeks are shorter than that, a three-year
history's are not.

    .venv/bin/python -m continuity.benchmarks.small_organisation OUT_DIR

Everything lives under OUT_DIR (its own warehouse per organisation, one MLflow store);
the figures are written to OUT_DIR/small_organisation.json.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from continuity.config import Settings

SIZES = (300, 1000)
HISTORIES = (3, 2)  # years of export
ORGANISATION_SEED = 3
BASE_WORKERS, BASE_YEARS, BASE_SEED = 1500, 4, 101
REPORTED = ("c_index", "ece_13w", "ece_26w", "n_events")


def small_organisation_benchmark(out: Path, sizes: Sequence[int] = SIZES,
                                 histories: Sequence[int] = HISTORIES) -> list[dict]:
    """Register a base model from one synthetic sector, then measure it against own-data models per organisation."""
    from continuity.features.snapshots import build_snapshots
    from continuity.flows.weekly import ingest_settings, train_or_recalibrate
    from continuity.models.sector_base import register_synthetic_base
    from continuity.models.training import RECALIBRATED_BASE, evaluate_held_out
    from continuity.synth.generate import generate_sector
    from continuity.warehouse import connect

    tracking = f"sqlite:///{(out / 'mlflow.db').resolve()}"
    # The organisations are synthetic, so they use the sick-leave inputs; the base model must too.
    base = register_synthetic_base(Settings(home=out, mlflow_tracking_uri=tracking, health_features=True),
                                   workers=BASE_WORKERS, years=BASE_YEARS, seed=BASE_SEED)
    rows = []
    for years in histories:
        for workers in sizes:
            started = time.monotonic()
            home = out / f"organisation-{workers}-{years}y"
            generate_sector(home / "sector", workers=workers, years=years, seed=ORGANISATION_SEED)
            settings = Settings(home=home, mlflow_tracking_uri=tracking, base_model=f"models:/{base.name}/{base.version}")
            ingest_settings(settings)
            with connect(settings.warehouse) as con:
                build_snapshots(con)
                snapshots, labels = con.table("snapshots").df(), con.table("labels").df()
            selection = train_or_recalibrate(settings, snapshots, labels)
            selection = evaluate_held_out(selection, snapshots, labels, selection.holdout_weeks)
            own = [name for name in selection.validation if name != RECALIBRATED_BASE]
            own_chosen = max(own, key=lambda name: selection.validation[name]["c_index"]) if own else None
            rows.append({
                "workers": workers, "years": years, "test_weeks": selection.holdout_weeks,
                "base": {k: selection.test.get(RECALIBRATED_BASE, {}).get(k) for k in REPORTED},
                "own": {"model": own_chosen, **{k: selection.test.get(own_chosen, {}).get(k) for k in REPORTED}},
                "chosen": "base" if selection.chosen == RECALIBRATED_BASE else "own",
                "reason": selection.reason, "seconds": round(time.monotonic() - started),
            })
            print(json.dumps(rows[-1]), flush=True)
    (out / "small_organisation.json").write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    small_organisation_benchmark(target)
