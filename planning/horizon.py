"""P(leave within h weeks) for any horizon, from the horizons the risk list publishes.

The published risk list carries fixed horizons (13, 26 and 52 weeks). A plan or forecast
for another horizon reads its own column when the list has one; otherwise it extends the
longest published horizon k under a constant weekly hazard over the whole span:

    P(leave within h) = 1 - (1 - p_k) ** (h / k)

That is an assumption, not an estimate: where hazards rise with time (a temporary
contract running out) it understates the longer horizon; callers report it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_HORIZON_COLUMN = re.compile(r"^p_(\d+)w$")


def horizon_column(weeks: int) -> str:
    return f"p_{weeks}w"


def published_horizons(risk: pd.DataFrame) -> list[int]:
    return sorted(int(m.group(1)) for m in map(_HORIZON_COLUMN.match, risk.columns) if m)


def p_leave_within(risk: pd.DataFrame, weeks: int) -> tuple[pd.Series, str | None]:
    """(P(leave within ``weeks``) per row, the assumption used or None when the column was published)."""
    if weeks <= 0:
        raise ValueError(f"the horizon must be a positive number of weeks, got {weeks}")
    column = horizon_column(weeks)
    if column in risk.columns:
        return risk[column].astype(float), None
    horizons = published_horizons(risk)
    if not horizons:
        raise ValueError("the risk frame has no p_<weeks>w column")
    longest = horizons[-1]
    p = risk[horizon_column(longest)].astype(float).clip(0.0, 1.0)
    derived = 1.0 - np.power(1.0 - p, weeks / longest)
    return derived, (f"P(leave within {weeks} weeks) derived from the {longest}-week probability "
                     "under a constant weekly hazard")
