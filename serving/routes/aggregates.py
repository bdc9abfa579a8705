"""Aggregate forecasts for sector bodies (and hr, admin): expected outflow and affected clients, never an individual.

The API answers one grouping and horizon at a time; the web page's sector page shows every
cell of a grouping and horizon with its interval, and offers every cell of every grouping and
horizon as CSV and Parquet for BI tools. A sector token limited to regions sees, here as in the
API, only the cells within them (``forecasts.aggregates.cells_within_regions``). ``GET /inflow`` and the page's inflow
section answer the week's sector inflow (hires, exits, net change, voluntary leavers who move within the sector and
who leave it, clients without a steady worker, one to three years ahead) in the same cells with the same suppression
(``forecasts.aggregates.inflow_cells``); the page draws each region it shows with its past years
(``serving/charts.py``).
"""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from continuity.forecasts.aggregates import INFLOW_MEASURES
from continuity.serving.deps import ForecastAnswersDep, SectorReaderDep, WeekDep
from continuity.serving.schemas import NOT_PUBLISHED, UNAUTHENTICATED, Horizon, Problem
from continuity.serving.schemas_inflow import Inflow, InflowHorizon
from continuity.serving.schemas_planning import AggregateBy, Aggregates, Measure
from continuity.serving.routes.tenders import calendar_scope
from continuity.serving.templating import render
from continuity.spreadsheet_safety import neutralise_frame
from continuity.vocabulary import municipality_name

router = APIRouter(
    tags=["sector"],
    responses={
        **UNAUTHENTICATED,
        403: {"model": Problem, "description": "A manager token: aggregates are for sector, hr and admin tokens."},
        **NOT_PUBLISHED,
    },
)
pages = APIRouter(prefix="/ui/sector", include_in_schema=False)


@router.get("/aggregates", response_model=Aggregates, summary="Expected leavers and affected clients per group")
async def aggregates(
    grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep,
    by: Annotated[AggregateBy, Query(description="Group by region, organisation, main domain or occupation.")],
    horizon: Annotated[Horizon, Query(description="Leaving within 13, 26 or 52 weeks.")] = Horizon.weeks_26,
    measure: Annotated[Measure, Query(description="voluntary: leaving the employer; sector: of whom leaving the "
                                      "sector; moves: of whom moving to another employer of the sector.")]
    = Measure.voluntary,
) -> Response:
    """Per group: expected voluntary leavers within the horizon with a 90% interval, clients expected to
    lose their trusted worker, and last year's observed voluntary outflow. Cells under 10 workers are
    suppressed together with complementary cells, decided jointly over every grouping, so that no
    hidden cell can be recovered by subtracting published cells or combining queries, not even by
    an insider (an hr token or a team's manager) who subtracts the workers they can see: what is
    left of a published cell outside any organisation or team is 0 or at least 10 workers. A sector
    token limited to regions gets the cells whose workers all work in them. ``measure=sector`` and
    ``measure=moves`` split the same cells (same suppression) into leaving the sector and moving employer;
    without a person_key in the export they say why in ``destinations`` and give no figures."""
    return Response(await answers.aggregates(week, by, horizon, grant.regions, measure),
                    media_type="application/json")


@router.get("/inflow", response_model=Inflow,
            summary="Hires, net change in staff, moves and leavers of the sector, clients without a steady worker")
def inflow(
    grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep,
    by: Annotated[AggregateBy, Query(description="Group by region, organisation, domain or occupation.")],
    horizon: Annotated[InflowHorizon, Query(description="One, two or three years: 52, 104 or 156 weeks.")]
    = InflowHorizon.weeks_52,
) -> Inflow:
    """Per group and for the sector as a whole: hires and exits over the horizon, the net change in staff (hires
    minus exits), the voluntary leavers who move to another employment in the sector (``moves``) and who leave it
    (``leaves_sector``), and the clients expected to be without a steady worker when it ends (no worker of theirs
    has seen them in 13 weeks, or they wait on a vacancy), each with a 90% interval and what it rests on. Forecast
    at the week's data end from the export's last two years of hires and exits (a rate per cell, allowing for its
    drift between half years; the moves and leavers of the sector from the two years ending 26 weeks earlier, when
    every destination is known) and its clients on the past year's dates. A cell the aggregates suppress is suppressed
    here
    too, and so is a cell without a scored worker this week. An hr token gets its own organisation's cell and the
    sector as a whole, never another organisation's cell or a cell shared with one; a sector token limited to
    regions gets the cells wholly within them and no sector total. A measure the export cannot forecast (too short a
    history, no contacts, no person_key to tell a move) is named in ``unavailable`` with the reason, not guessed."""
    organisation, regions = calendar_scope(grant)
    return Inflow(week=week.score_date, level=0.90, **answers.inflow(week, by, int(horizon), organisation, regions))


@pages.get("", response_class=HTMLResponse)
def sector_page(
    request: Request, grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep,
    by: Annotated[AggregateBy, Query()] = AggregateBy.region,
    horizon: Annotated[Horizon, Query()] = Horizon.weeks_26,
) -> HTMLResponse:
    """The cells of one grouping and horizon with their intervals, the inflow, a chart per region of its past
    and forecast hires and leavers, and the tender calendar; where a sector token lands after login."""
    cells = answers.cells(week, grant.regions)
    shown = cells[(cells.grouping == by.value) & (cells.horizon == int(horizon))]
    organisation, regions = calendar_scope(grant)
    inflows = [answers.inflow(week, by, int(h), organisation, regions) for h in InflowHorizon]
    return render(request, "sector.html", week=week, by=by.value, horizon=int(horizon),
                  groupings=[b.value for b in AggregateBy], horizons=[int(h) for h in Horizon],
                  cells=shown.astype(object).where(shown.notna(), None).to_dict("records"),
                  regions=sorted(grant.regions), tenders=answers.funding_contracts(week, organisation, regions),
                  inflow=_inflow_rows(inflows), inflow_unavailable=inflows[0]["unavailable"],
                  inflow_measures=INFLOW_MEASURES, region_charts=answers.region_charts(week, organisation, regions))


def _inflow_rows(bodies: list[dict]) -> list[dict]:
    """The page's inflow table: per cell (the sector first), one row per horizon."""
    rows = []
    for body in bodies:
        cells = ([{**body["sector"], "sector": True}] if body["sector"] else []) + body["cells"]
        rows += [{**cell, "horizon": body["horizon"],
                  "name": municipality_name(cell["key"]) if body["by"] == "region" else None} for cell in cells]
    return sorted(rows, key=lambda r: (not r.get("sector"), r["key"], r["horizon"]))


@pages.get("/cells.csv")
def cells_csv(grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep) -> Response:
    """Every cell of every grouping and horizon, one row each; suppressed cells with empty figures."""
    table = neutralise_frame(answers.cells(week, grant.regions))  # an occupation may read as a formula
    return Response(table.to_csv(index=False), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="sector-cells-{week.score_date}.csv"'})


@pages.get("/inflow.csv")
def inflow_csv(grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep) -> Response:
    """Every inflow cell the reader may see, of every grouping and horizon, one row per measure; suppressed cells
    with empty figures."""
    table = neutralise_frame(answers.inflow_rows(week, *calendar_scope(grant)))  # an occupation may read as a formula
    return Response(table.to_csv(index=False), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="sector-inflow-{week.score_date}.csv"'})


@pages.get("/inflow.parquet")
def inflow_parquet(grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep) -> Response:
    """The same table as Parquet, typed."""
    buffer = io.BytesIO()
    answers.inflow_rows(week, *calendar_scope(grant)).to_parquet(buffer, index=False)
    return Response(buffer.getvalue(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="sector-inflow-{week.score_date}.parquet"'})


@pages.get("/cells.parquet")
def cells_parquet(grant: SectorReaderDep, week: WeekDep, answers: ForecastAnswersDep) -> Response:
    """The same table as Parquet, typed (nullable integers for counts), as BI tools read it."""
    buffer = io.BytesIO()
    answers.cells(week, grant.regions).to_parquet(buffer, index=False)
    return Response(buffer.getvalue(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="sector-cells-{week.score_date}.parquet"'})
