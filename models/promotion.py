"""The champion gate: the `champion` alias moves only to a model at least as good on the same rows, and as fair.

At least as good in rank (C-index) and in size (expected calibration error at
the list's horizon): a model that ranks better but misstates the probabilities
HR acts on does not replace one that states them right. Both figures must come
from the same rows, a backtest's pooled origins or the weekly run's held-out
weeks; a figure that could not be computed for the incumbent does not block.

As fair, judged on the fairness audits (`continuity.models.fairness`) of both
models on those rows, at every horizon, over the groups with enough leavers:

- gender and contract type, absolutely: no group's O/E interval lies wholly
  outside 0.8-1.25, and the AUC gap between groups is at most `MAX_AUC_GAP`
  (or no wider than the incumbent's);
- age band and occupation, against the incumbent: no wider AUC gap and no group
  newly unreliable. Age drives the sector's hazards without being an input, so
  an absolute bar there would block every honest model.

A first model has nothing to be compared with and nothing to keep instead (the
week must be scored): it is promoted, and what the absolute bars found is still
reported. `refusals` says which group and figure failed.
"""

from __future__ import annotations

import math

import pandas as pd

from continuity.horizons import LIST_HORIZON
from continuity.models.fairness import OE_BAND, UNRELIABLE

ABSOLUTE = ("gender", "contract_type")
RELATIVE = ("age_band", "occupation")
MAX_AUC_GAP = 0.05
_FLOAT_NOISE = 1e-9  # a refit on the same rows is the same model, whatever the last bit says


CHOICE_MARGIN = 0.005
"""How much higher a later candidate's validation C-index must be for it to be chosen over an earlier one. The
candidates come simplest first (Cox, then gradient boosting grown from the Cox fit); within this margin they rank
alike as far as the validation weeks can tell, and the model whose hazard ratios a works council can read is kept.
Measured on the tiny test sector: gradient boosting fitted on one machine and on a Dask cluster (risk sets per
partition) scored 0.6312 and 0.6356, around Cox's 0.6322, so the two runs chose different models."""


def choose(validation: dict[str, dict]) -> str:
    """The candidate to deploy, from each one's validation figures in the candidates' order: the first whose
    C-index is within ``CHOICE_MARGIN`` of the best."""
    best = max(figures["c_index"] for figures in validation.values())
    return next(name for name, figures in validation.items() if figures["c_index"] >= best - CHOICE_MARGIN)


def promotion_allowed(candidate: dict, incumbent: dict | None, horizon: int = LIST_HORIZON,
                      fairness: pd.DataFrame | None = None, incumbent_fairness: pd.DataFrame | None = None) -> bool:
    """True when `candidate`'s metrics are no worse than the `incumbent`'s (None: there is no champion yet)."""
    return incumbent is None or not refusals(candidate, incumbent, horizon, fairness, incumbent_fairness)


def refusals(candidate: dict, incumbent: dict | None, horizon: int = LIST_HORIZON,
             fairness: pd.DataFrame | None = None, incumbent_fairness: pd.DataFrame | None = None) -> list[str]:
    """Why the candidate may not replace the incumbent, one sentence per failed figure (empty: it may)."""
    found = fairness_refusals(fairness, incumbent_fairness) if fairness is not None else []
    if incumbent is None:
        return found
    ece = f"ece_{horizon}w"
    if not _no_worse(candidate["c_index"], incumbent["c_index"], higher_is_better=True):
        found.append(f"C-index {candidate['c_index']:.3f} below the champion's {incumbent['c_index']:.3f}")
    if not _no_worse(candidate.get(ece, math.nan), incumbent.get(ece, math.nan), higher_is_better=False):
        found.append(f"{ece} {candidate.get(ece, math.nan):.3f} above the champion's {incumbent[ece]:.3f}")
    return found


def fairness_refusals(candidate: pd.DataFrame, incumbent: pd.DataFrame | None) -> list[str]:
    """The gate's fairness verdict on two audits of the same rows (see the module docstring)."""
    low, high = OE_BAND
    found = []
    for (attribute, h), groups in _judged(candidate).groupby(["attribute", "horizon"]):
        theirs = None if incumbent is None else _judged(incumbent).query("attribute == @attribute and horizon == @h")
        gap, their_gap = _auc_gap(groups), (math.nan if theirs is None else _auc_gap(theirs))
        wider = gap > their_gap + _FLOAT_NOISE if math.isfinite(their_gap) else False
        if attribute in ABSOLUTE:
            for row in groups[groups["status"].eq(UNRELIABLE)].itertuples():
                found.append(f"{attribute} {row.group!r} at {h} weeks: observed/expected {row.observed_expected:.2f} "
                             f"({row.oe_low:.2f}-{row.oe_high:.2f}) lies wholly outside {low}-{high}")
            if gap > MAX_AUC_GAP and (not math.isfinite(their_gap) or wider):
                found.append(f"{attribute} at {h} weeks: AUC gap {gap:.3f} between groups ({_extremes(groups)}) "
                             f"exceeds {MAX_AUC_GAP}" + (f" and the champion's {their_gap:.3f}"
                                                         if math.isfinite(their_gap) else ""))
        elif theirs is not None:
            if wider:
                found.append(f"{attribute} at {h} weeks: AUC gap {gap:.3f} between groups ({_extremes(groups)}) "
                             f"wider than the champion's {their_gap:.3f}")
            was_unreliable = set(theirs.loc[theirs["status"].eq(UNRELIABLE), "group"])
            for row in groups[groups["status"].eq(UNRELIABLE) & ~groups["group"].isin(was_unreliable)].itertuples():
                found.append(f"{attribute} {row.group!r} at {h} weeks: observed/expected {row.observed_expected:.2f} "
                             f"({row.oe_low:.2f}-{row.oe_high:.2f}) newly wholly outside {low}-{high}")
    return found


def _judged(audit: pd.DataFrame) -> pd.DataFrame:
    """The groups with enough leavers to be judged."""
    return audit[audit["status"].ne("insufficient") & audit["attribute"].isin(ABSOLUTE + RELATIVE)]


def _auc_gap(groups: pd.DataFrame) -> float:
    auc = groups["auc"].dropna()
    return float(auc.max() - auc.min()) if len(auc) >= 2 else math.nan


def _extremes(groups: pd.DataFrame) -> str:
    ranked = groups.dropna(subset=["auc"]).sort_values("auc")
    return f"{ranked['group'].iloc[-1]} {ranked['auc'].iloc[-1]:.3f}, {ranked['group'].iloc[0]} {ranked['auc'].iloc[0]:.3f}"


def _no_worse(new: float, current: float, higher_is_better: bool) -> bool:
    if math.isnan(current):
        return True
    if math.isnan(new):
        return False
    return new >= current if higher_is_better else new <= current
