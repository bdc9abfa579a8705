"""The fixed horizons of every published probability, and the one spelling of their column names.

A horizon is a number of weeks h; the probability of leaving voluntarily within h weeks
is published as the column ``p_<h>w`` (``p_13w``, ``p_26w``, ``p_52w``). The weekly list
is ranked by ``LIST_HORIZON``: 26 weeks is the span HR plans a retention conversation on.

A plan or forecast for another horizon reads its own column when the list has one;
otherwise it extends the longest published horizon k under a constant weekly hazard:

    P(leave within h) = 1 - (1 - p_k) ** (h / k)

That is an assumption, not an estimate: where hazards rise with time (a temporary
contract running out) it understates the longer horizon; callers report it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

HORIZONS = (13, 26, 52)
LIST_HORIZON = 26

_COLUMN = re.compile(r"^p_(\d+)w$")


def risk_column(horizon: int) -> str:
    return f"p_{horizon}w"


def horizon_of(column: str) -> int | None:
    """The horizon a column name spells (``p_26w`` -> 26), or None for any other column."""
    match = _COLUMN.match(column)
    return int(match.group(1)) if match else None


def horizons_in(columns: Iterable[str]) -> list[int]:
    """The horizons among the columns, shortest first."""
    return sorted(h for h in map(horizon_of, columns) if h is not None)


def p_leave_within(risk: pd.DataFrame, weeks: int) -> tuple[pd.Series, str | None]:
    """(P(leave within ``weeks``) per row, the assumption used or None when the column was published)."""
    if weeks <= 0:
        raise ValueError(f"the horizon must be a positive number of weeks, got {weeks}")
    column = risk_column(weeks)
    if column in risk.columns:
        return risk[column].astype(float), None
    horizons = horizons_in(risk.columns)
    if not horizons:
        raise ValueError("the risk frame has no p_<weeks>w column")
    longest = horizons[-1]
    p = risk[risk_column(longest)].astype(float).clip(0.0, 1.0)
    derived = 1.0 - np.power(1.0 - p, weeks / longest)
    return derived, (f"P(leave within {weeks} weeks) derived from the {longest}-week probability "
                     "under a constant weekly hazard")
