"""The pyfunc face of a Forecaster, logged as code ("models from code").

MLflow stores this file with each model and runs it on load, instead of
cloudpickling a Python object: what a registered model executes is this
readable source. The fitted forecaster itself travels as the `forecaster`
artifact (see `continuity.models.registry`).
"""

import pickle

import mlflow
import pandas as pd


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """Snapshots in, calibrated p_13w, p_26w and p_52w out; `forecaster` gives serving the rest."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["forecaster"], "rb") as f:
            self.forecaster = pickle.load(f)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.forecaster.predict_risk(model_input)


mlflow.models.set_model(ForecasterModel())
