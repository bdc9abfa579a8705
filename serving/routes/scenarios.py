"""What-if scenarios for sector bodies (and hr, admin): the model that scored the published week re-scores
the sector with changed drivers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from mlflow.exceptions import MlflowException

from continuity.models.registry import Champion, IncompatibleChampion, load_version
from continuity.forecasts.scenarios import run_scenario
from continuity.serving.deps import ForecastAnswersDep, SectorReaderDep, WeekDep
from continuity.serving.schemas import Problem, UNAUTHENTICATED
from continuity.serving.schemas_planning import ScenarioRequest, ScenarioResult

router = APIRouter(
    tags=["sector"],
    responses={
        **UNAUTHENTICATED,
        400: {"model": Problem, "description": "The body is not valid JSON."},
        403: {"model": Problem, "description": "A manager token: scenarios are for sector, hr and admin tokens."},
        503: {"model": Problem, "description": "No week published, or its model cannot be loaded."},
    },
)


@router.post("/scenarios", response_model=ScenarioResult, summary="Re-score the sector with changed drivers")
def scenario(body: ScenarioRequest, _: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep) -> ScenarioResult:
    """Expected leavers and affected clients within the horizon, by the model that scored the published
    week on that week's snapshot, unchanged and with the scenario's changes, and the difference; sector-wide and per
    organisation with the aggregates' suppression. Model-based, not causal: a policy that changes
    one driver moves others the model holds fixed."""

    def published_model() -> Champion:
        try:
            return load_version(answers.settings, week.model_version)
        except (MlflowException, IncompatibleChampion) as error:
            raise HTTPException(503, f"the model of the published week ({week.model_name} v{week.model_version}) "
                                     "cannot be loaded; run `continuity run`") from error

    def compute() -> dict:
        model = answers.answer(week, "model", published_model)
        result = run_scenario(model.forecaster, answers.frame(week), body.scenario.value, int(body.horizon))
        return result | {"model_name": model.name, "model_version": model.version}

    return ScenarioResult(**answers.answer(week, ("scenario", body.scenario.value, int(body.horizon)), compute))
