"""The people who fill positions: personal traits, and the terms each employer hires them on.

Personal traits (birth year, gender, occupation, pay grade, fte, frailty, proneness to
sickness) travel with a person who moves to another employer; the terms of employment
(contract type, end date, caseload the manager loads them with, a withheld step) are drawn
afresh by every employer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from continuity.vocabulary import CONTRACT_TYPES, GENDERS, OCCUPATIONS

from .hazard import FRAILTY_SIGMA

# Guess: the occupation mix of each team type (docs/evidence.md#realism-of-the-synthetic-sector).
OCCUPATION_MIX = {
    "sociaal wijkteam": {"wijkteam generalist": 4, "maatschappelijk werker": 3, "Wmo-consulent": 2,
                         "opbouwwerker": 1, "jongerenwerker": 1, "ervaringsdeskundige": 0.5},
    "gebiedsteam": {"wijkteam generalist": 4, "Wmo-consulent": 2, "buurtsportcoach": 1,
                    "opbouwwerker": 1, "maatschappelijk werker": 2},
    "jeugd-en-gezinsteam": {"jeugd- en gezinswerker": 5, "jeugdzorgwerker": 3, "jongerenwerker": 1,
                            "casemanager": 1},
    "specialistisch team": {"casemanager": 3, "klantmanager": 3, "jeugdzorgwerker": 2,
                            "ervaringsdeskundige": 1},
}
# Guess after the CAO Sociaal Werk / Jeugdzorg scales: the entry scale of each occupation.
ENTRY_SCALE = {
    "maatschappelijk werker": 8, "jeugd- en gezinswerker": 8, "jeugdzorgwerker": 8,
    "wijkteam generalist": 8, "Wmo-consulent": 8, "klantmanager": 8, "jongerenwerker": 7,
    "opbouwwerker": 8, "buurtsportcoach": 6, "casemanager": 9, "ervaringsdeskundige": 6,
}
MAX_STEP = 10  # guess: steps per scale
MAX_SCALE = 11
GENDER_P = (0.8, 0.18, 0.02)  # guess: social work is mostly female
FTE_CHOICES = np.array([0.5, 0.56, 0.67, 0.72, 0.78, 0.89, 1.0])
FTE_P = np.array([0.08, 0.1, 0.15, 0.12, 0.2, 0.2, 0.15])
# Guess: first contracts are often temporary (docs/evidence.md#flexible-contracts: 27% of Dutch employees on flexible
# contracts; the youth domain mostly permanent); flex means on-call for half a year.
HIRE_CONTRACT_P = (0.55, 0.4, 0.05)
TEMPORARY_WEEKS = np.array([26, 52])
TEMPORARY_WEEKS_P = np.array([0.3, 0.7])
FLEX_WEEKS = 26
STEP_WITHHELD = 0.1  # guess: share of workers whose yearly step is withheld for years
THROWN_IN = 0.3  # guess: share of starters handed mostly complex cases (docs/evidence.md#reasons-for-leaving)
# Guess: how far above or below the caseload norm an employer loads a worker (about a third above).
LOAD_MEDIAN, LOAD_SIGMA = 0.93, 0.18
SICK_PRONENESS_SIGMA = 0.6  # guess: spread in proneness to sickness absence


@dataclass(frozen=True)
class Persons:
    """Traits that stay with a person across employers, one entry per person."""

    birth_year: np.ndarray
    gender: np.ndarray  # index into GENDERS
    occupation: np.ndarray  # index into OCCUPATIONS
    pay_scale: np.ndarray
    pay_step: np.ndarray
    fte: np.ndarray
    frailty: np.ndarray
    sick_proneness: np.ndarray

    def take(self, index: np.ndarray) -> Persons:
        return Persons(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


@dataclass(frozen=True)
class Terms:
    """What an employer decides at hire, one entry per hire."""

    contract_type: np.ndarray  # index into CONTRACT_TYPES
    contract_weeks: np.ndarray  # length of a temporary or flex contract; 0 when permanent
    load: np.ndarray  # caseload target as a multiple of the norm for the worker's fte
    step_withheld: np.ndarray
    thrown_in: np.ndarray


def _lognormal_mean_one(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(-sigma**2 / 2, sigma, n)


def draw_persons(rng: np.random.Generator, team_types: np.ndarray, year: int, *, incumbents: bool) -> Persons:
    """New people for the given team types; `incumbents` are the workforce present at the start.

    Guess: hires are young (median about 30), incumbents spread 22-66 around 44.
    """
    n = len(team_types)
    if incumbents:
        age = np.clip(rng.normal(44, 11, n), 22, 66).astype(int)
    else:
        age = np.clip(22 + rng.gamma(2.0, 5.0, n), 21, 64).astype(int)
    occupation = np.empty(n, dtype=np.int64)
    for team_type in np.unique(team_types):
        mix = OCCUPATION_MIX[str(team_type)]
        weights = np.array(list(mix.values()))
        idx = np.flatnonzero(team_types == team_type)
        occupation[idx] = [OCCUPATIONS.index(o) for o in rng.choice(list(mix), idx.size, p=weights / weights.sum())]
    experience = np.maximum(age - 23, 0)
    return Persons(
        birth_year=year - age,
        gender=rng.choice(len(GENDERS), n, p=GENDER_P),
        occupation=occupation,
        pay_scale=np.array([ENTRY_SCALE[OCCUPATIONS[o]] for o in occupation]),
        pay_step=np.minimum(MAX_STEP, (experience * rng.uniform(0.3, 1.0, n)).astype(int)),
        fte=rng.choice(FTE_CHOICES, n, p=FTE_P),
        frailty=_lognormal_mean_one(rng, FRAILTY_SIGMA, n),
        sick_proneness=_lognormal_mean_one(rng, SICK_PRONENESS_SIGMA, n),
    )


def draw_terms(rng: np.random.Generator, n: int, contract_p: tuple[float, float, float] = HIRE_CONTRACT_P) -> Terms:
    contract_type = rng.choice(len(CONTRACT_TYPES), n, p=contract_p)
    weeks = np.where(contract_type == CONTRACT_TYPES.index("temporary"),
                     rng.choice(TEMPORARY_WEEKS, n, p=TEMPORARY_WEEKS_P), FLEX_WEEKS)
    return Terms(
        contract_type=contract_type,
        contract_weeks=np.where(contract_type == CONTRACT_TYPES.index("permanent"), 0, weeks),
        load=rng.lognormal(np.log(LOAD_MEDIAN), LOAD_SIGMA, n),
        step_withheld=rng.random(n) < STEP_WITHHELD,
        thrown_in=rng.random(n) < THROWN_IN,
    )
