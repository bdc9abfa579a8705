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
import platform
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from importlib.metadata import version as installed_version
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from continuity.config import Settings
from continuity.features.feature_spec import PROTECTED
from continuity.models.base import Forecaster
from continuity.private import private_files, private_folder

EXPERIMENT = "continuity"
CHAMPION = "champion"
MODEL_NAME = "model"
_ARTIFACT = "forecaster"  # the name `pyfunc_model.py` loads it by
_PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
# Bump when a fitted Forecaster's pickled state changes shape (2: one hazard per cause of exit;
# 3: the Cox model keeps its coefficients, not the lifelines fitter with its training rows;
# 4: the calibrator keeps its resampled maps, which give the intervals; 5: indicator features,
# drivers with hazard ratios, the learner fitted on each row's first follow_up_weeks; 6: the encoder keeps
# each category's training share, the reference worker the drivers are measured from; 7: gradient boosting
# grows its trees from a linear Cox start, kept with them).
FORECASTER_FORMAT = "7"
FORMAT_TAG = "forecaster_format"
PROMOTED_TAG = "promoted"  # the gate's verdict on a version
REFUSALS_TAG = "gate_refusals"  # why the gate refused it (or, for a first model, what it found)
INPUTS_TAG = "inputs"  # the model's input features, checked again before a run is registered
SOURCE_TAG = "model_source"  # what the model was fitted on: own data, or a base model recalibrated
# Where `continuity base-model` registers base models, and the name CONTINUITY_BASE_MODEL usually gives.
BASE_MODEL_NAME = "continuity-base"
# Given explicitly: MLflow would otherwise infer them by loading the model in a subprocess.
_REQUIREMENTS = ("lifelines", "scikit-learn", "scikit-survival", "pandas", "numpy", "mlflow")


@dataclass(frozen=True)
class Champion:
    forecaster: Forecaster
    name: str
    version: str
    run_id: str


def tracking_client(settings: Settings) -> MlflowClient:
    """The client creates the embedded SQLite store on first use: owner-only, as all local state."""
    with private_files():
        mlflow.set_tracking_uri(settings.tracking_uri)
        return MlflowClient(settings.tracking_uri)


def experiment_id(client: MlflowClient, settings: Settings) -> str:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    private_folder(settings.artifact_root)
    return client.create_experiment(EXPERIMENT, artifact_location=settings.artifact_root.as_uri())


def log_forecaster(forecaster: Forecaster, metrics: dict, params: dict, settings: Settings,
                   tags: dict[str, str] | None = None) -> str:
    """Log one fitted forecaster as a run, with `tags` beside the format's; returns the run id.

    The forecaster's own hyper-parameters are logged with `params`; metrics that
    are not finite numbers (an AUC undefined for want of leavers) are left out,
    because MLflow cannot compare them.
    """
    refuse_protected_inputs(forecaster.name, forecaster.features)
    client = tracking_client(settings)
    example = forecaster.example()
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values; the snapshot builder
        # fills every integer feature (counts, flags, pay scale), so none is ever missing.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)
        signature = infer_signature(example, forecaster.predict_risk(example))
    tags = {**(tags or {}), FORMAT_TAG: FORECASTER_FORMAT, "kind": "forecaster",
            INPUTS_TAG: ",".join(forecaster.features)}
    with mlflow.start_run(experiment_id=experiment_id(client, settings), tags=tags) as run, \
            tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params({"forecaster": forecaster.name, **forecaster.get_params(), **params})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if math.isfinite(v)})
        pickled = Path(tmp) / f"{_ARTIFACT}.pkl"
        pickled.write_bytes(pickle.dumps(forecaster))
        mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(_PYFUNC_CODE),
            artifacts={_ARTIFACT: str(pickled)},
            signature=signature,
            input_example=example,
            conda_env=_environment(),
        )
    return run.info.run_id


class ProtectedAttributeInModel(ValueError):
    """A forecaster uses a protected attribute as an input: it is never registered (nor scores anyone)."""


def refuse_protected_inputs(model: str, features: Sequence[str]) -> None:
    """Raise ProtectedAttributeInModel when any of a model's inputs is a protected attribute."""
    used = sorted(PROTECTED.intersection(features))
    if used:
        raise ProtectedAttributeInModel(
            f"{model} uses the protected attribute(s) {', '.join(used)} as input; a model that does is "
            "never registered: protected attributes are audited, not used (docs/definitions.md#protected-attributes)")


def _environment() -> dict:
    """The model's environment, pinned to what is installed.

    Given whole rather than as pip requirements, from which MLflow would build it
    by asking the running environment for its pip version: a uv environment has
    no pip. XGBoost comes as one of two builds (`xgboost-cpu`, or the CUDA `xgboost`).
    """
    xgboost_build = packages_distributions()["xgboost"][0]
    pinned = [f"{p}=={installed_version(p)}" for p in (*_REQUIREMENTS, xgboost_build)]
    return {"name": "continuity", "channels": ["conda-forge"],
            "dependencies": [f"python={platform.python_version()}", "pip", {"pip": pinned}]}


def register_version(run_id: str, settings: Settings, passed_gate: bool | None, refusals: Sequence[str] = (),
                     name: str | None = None) -> str:
    """Register the run's model as a new version of `name` (default: the organisation's model), tagged with
    the gate's verdict (None: a base model, which no gate judges) and its reasons; returns the version.
    A run whose model uses a protected attribute is refused (ProtectedAttributeInModel).

    The `champion` alias is not moved here but by ``promote`` once the week scored by this
    version is published, so that the alias and the published week never disagree."""
    client = tracking_client(settings)
    name = name or settings.registered_model_name
    refuse_protected_inputs(f"run {run_id}", client.get_run(run_id).data.tags.get(INPUTS_TAG, "").split(","))
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    # MLflow 3 keeps a logged model apart from its run's artifacts: register that model itself.
    model_id = client.get_run(run_id).outputs.model_outputs[0].model_id
    version = client.create_model_version(name, f"models:/{model_id}", run_id=run_id, model_id=model_id).version
    if passed_gate is not None:
        client.set_model_version_tag(name, version, PROMOTED_TAG, str(passed_gate).lower())
    if refusals:
        client.set_model_version_tag(name, version, REFUSALS_TAG, "; ".join(refusals))
    return str(version)


def promote(settings: Settings, version: str) -> None:
    """Point the `champion` alias at the version."""
    tracking_client(settings).set_registered_model_alias(settings.registered_model_name, CHAMPION, version)


def log_text(settings: Settings, run_id: str, name: str, text: str) -> None:
    """Keep a document with a version's run (its model card, its drift reference), owner-only."""
    client = tracking_client(settings)
    with private_files():
        client.log_text(run_id, text, name)


def logged_text(settings: Settings, run_id: str, name: str) -> str | None:
    """A document kept with a run; None when the run has none of that name."""
    client = tracking_client(settings)
    if name not in {artifact.path for artifact in client.list_artifacts(run_id)}:
        return None
    return mlflow.artifacts.load_text(f"runs:/{run_id}/{name}")


def champion_version(settings: Settings) -> str | None:
    """The version the `champion` alias points at; None when there is no registered model or no alias."""
    try:
        aliases = tracking_client(settings).get_registered_model(settings.registered_model_name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    return aliases.get(CHAMPION)


def finish_promotion(settings: Settings, published_version: str) -> None:
    """After a run stopped between publishing a week and moving the alias, move it now: the published
    version passed the gate (its tag says so) and is newer than the champion."""
    current = champion_version(settings)
    if current == published_version:
        return
    tags = tracking_client(settings).get_model_version(settings.registered_model_name, published_version).tags
    if tags.get(PROMOTED_TAG) == "true" and (current is None or int(published_version) > int(current)):
        promote(settings, published_version)


class IncompatibleChampion(RuntimeError):
    """The champion was pickled by a release whose forecasters had another shape; retraining replaces it."""


def comparable_champion(settings: Settings) -> Champion | None:
    """The current champion, or None when there is none or it is in an older format (nothing to compare with)."""
    if champion_version(settings) is None:
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
    version = tracking_client(settings).get_model_version_by_alias(settings.registered_model_name, CHAMPION)
    return load_version(settings, str(version.version))


def load_version(settings: Settings, version: str, name: str | None = None) -> Champion:
    """The forecaster of one registered version of `name` (default: the organisation's model; the version a
    published week names); IncompatibleChampion if today's code cannot use it."""
    client = tracking_client(settings)
    name = name or settings.registered_model_name
    registered = client.get_model_version(name, version)
    found = client.get_run(registered.run_id).data.tags.get(FORMAT_TAG)
    if found != FORECASTER_FORMAT:
        raise IncompatibleChampion(
            f"{name} v{version} is in forecaster format {found or '1'}, this release reads "
            f"{FORECASTER_FORMAT}: run the weekly flow with retraining (`continuity run`) to register a new one"
        )
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    return Champion(
        forecaster=model.unwrap_python_model().forecaster,
        name=name,
        version=str(version),
        run_id=registered.run_id,
    )


def load_base_model(settings: Settings, reference: str) -> Champion:
    """The base model `reference` names in the tracking store: `models:/NAME/VERSION`, `models:/NAME@ALIAS`, or a
    registered NAME, whose newest version it is. LookupError, in one sentence, when there is none."""
    client = tracking_client(settings)
    name, _, pinned = reference.removeprefix("models:/").partition("/")
    name, _, alias = name.partition("@")
    try:
        if alias:
            version = client.get_model_version_by_alias(name, alias).version
        elif pinned:
            version = client.get_model_version(name, pinned).version
        else:
            version = max((v.version for v in client.search_model_versions(f"name = '{name}'")), key=int, default=None)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        version = None
    if version is None:
        raise LookupError(f"The base model {reference!r} is not registered in {settings.tracking_uri}: register one "
                          "with `continuity base-model`, or leave CONTINUITY_BASE_MODEL (run --base-model) unset.")
    return load_version(settings, str(version), name)
