"""MLflow tracking and the model registry: every fitted forecaster is a run; the one in use is `@champion`.

Embedded default: SQLite tracking store and a local artifact folder (Settings);
production points `Settings.tracking_uri` at PostgreSQL and nothing here changes.
The model is stored as an MLflow pyfunc whose `predict` returns p_13w/p_26w/p_52w,
so any MLflow tool can score it, while serving unwraps the Forecaster itself to
get explanations and curves too.

Every candidate the weekly run fits is registered as a version; the `champion`
alias moves only when the gate allows it (`continuity.models.promotion`). Runs
carry the forecaster format: a champion pickled in an older format is not
compared with, or scored by, today's code.
"""

from __future__ import annotations

import math
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from continuity.config import Settings
from continuity.models.base import Forecaster

EXPERIMENT = "continuity"
CHAMPION = "champion"
MODEL_NAME = "model"
_ARTIFACT = "forecaster"
# Bump when a fitted Forecaster's pickled state changes shape (2: one hazard per cause of exit).
FORECASTER_FORMAT = "2"
FORMAT_TAG = "forecaster_format"
# Given explicitly: MLflow would otherwise infer them by loading the model in a subprocess.
_REQUIREMENTS = ("lifelines", "xgboost", "scikit-learn", "scikit-survival", "pandas", "numpy", "mlflow")


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """The pyfunc face of a Forecaster: snapshots in, calibrated p_13w, p_26w and p_52w out."""

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
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values; the snapshot builder
        # fills every integer feature (counts, flags, pay scale), so none is ever missing.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)
        signature = infer_signature(example, forecaster.predict_risk(example))
    tags = {FORMAT_TAG: FORECASTER_FORMAT, "kind": "forecaster"}
    with mlflow.start_run(experiment_id=experiment_id(client, settings), tags=tags) as run, \
            tempfile.TemporaryDirectory() as tmp:
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


def register_version(run_id: str, settings: Settings, promote: bool) -> str:
    """Register the run's model as a new version, and point the `champion` alias at it if `promote`; returns the version."""
    client = tracking_client(settings)
    version = mlflow.register_model(f"runs:/{run_id}/{MODEL_NAME}", settings.registered_model_name).version
    client.set_model_version_tag(settings.registered_model_name, version, "promoted", str(promote).lower())
    if promote:
        client.set_registered_model_alias(settings.registered_model_name, CHAMPION, version)
    return str(version)


class IncompatibleChampion(RuntimeError):
    """The champion was pickled by a release whose forecasters had another shape; retraining replaces it."""


def comparable_champion(settings: Settings) -> Champion | None:
    """The current champion, or None when there is none or it is in an older format (nothing to compare with)."""
    client = tracking_client(settings)
    try:
        aliases = client.get_registered_model(settings.registered_model_name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    if CHAMPION not in aliases:
        return None
    try:
        return load_champion(settings)
    except IncompatibleChampion:
        return None


def load_champion(settings: Settings) -> Champion:
    """The forecaster behind `models:/<name>@champion`; IncompatibleChampion if today's code cannot use it.

    The alias is resolved once and that version is loaded, so the version and
    run reported always belong to the model returned, even while a new
    champion is being promoted.
    """
    client = tracking_client(settings)
    name = settings.registered_model_name
    version = client.get_model_version_by_alias(name, CHAMPION)
    found = client.get_run(version.run_id).data.tags.get(FORMAT_TAG)
    if found != FORECASTER_FORMAT:
        raise IncompatibleChampion(
            f"champion {name} v{version.version} is in forecaster format {found or '1'}, this release reads "
            f"{FORECASTER_FORMAT}: run the weekly flow with retraining (`continuity run`) to register a new one"
        )
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    return Champion(
        forecaster=model.unwrap_python_model().forecaster,
        name=name,
        version=str(version.version),
        run_id=version.run_id,
    )
