"""A base model for an organisation too small to train its own: fitted on the synthetic sector.

A few hundred workers give a few dozen leavers a year, too few to fit a model on and
barely enough to calibrate one. The weekly flow can instead recalibrate a base model
fitted elsewhere on the organisation's own weeks (`models.training`). Without real sector
data, the synthetic sector is where such a model comes from: it is generated, ingested and
trained here, in a folder of its own that is removed afterwards, so no synthetic row ever
reaches the organisation's warehouse; only the fitted model is registered, in the
organisation's own tracking store, as a version of `registry.BASE_MODEL_NAME`.

The base model takes the organisation's feature contract: the same inputs
(`feature_spec.model_features`, with or without the sick-leave features as
`Settings.health_inputs` says for the organisation), built by the same snapshot code,
so it scores the organisation's snapshots as they are. The flow checks it again.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from continuity.config import DEMO_PSEUDONYM_KEY, Settings
from continuity.features.feature_spec import model_features
from continuity.models.base import Forecaster


@dataclass(frozen=True)
class RegisteredBase:
    name: str
    version: str
    chosen: str  # the forecaster the synthetic sector's validation weeks chose
    test: dict  # its figures on the synthetic sector's test weeks


def register_synthetic_base(settings: Settings, workers: int = 2000, years: int = 5, seed: int = 0) -> RegisteredBase:
    """Generate the synthetic sector, train on it as the weekly run does and register the chosen model as a base."""
    from continuity.features.ingest import ingest_dir
    from continuity.features.snapshots import build_snapshots
    from continuity.models.registry import BASE_MODEL_NAME, SOURCE_TAG, log_forecaster, register_version
    from continuity.models.split import plan_windows
    from continuity.models.training import default_candidates, evaluate_held_out, train
    from continuity.synth.generate import generate_sector
    from continuity.warehouse import connect

    features = model_features(settings.health_inputs)
    with tempfile.TemporaryDirectory(prefix="continuity-base-") as tmp:
        sector, warehouse = Path(tmp) / "sector", Path(tmp) / "warehouse.duckdb"
        generate_sector(sector, workers=workers, years=years, seed=seed, fmt="parquet")
        export_date = date.fromisoformat(json.loads((sector / "sector.json").read_text())["export_date"])
        ingest_dir(sector / "exports", warehouse, export_date=export_date, pseudonym_key=DEMO_PSEUDONYM_KEY)
        with connect(warehouse) as con:
            build_snapshots(con)
            snapshots, labels = con.table("snapshots").df(), con.table("labels").df()
    windows = plan_windows(snapshots, labels)
    selection = train(snapshots, labels, candidates=default_candidates(features), windows=windows)
    selection = evaluate_held_out(selection, snapshots, labels, windows.holdout_weeks)
    test = selection.test[selection.chosen]
    params = {"base_source": "synthetic sector", "base_workers": workers, "base_years": years, "base_seed": seed}
    run_id = log_forecaster(selection.forecaster, {f"test_{k}": v for k, v in test.items()}, params, settings,
                            tags={SOURCE_TAG: "synthetic sector"})
    version = register_version(run_id, settings, None, name=BASE_MODEL_NAME)
    return RegisteredBase(BASE_MODEL_NAME, version, selection.chosen, test)


def same_contract(base: Forecaster, features: tuple[str, ...], reference: str) -> None:
    """ValueError, in one sentence, when a base model's inputs are not the organisation's: it would score
    snapshots on inputs they do not have, or leave out inputs the organisation chose to use."""
    if set(base.features) == set(features):
        return
    missing, extra = sorted(set(features) - set(base.features)), sorted(set(base.features) - set(features))
    raise ValueError(
        f"The base model {reference} does not use this organisation's inputs (it lacks {', '.join(missing) or '-'}; "
        f"it adds {', '.join(extra) or '-'}): register one with the same CONTINUITY_HEALTH_FEATURES by "
        "`continuity base-model`.")
