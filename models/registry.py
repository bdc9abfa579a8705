"""MLflow tracking and the model registry: every fitted forecaster is a run; the one in use is `@champion`.

Embedded default: SQLite tracking store and a local artifact folder (Settings);
production points `Settings.tracking_uri` at PostgreSQL and nothing here changes.
The model is stored as an MLflow pyfunc whose `predict` returns p_13w/p_26w, so
any MLflow tool can score it, while serving unwraps the Forecaster itself to get
explanations and survival curves too.
"""

from __future__ import annotations

import math
import pickle
import tempfile
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from continuity.config import Settings
from continuity.models.base import Forecaster

EXPERIMENT = "continuity"
CHAMPION = "champion"
MODEL_NAME = "model"
_ARTIFACT = "forecaster"
# Given explicitly: MLflow would otherwise infer them by loading the model in a subprocess.
_REQUIREMENTS = ("lifelines", "xgboost", "scikit-learn", "scikit-survival", "pandas", "numpy", "mlflow")


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """The pyfunc face of a Forecaster: snapshots in, p_13w and p_26w out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts[_ARTIFACT], "rb") as f:
            self.forecaster: Forecaster = pickle.load(f)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.forecaster.predict_risk(model_input)


@dataclass(frozen=True)
class Champion:
    forecaster: Forecaster
    name: str
    version: str
    run_id: str


def tracking_client(settings: Settings) -> MlflowClient:
    mlflow.set_tracking_uri(settings.tracking_uri)
    return MlflowClient(settings.tracking_uri)


def experiment_id(client: MlflowClient, settings: Settings) -> str:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    settings.artifact_root.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(EXPERIMENT, artifact_location=settings.artifact_root.as_uri())


def log_forecaster(forecaster: Forecaster, metrics: dict, params: dict, settings: Settings) -> str:
    """Log one fitted forecaster as a run; returns the run id.

    The forecaster's own hyper-parameters are logged with `params`; metrics that
    are not finite numbers (an AUC undefined for want of leavers) are left out,
    because MLflow cannot compare them.
    """
    client = tracking_client(settings)
    example = forecaster.example()
    signature = infer_signature(example, forecaster.predict_risk(example))
    with mlflow.start_run(experiment_id=experiment_id(client, settings)) as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({"forecaster": forecaster.name, **forecaster.get_params(), **params})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if math.isfinite(v)})
        pickled = Path(tmp) / f"{_ARTIFACT}.pkl"
        pickled.write_bytes(pickle.dumps(forecaster))
        mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=ForecasterModel(),
            artifacts={_ARTIFACT: str(pickled)},
            signature=signature,
            input_example=example,
            pip_requirements=[f"{p}=={installed_version(p)}" for p in _REQUIREMENTS],
        )
    return run.info.run_id


def register_champion(run_id: str, settings: Settings) -> str:
    """Register the run's model as a new version and point the `champion` alias at it; returns the version."""
    client = tracking_client(settings)
    version = mlflow.register_model(f"runs:/{run_id}/{MODEL_NAME}", settings.registered_model_name).version
    client.set_registered_model_alias(settings.registered_model_name, CHAMPION, version)
    return str(version)


def load_champion(settings: Settings) -> Champion:
    """The forecaster behind `models:/<name>@champion`.

    The alias is resolved once and that version is loaded, so the version and
    run reported always belong to the model returned, even while a new
    champion is being promoted.
    """
    client = tracking_client(settings)
    name = settings.registered_model_name
    version = client.get_model_version_by_alias(name, CHAMPION)
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    return Champion(
        forecaster=model.unwrap_python_model().forecaster,
        name=name,
        version=str(version.version),
        run_id=version.run_id,
    )
