"""The second world (`continuity synth --world interactions`): voluntary leaving that is not proportional.

The default world (`hazard.voluntary_ratio`) multiplies one fixed hazard ratio per driver: the
shape a Cox model assumes, so it cannot show whether model choice would still be right if risk
were shaped otherwise. Here the same drivers act the way the evidence says they may, but not as
constant multipliers:

- **effects that change with tenure**: funding insecurity and a temporary contract weigh most on
  newcomers and fade as tenure grows;
- **interactions**: caseload above the norm hurts starters far more than settled workers, and a new
  manager hurts most in a team that is already losing people;
- **a non-monotone shape**: the caseload ratio acts as a U, with the lowest hazard a little under
  the norm and a rising hazard on both sides;
- **an effect that wears off**: the new manager's effect decays smoothly with the weeks since the
  change instead of stepping down at 13 and 26 weeks.

Tenure, age, a withheld pay-scale step, complex cases for starters and sick leave act as in the
default world (the same constants of `hazard`), so both worlds share their main shape and
differ only where this docstring says. Other exits are the same `hazard.other_exits`. The
oracle is this ratio times `BASELINE_VOLUNTARY_WEEKLY`, without the frailty, as in the default.
Every size below is a **guess** shaped on the direction and range of the row of
docs/evidence.md#hazard-ratios-per-driver it replaces; none has a source of its own.
"""

from __future__ import annotations

import numpy as np

from . import hazard
from .hazard import Drivers

# Caseload, a U in the ratio r = open primary cases / (norm x fte). The log hazard ratio rises
# with the squared distance from CASELOAD_BEST_RATIO: a load a little under the norm is the most
# workable. Below it, too few clients (bore-out, hours and funding in doubt) raise the hazard
# gently: CASELOAD_UNDER_CURVE makes r = 0.5 about 1.2. Above it the curve is steeper, and four
# times as steep for starters (tenure < `hazard.STARTER_WEEKS`): a settled worker at r = 1.25
# gets about 1.2, close to the default world's 1.25; a starter about 1.9, at the top of the range
# the evidence gives complex cases while a starter (1.2-2.0): too many clients, like too hard ones,
# weigh most on a newcomer who has not yet learnt to ration time.
CASELOAD_BEST_RATIO = 0.85
CASELOAD_UNDER_CURVE = 1.5
CASELOAD_OVER_CURVE = 1.0
CASELOAD_OVER_STARTER_FACTOR = 4.0
# The weeks a newly hired starter has not yet had a full caseload: arrivals fill a fraction of the
# free places each week (`caseload.ARRIVAL_PER_WEEK`), so a newcomer's low ratio is the ordinary
# build-up, not under-loading, and is not counted as such.
CASELOAD_BUILD_UP_WEEKS = 13

# New manager, wearing off: hazard ratio 1 + peak x exp(-weeks since the change / decay), with a
# decay of 10 weeks (half-life about 7): 1.9 in the first week, 1.3 after 10 weeks, 1.07 after
# half a year. In a team that lost >= `hazard.TEAM_LEAVERS_MIN` colleagues in 26 weeks the peak is
# MANAGER_PEAK_TURMOIL (2.6 in the first week): a new manager in a team already losing people is
# taken as the sign to go too (the leader-quit study of the manager row found a hazard about five
# times as high). Averaged over the first half-year that is about 1.3 in a calm team and 1.6 in a
# team losing people, around the default world's 1.55 for everyone (1.8 in months 0-3, 1.3 in 4-6).
MANAGER_DECAY_WEEKS = 10.0
MANAGER_PEAK = 0.9
MANAGER_PEAK_TURMOIL = 1.6
# Team outflow alone keeps the default world's ratio (`hazard.HR_TEAM_LEAVERS`).

# Effects that fade with tenure: hazard ratio 1 + extra x exp(-tenure / fade). Job insecurity
# raises the intention to leave more at short tenure (Cheng & Chan 2008, in the funding row):
# funding insecurity doubles a newcomer's hazard and is worth about 1.2 after four years, against
# the default's flat 1.5. A temporary contract, likewise, counts most in the first year (a
# newcomer still looking for a permanent post): 1.8 at hire, 1.3 after a year, against a flat 1.3.
FUNDING_EXTRA, FUNDING_FADE_WEEKS = 1.0, 130.0
TEMPORARY_EXTRA, TEMPORARY_FADE_WEEKS = 0.8, 52.0

# Set by simulation like `hazard.BASELINE_VOLUNTARY_WEEKLY`: with the ratios above and the same
# frailty, the yearly voluntary leaving matches the default world's. On 2000 positions x 5 years,
# seeds 0-2, this world reached 21.4%, 23.2% and 22.2% voluntary leaving per worker-year (mean
# 22.3%) where the default reached 21.5%, 22.8% and 21.9% (mean 22.05%); 0.00194 gave 20.96%.
# Leaving an employer, all reasons: 29.2-35.0% here, 29.7-34.2% in the default.
BASELINE_VOLUNTARY_WEEKLY = 0.00203


def caseload_ratio_hr(ratio: np.ndarray, starter: np.ndarray, building_up: np.ndarray) -> np.ndarray:
    """The U-shaped hazard ratio of the caseload ratio, steeper above the norm for starters."""
    under = np.where(building_up, 0.0, np.minimum(ratio - CASELOAD_BEST_RATIO, 0.0))
    over = np.maximum(ratio - CASELOAD_BEST_RATIO, 0.0)
    over_curve = CASELOAD_OVER_CURVE * np.where(starter, CASELOAD_OVER_STARTER_FACTOR, 1.0)
    return np.exp(CASELOAD_UNDER_CURVE * under**2 + over_curve * over**2)


def manager_hr(weeks_since_change: np.ndarray, team_leavers: np.ndarray) -> np.ndarray:
    """A new manager's hazard ratio, wearing off with the weeks since the change, larger in a team losing people."""
    peak = np.where(team_leavers >= hazard.TEAM_LEAVERS_MIN, MANAGER_PEAK_TURMOIL, MANAGER_PEAK)
    return 1.0 + peak * np.exp(-np.maximum(weeks_since_change, 0.0) / MANAGER_DECAY_WEEKS)


def fading_hr(exposed: np.ndarray, tenure_weeks: np.ndarray, extra: float, fade_weeks: float) -> np.ndarray:
    """A hazard ratio for an exposure that weighs most on newcomers and fades with tenure."""
    return np.where(exposed, 1.0 + extra * np.exp(-tenure_weeks / fade_weeks), 1.0)


def voluntary_ratio(d: Drivers) -> np.ndarray:
    """Combined hazard ratio of voluntary leaving against the reference worker, capped like the default."""
    ratio = (
        hazard.tenure_hr(d)
        * hazard.age_hr(d)
        * caseload_ratio_hr(d.caseload_ratio, d.starter, d.tenure_weeks < CASELOAD_BUILD_UP_WEEKS)
        * hazard.starter_complex_hr(d)
        * hazard.scale_step_hr(d)
        * manager_hr(d.weeks_since_manager_change, d.team_leavers_26w)
        * hazard.team_leavers_hr(d)
        * fading_hr(d.temporary, d.tenure_weeks, TEMPORARY_EXTRA, TEMPORARY_FADE_WEEKS)
        * hazard.sick_hr(d)
        * fading_hr(d.funding_insecure, d.tenure_weeks, FUNDING_EXTRA, FUNDING_FADE_WEEKS)
    )
    return np.minimum(ratio, hazard.HR_CAP)
