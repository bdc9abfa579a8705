"""The champion gate: the `champion` alias moves only to a model at least as good on the same rows.

At least as good in rank (C-index) and in size (expected calibration error at
the list's horizon): a model that ranks better but misstates the probabilities
HR acts on does not replace one that states them right. Both figures must come
from the same rows, a backtest's pooled origins or the weekly run's held-out
weeks; a figure that could not be computed for the incumbent does not block.
"""

from __future__ import annotations

import math

from continuity.horizons import LIST_HORIZON


def promotion_allowed(candidate: dict, incumbent: dict | None, horizon: int = LIST_HORIZON) -> bool:
    """True when `candidate`'s metrics are no worse than the `incumbent`'s (None: there is no champion yet)."""
    if incumbent is None:
        return True
    ece = f"ece_{horizon}w"
    return _no_worse(candidate["c_index"], incumbent["c_index"], higher_is_better=True) and _no_worse(
        candidate.get(ece, math.nan), incumbent.get(ece, math.nan), higher_is_better=False
    )


def _no_worse(new: float, current: float, higher_is_better: bool) -> bool:
    if math.isnan(current):
        return True
    if math.isnan(new):
        return False
    return new >= current if higher_is_better else new <= current
