"""MLflow round trip on a real local store: log, register as champion, load by alias."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from model_frames import fitted

from continuity.config import Settings
from continuity.models.metrics import evaluate
from continuity.models.registry import CHAMPION, load_champion, log_forecaster, promote, register_version


@pytest.fixture(scope="session")
def registry_settings(tmp_path_factory) -> Settings:
    """One SQLite store per session: creating one costs about 9 s of migrations."""
    return Settings(home=tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="session")
def champion_run(registry_settings):
    split, forecaster = fitted("cox")
    metrics = evaluate(forecaster, split.test_snapshots, split.test_labels)
    run_id = log_forecaster(forecaster, metrics, {"holdout_weeks": 12}, registry_settings)
    return run_id, _champion(run_id, registry_settings), forecaster, split, metrics


def _champion(run_id: str, settings: Settings) -> str:
    version = register_version(run_id, settings, passed_gate=True)
    promote(settings, version)
    return version


def test_run_records_params_metrics_and_a_signed_model(champion_run, registry_settings):
    run_id, _, forecaster, _, metrics = champion_run
    run = mlflow.MlflowClient(registry_settings.tracking_uri).get_run(run_id)
    assert run.data.params["forecaster"] == "cox"
    assert run.data.params["penalizer"] == str(forecaster.penalizer)
    assert run.data.params["holdout_weeks"] == "12"
    assert run.data.metrics["c_index"] == pytest.approx(metrics["c_index"])
    info = mlflow.models.get_model_info(f"runs:/{run_id}/model")
    inputs = info.signature.inputs.input_names()
    assert "caseload_ratio" in inputs and "gender" not in inputs
    assert info.signature.outputs.input_names() == ["p_13w", "p_26w", "p_52w"]
    assert str(registry_settings.artifact_root) in mlflow.get_run(run_id).info.artifact_uri


def test_champion_loads_by_alias_and_predicts_identically(champion_run, registry_settings):
    run_id, version, forecaster, split, _ = champion_run
    champion = load_champion(registry_settings)
    assert (champion.name, champion.version, champion.run_id) == (
        registry_settings.registered_model_name, version, run_id
    )
    rows = split.test_snapshots.head(50)
    pd.testing.assert_frame_equal(champion.forecaster.predict_risk(rows), forecaster.predict_risk(rows))
    assert champion.forecaster.explain(rows) == forecaster.explain(rows)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{champion.name}@{CHAMPION}")
    pd.testing.assert_frame_equal(
        pyfunc.predict(rows).reset_index(drop=True), forecaster.predict_risk(rows).reset_index(drop=True)
    )


def test_a_new_champion_takes_the_alias(champion_run, registry_settings):
    first_run, first_version, *_ = champion_run
    split, challenger = fitted("gradient_boosting")
    run_id = log_forecaster(challenger, {"c_index": 0.8}, {}, registry_settings)
    version = _champion(run_id, registry_settings)
    assert int(version) == int(first_version) + 1
    champion = load_champion(registry_settings)
    assert (champion.version, champion.run_id) == (version, run_id)
    assert champion.forecaster.name == "gradient_boosting"


class _ArrayLengths(pickle.Pickler):
    """Pickles into nothing, noting the length of every array on the way."""

    def __init__(self):
        super().__init__(io.BytesIO())
        self.lengths = []

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray) and obj.ndim:
            self.lengths.append(len(obj))
        return None


def test_the_registered_cox_model_keeps_no_training_rows_and_scores_the_same(champion_run, registry_settings):
    """Hardening: the artifact holds coefficients, baselines, encoder and calibration, not the training data."""
    _, version, forecaster, split, _ = champion_run
    folder = Path(mlflow.artifacts.download_artifacts(f"models:/{registry_settings.registered_model_name}/{version}"))
    stored = pickle.loads((folder / "artifacts" / "forecaster.pkl").read_bytes())
    walker = _ArrayLengths()
    walker.dump(stored)
    assert walker.lengths and max(walker.lengths) < stored.n_training_rows_ / 4
    rows = split.test_snapshots
    pd.testing.assert_frame_equal(stored.predict_risk(rows), forecaster.predict_risk(rows), check_exact=True)
