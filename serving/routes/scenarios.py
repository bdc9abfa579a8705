"""What-if scenarios for sector bodies (and hr, admin): the champion model re-scores the sector with changed drivers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from mlflow.exceptions import MlflowException

from continuity.models.registry import Champion, load_champion
from continuity.planning.scenarios import run_scenario
from continuity.serving.deps import SectorAnswersDep, SectorReaderDep, WeekDep
from continuity.serving.schemas import Problem, UNAUTHENTICATED
from continuity.serving.schemas_planning import ScenarioRequest, ScenarioResult

router = APIRouter(
    tags=["sector"],
    responses={
        **UNAUTHENTICATED,
        400: {"model": Problem, "description": "The body is not valid JSON."},
        403: {"model": Problem, "description": "A manager token: scenarios are for sector, hr and admin tokens."},
        503: {"model": Problem, "description": "No week published, the warehouse is being written, or no champion "
                                               "model is registered."},
    },
)


@router.post("/scenarios", response_model=ScenarioResult, summary="Re-score the sector with changed drivers")
def scenario(body: ScenarioRequest, _: SectorReaderDep, week: WeekDep, answers: SectorAnswersDep) -> ScenarioResult:
    """Expected leavers and affected clients within the horizon, by the champion model on this week's
    snapshot, unchanged and with the scenario's changes, and the difference; sector-wide and per
    organisation with the aggregates' suppression. Model-based, not causal: a policy that changes
    one driver moves others the model holds fixed."""

    def champion() -> Champion:
        try:
            return load_champion(answers.settings)
        except MlflowException as error:
            raise HTTPException(503, f"no champion model can be loaded: {error.message}") from error

    def compute() -> dict:
        model = answers.answer(week, "champion", champion)
        result = run_scenario(model.forecaster, answers.frame(week), body.scenario.value, int(body.horizon))
        return result | {"model_name": model.name, "model_version": model.version}

    return ScenarioResult(**answers.answer(week, ("scenario", body.scenario.value, int(body.horizon)), compute))
