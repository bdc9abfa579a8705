"""The documented hazard model of the synthetic sector: who leaves in a week, and why.

In the default world (`continuity synth --world proportional`) voluntary leaving is
proportional: weekly probability = baseline x the product of the hazard ratios of the
drivers a worker is exposed to, the product capped at ``HR_CAP``.
Every ratio is the central value of a row of docs/evidence.md#hazard-ratios-per-driver.
The simulation multiplies this by a personal frailty that no export records, so the
oracle (this model without frailty) is the best a model could reach from the data.
The second world, `synth.interactions`, reshapes some of these drivers so that they are
not proportional; `synth.worlds` names both.

Other exits compete in the same week: retirement, dismissal/disability and the end of
a temporary contract that is not renewed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEKS_PER_YEAR = 365.25 / 7

# docs/evidence.md#weekly-hazard-calibration: cap the combined hazard ratio at about 5.
HR_CAP = 5.0
# docs/evidence.md#hazard-ratios-per-driver, in table order.
HR_CASELOAD_ABOVE_NORM = 1.25
HR_STARTER_COMPLEX = 1.5
STARTER_WEEKS = 104  # "tenure < 2 years"
STARTER_COMPLEX_SHARE = 0.5  # guess: "high complexity" = at least half the primary cases complex
HR_NO_SCALE_STEP = 1.15
NO_SCALE_STEP_WEEKS = 156  # "> 3 years"
HR_NEW_MANAGER_0_3M = 1.8
HR_NEW_MANAGER_4_6M = 1.3
HR_TEAM_LEAVERS = 1.3
TEAM_LEAVERS_MIN = 2  # ">= 2 team colleagues left in the last 6 months" (26 weeks)
HR_TEMPORARY = 1.3
HR_SICK_13W = 1.6
HR_LONG_SICK = 2.0
LONG_SICK_WEEKS = 6  # "spell > 6 weeks"
HR_FUNDING_INSECURE = 1.5
TENURE_BAND_WEEKS = (13, 104, 260, 520)  # 3 months, 2, 5 and 10 years
TENURE_HR = (1.2, 1.8, 1.3, 1.0, 0.7)
AGE_BANDS = (25, 35, 45, 55)
AGE_HR = (1.6, 1.3, 1.0, 0.8, 0.7)

# Set by simulation (docs/evidence.md#weekly-hazard-calibration: the reference group is not the average
# worker): with the drivers above and the frailty below, this baseline gives about 20% a year
# voluntary leaving of an organisation, 70% of all leaving (calibrated on 2000 positions x 5
# years, seeds 0-2; `sector.json` reports the rates each run reached).
BASELINE_VOLUNTARY_WEEKLY = 0.00205
# Guess: unobserved propensity to leave (engagement, family, labour market), lognormal, mean 1.
FRAILTY_SIGMA = 0.5

# docs/evidence.md#retirement-and-disability: the retirement hazard starts at 60 and rises steeply
# towards the state pension age of 67; the yearly probabilities per age are a guess shaped to give
# 2-3 points of outflow.
RETIREMENT_AGES = np.arange(60, 67)
RETIREMENT_YEARLY = np.array([0.08, 0.10, 0.14, 0.20, 0.30, 0.45, 0.60])
PENSION_AGE = 67
# docs/evidence.md#retirement-and-disability: disability/unemployment 1-2 points a year.
INVOLUNTARY_YEARLY = 0.015
# Guess (docs/evidence.md#exit-mix: no branch figure): share of temporary contracts renewed at their end.
TEMPORARY_RENEWAL = 0.6


def weekly(yearly: np.ndarray | float) -> np.ndarray | float:
    """The weekly probability that compounds to a yearly one."""
    return 1.0 - (1.0 - yearly) ** (1.0 / WEEKS_PER_YEAR)


@dataclass(frozen=True)
class Drivers:
    """Exposure of each at-risk worker at the week start t, from data dated before t."""

    tenure_weeks: np.ndarray
    age: np.ndarray
    caseload_ratio: np.ndarray  # open primary cases / (norm x fte)
    complex_share: np.ndarray
    weeks_since_scale_step: np.ndarray
    weeks_since_manager_change: np.ndarray
    team_leavers_26w: np.ndarray
    temporary: np.ndarray
    weeks_since_sick: np.ndarray
    last_spell_weeks: np.ndarray
    funding_insecure: np.ndarray

    @property
    def caseload_above_norm(self) -> np.ndarray:
        return self.caseload_ratio > 1.0

    @property
    def starter(self) -> np.ndarray:
        return self.tenure_weeks < STARTER_WEEKS


# One hazard-ratio factor per driver that both worlds share (`synth.interactions` reshapes the others).
def tenure_hr(d: Drivers) -> np.ndarray:
    return np.asarray(TENURE_HR)[np.digitize(d.tenure_weeks, TENURE_BAND_WEEKS)]


def age_hr(d: Drivers) -> np.ndarray:
    return np.asarray(AGE_HR)[np.digitize(d.age, AGE_BANDS)]


def starter_complex_hr(d: Drivers) -> np.ndarray:
    return np.where(d.starter & (d.complex_share >= STARTER_COMPLEX_SHARE), HR_STARTER_COMPLEX, 1.0)


def scale_step_hr(d: Drivers) -> np.ndarray:
    return np.where(d.weeks_since_scale_step > NO_SCALE_STEP_WEEKS, HR_NO_SCALE_STEP, 1.0)


def team_leavers_hr(d: Drivers) -> np.ndarray:
    return np.where(d.team_leavers_26w >= TEAM_LEAVERS_MIN, HR_TEAM_LEAVERS, 1.0)


def sick_hr(d: Drivers) -> np.ndarray:
    recent_sick = d.weeks_since_sick <= 13
    return np.select(
        [recent_sick & (d.last_spell_weeks > LONG_SICK_WEEKS), recent_sick],
        [HR_LONG_SICK, HR_SICK_13W],
        1.0,
    )


def voluntary_ratio(d: Drivers) -> np.ndarray:
    """Combined hazard ratio of voluntary leaving against the reference worker, capped.

    The factor functions above are shared with the interactions world (`synth.interactions`),
    which keeps those drivers as they are and reshapes the others.
    """
    ratio = (
        tenure_hr(d)
        * age_hr(d)
        * np.where(d.caseload_above_norm, HR_CASELOAD_ABOVE_NORM, 1.0)
        * starter_complex_hr(d)
        * scale_step_hr(d)
        * np.select(
            [d.weeks_since_manager_change <= 13, d.weeks_since_manager_change <= 26],
            [HR_NEW_MANAGER_0_3M, HR_NEW_MANAGER_4_6M],
            1.0,
        )
        * team_leavers_hr(d)
        * np.where(d.temporary, HR_TEMPORARY, 1.0)
        * sick_hr(d)
        * np.where(d.funding_insecure, HR_FUNDING_INSECURE, 1.0)
    )
    return np.minimum(ratio, HR_CAP)


def retirement_hazard(age: np.ndarray) -> np.ndarray:
    """Weekly probability of retiring; certain once the state pension age is reached."""
    yearly = np.zeros(age.shape)
    in_window = (age >= RETIREMENT_AGES[0]) & (age < PENSION_AGE)
    yearly[in_window] = RETIREMENT_YEARLY[age[in_window] - RETIREMENT_AGES[0]]
    return np.where(age >= PENSION_AGE, 1.0, weekly(yearly))


@dataclass(frozen=True)
class OtherExits:
    """Weekly probabilities of the exits that compete with voluntary leaving."""

    retirement: np.ndarray
    involuntary: np.ndarray
    end_of_contract: np.ndarray
    transfer: np.ndarray

    def combined(self) -> np.ndarray:
        return 1.0 - (
            (1.0 - self.retirement) * (1.0 - self.involuntary)
            * (1.0 - self.end_of_contract) * (1.0 - self.transfer)
        )


def other_exits(age: np.ndarray, contract_ends_this_week: np.ndarray, team_transferred: np.ndarray) -> OtherExits:
    """The competing exits; a lost tender moves the whole team to the winner (a certain exit)."""
    return OtherExits(
        retirement=retirement_hazard(age),
        involuntary=np.full(age.shape, weekly(INVOLUNTARY_YEARLY)),
        end_of_contract=np.where(contract_ends_this_week, 1.0 - TEMPORARY_RENEWAL, 0.0),
        transfer=team_transferred.astype(float),
    )
