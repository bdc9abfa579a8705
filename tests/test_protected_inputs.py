"""What never enters a model: protected attributes (refused at registration) and, unless allowed, health data."""

from __future__ import annotations

import mlflow
import pytest
from model_frames import default_frames, fitted

from continuity.config import Settings
from continuity.features.feature_spec import HEALTH_FEATURES, MODEL_FEATURES, model_features
from continuity.models.cox import CoxForecaster
from continuity.models.registry import (
    INPUTS_TAG,
    ProtectedAttributeInModel,
    experiment_id,
    log_forecaster,
    register_version,
    tracking_client,
)
from continuity.models.training import default_candidates


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("protected"))


def test_registering_a_model_trained_with_gender_is_refused(settings):
    split, _ = fitted("cox")
    with_gender = CoxForecaster(features=(*MODEL_FEATURES, "gender")).fit(split.train_snapshots, split.train_labels)
    assert any(column.startswith("gender") for column in with_gender.encoder_.transform(split.test_snapshots.head()))
    with pytest.raises(ProtectedAttributeInModel, match="cox uses the protected attribute.* gender"):
        log_forecaster(with_gender, {}, {}, settings)
    client = tracking_client(settings)
    assert client.search_runs([experiment_id(client, settings)]) == []  # nothing was logged


def test_a_run_whose_inputs_include_a_protected_attribute_is_not_registered(settings):
    client = tracking_client(settings)
    with mlflow.start_run(experiment_id=experiment_id(client, settings),
                          tags={INPUTS_TAG: "caseload_ratio,birth_year"}) as run:
        pass
    with pytest.raises(ProtectedAttributeInModel, match="birth_year"):
        register_version(run.info.run_id, settings, passed_gate=True)
    assert client.search_registered_models() == []


def test_with_health_features_off_no_sick_leave_column_is_a_model_input():
    assert HEALTH_FEATURES and all(name.startswith("sick_") for name in HEALTH_FEATURES)
    frames = default_frames()
    for candidate in default_candidates(model_features(health=False)):
        candidate = candidate.set_params(**({"n_jobs": 1} if "n_jobs" in candidate.get_params() else {}))
        fitted_candidate = candidate.fit(frames.snapshots, frames.labels)
        design = fitted_candidate.encoder_.transform(frames.snapshots.head())
        assert not [c for c in design.columns if c.startswith("sick_")], candidate.name
        assert not [f for f in fitted_candidate.features if f.startswith("sick_")]
    assert set(HEALTH_FEATURES) <= set(model_features(health=True))


def test_health_features_are_on_for_the_synthetic_sector_and_off_for_a_real_export_unless_set(tmp_path):
    real = tmp_path / "real" / "exports"
    synthetic = tmp_path / "synthetic" / "exports"
    real.mkdir(parents=True), synthetic.mkdir(parents=True)
    (synthetic.parent / "sector.json").write_text("{}")
    assert Settings(export_dir=synthetic).health_inputs is True
    assert Settings(export_dir=real).health_inputs is False
    assert Settings(export_dir=real, health_features=True).health_inputs is True
    assert Settings(export_dir=synthetic, health_features=False).health_inputs is False
