"""Response model of the sector inflow, ``GET /inflow`` (``continuity.forecasts.aggregates.inflow_cells``)."""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, Field

from continuity.serving.schemas import Week
from continuity.serving.schemas_planning import AggregateBy


class InflowHorizon(IntEnum):
    """One, two and three years (``continuity.forecasts.inflow.HORIZONS_WEEKS``)."""

    weeks_52 = 52
    weeks_104 = 104
    weeks_156 = 156


class InflowFigure(BaseModel):
    expected: float = Field(description="The forecast: a count over the horizon (net_change: expected hires minus "
                                        "expected exits, negative when the cell shrinks; without_steady_worker: the "
                                        "count on the date the horizon ends).")
    interval: list[int] = Field(min_length=2, max_length=2, description="90% interval.")
    past: float = Field(description="What the figure rests on: hires, exits, moves or leavers of the sector counted "
                                    "in the window (net_change: hires minus exits); without_steady_worker: the "
                                    "cell's mean number of open "
                                    "clients on the past dates.")
    window_weeks: float = Field(description="The weeks the figure was counted over, before the data end (moves and "
                                            "leaves_sector: before the data end minus 26 weeks, the move window, "
                                            "so that every destination counted is known).")


_FIGURE = "; null when the cell is suppressed or the measure is unavailable"


class InflowCell(BaseModel):
    key: str = Field(description="The region, organisation, domain or occupation (sector: the whole sector).")
    suppressed: bool = Field(description="True when the aggregates suppress the same cell (or it has no scored worker "
                                         "this week): every figure is then null.")
    hires: InflowFigure | None = Field(description="Hires over the horizon" + _FIGURE + ".")
    exits: InflowFigure | None = Field(description="Exits over the horizon, every reason" + _FIGURE + ".")
    net_change: InflowFigure | None = Field(description="Net change in staff (hires minus exits)" + _FIGURE + ".")
    moves: InflowFigure | None = Field(
        description="Voluntary leavers over the horizon who start another employment in the sector within 26 weeks "
                    "(at another employer, or rarely the same one again)" + _FIGURE + ".")
    leaves_sector: InflowFigure | None = Field(
        description="Voluntary leavers over the horizon who leave the sector: no new employment in it within 26 "
                    "weeks" + _FIGURE + ".")
    without_steady_worker: InflowFigure | None = Field(
        description="Clients expected to be without a steady worker when the horizon ends: no worker of theirs "
                    "has seen them in 13 weeks, or they wait on a vacancy" + _FIGURE + ".")


class Inflow(BaseModel):
    week: Week
    by: AggregateBy
    horizon: InflowHorizon
    level: float = Field(description="The intervals' level.")
    unavailable: dict[str, str] = Field(description="Per measure the export cannot forecast (too short a history, "
                                                    "no contacts, no person_key to tell a move), why; empty when "
                                                    "every measure is forecast.")
    sector: InflowCell | None = Field(description="The whole sector as one cell; null for a sector token limited to "
                                                  "regions (it reaches outside them).")
    cells: list[InflowCell] = Field(description="One cell per key of the grouping, suppressed as the aggregates' "
                                                "cells are; an hr token gets its own organisation's cell only.")
