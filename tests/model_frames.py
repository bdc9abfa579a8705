"""Small snapshot-like frames with a known proportional hazard, for the model tests.

A fixed number of posts is simulated week by week; a worker who leaves is
replaced by a new hire the next week. Voluntary leaving follows
h(t | x) = BASE_HAZARD * exp(sum_j TRUE_LOG_HR[j] * x_j(t)), with x(t) the state
recorded before t, so the oracle's hazard ranks rows exactly as the truth does.
Every other feature is noise the models must learn to ignore.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from continuity.models.base import Forecaster
from continuity.models.cox import CoxForecaster
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.split import Split, time_split
from continuity.vocabulary import GENDERS, OCCUPATIONS

BASE_HAZARD = 0.0012
OTHER_HAZARD = 0.003
TRUE_LOG_HR = {"caseload_ratio": 2.0, "sick_weeks_13w": 0.3, "is_temporary": 0.9}
FIRST_MONDAY = pd.Timestamp("2023-01-02")


@dataclass(frozen=True)
class ModelFrames:
    snapshots: pd.DataFrame
    labels: pd.DataFrame
    oracle: pd.DataFrame  # worker_id, week_start, hazard_voluntary, hazard_other


class _Posts:
    """The current holder of each post and their state; `hire` refills the posts in `which`."""

    def __init__(self, n: int, rng: np.random.Generator):
        self.rng = rng
        self.n_hired = 0
        self.worker_id = np.empty(n, dtype=object)
        self.hired_week = np.zeros(n, dtype=int)
        self.organisation = rng.integers(0, 3, n)
        self.team = self.organisation * 10 + rng.integers(0, 4, n)
        self.occupation = np.empty(n, dtype=object)
        self.gender = np.empty(n, dtype=object)
        self.age_band = np.empty(n, dtype=object)
        self.is_temporary = np.zeros(n)
        self.fte = np.zeros(n)
        self.caseload_ratio = np.zeros(n)
        self.sick = np.zeros((n, 13))  # sick-week flags over the last 13 weeks, newest last
        self.sick_weeks_52w = np.zeros(n)
        self.hire(np.arange(n), week=0, tenure=rng.integers(10, 500, n))

    def hire(self, which: np.ndarray, week: int, tenure: np.ndarray | int = 0) -> None:
        k, rng = len(which), self.rng
        self.worker_id[which] = [f"w{self.n_hired + i:05d}" for i in range(k)]
        self.n_hired += k
        self.hired_week[which] = week - tenure
        self.occupation[which] = rng.choice(OCCUPATIONS, k)
        self.gender[which] = rng.choice(GENDERS, k, p=[0.75, 0.23, 0.02])
        self.age_band[which] = rng.choice(["<25", "25-34", "35-44", "45-54", "55+"], k)
        self.is_temporary[which] = rng.random(k) < 0.25
        self.fte[which] = rng.choice([0.6, 0.8, 0.9, 1.0], k)
        self.caseload_ratio[which] = rng.normal(1.0, 0.25, k).clip(0.3, 2.0)
        self.sick[which] = 0.0
        self.sick_weeks_52w[which] = 0.0

    def features(self, week: int) -> dict[str, np.ndarray]:
        n, rng = len(self.worker_id), self.rng
        tenure = week - self.hired_week
        sick_13w = self.sick.sum(axis=1)
        caseload = np.round(self.caseload_ratio * 12 * self.fte)
        return {
            "tenure_weeks": tenure.astype(float),
            "age_band": self.age_band.copy(),
            "gender": self.gender.copy(),
            "occupation": self.occupation.copy(),
            "is_temporary": self.is_temporary.astype(bool),
            "weeks_to_contract_end": np.where(self.is_temporary == 1, rng.integers(1, 52, n), np.nan),
            "fte": self.fte.copy(),
            "pay_scale": 7 + self.organisation,
            "caseload": caseload.astype(int),
            "caseload_ratio": self.caseload_ratio.copy(),
            "mean_complexity": rng.uniform(1.5, 4.0, n),
            "complex_share_starter": np.where(tenure < 104, rng.uniform(0, 0.6, n), 0.0),
            "vulnerable_clients": rng.binomial(caseload.astype(int), 0.3),
            "sick_weeks_13w": sick_13w,
            "sick_weeks_52w": np.maximum(self.sick_weeks_52w, sick_13w),
            "sick_spells_52w": (self.sick_weeks_52w > 0).astype(int) + rng.binomial(1, 0.1, n),
            "overtime_hours_13w": rng.gamma(1.0, 6.0, n),
            "weeks_since_scale_step": rng.integers(0, 200, n).astype(float),
            "weeks_since_manager_change": rng.integers(0, 300, n).astype(float),
            "manager_changes_52w": rng.binomial(2, 0.2, n),
            "team_moves_52w": rng.binomial(1, 0.1, n),
            "team_leavers_26w": rng.poisson(1.0, n),
            "months_to_funding_end": np.where(self.organisation == 2, np.nan, 6.0 + 12 * self.organisation),
            "lost_tender": self.organisation == 1,
        }

    def advance(self) -> None:
        """One week passes: sick spells start and go on, caseloads drift."""
        n, rng = len(self.worker_id), self.rng
        was_sick = self.sick[:, -1] == 1
        sick_now = np.where(was_sick, rng.random(n) < 0.75, rng.random(n) < 0.02)
        self.sick = np.column_stack([self.sick[:, 1:], sick_now.astype(float)])
        self.sick_weeks_52w = np.minimum(self.sick_weeks_52w + sick_now, 52)
        self.caseload_ratio = (self.caseload_ratio + rng.normal(0, 0.03, n)).clip(0.3, 2.0)


def sector_frames(n_posts: int = 300, n_weeks: int = 60, seed: int = 0) -> ModelFrames:
    rng = np.random.default_rng(seed)
    posts = _Posts(n_posts, rng)
    rows, oracle, exits = [], [], {}
    for week in range(n_weeks):
        date = FIRST_MONDAY + pd.Timedelta(weeks=week)
        features = posts.features(week)
        log_hr = sum(beta * features[f].astype(float) for f, beta in TRUE_LOG_HR.items())
        hazard_voluntary = BASE_HAZARD * np.exp(log_hr)
        rows.append(
            pd.DataFrame(
                {
                    "worker_id": posts.worker_id.copy(),
                    "snapshot_date": date.date(),
                    "organisation_id": [f"org{o}" for o in posts.organisation],
                    "team_id": [f"team{t}" for t in posts.team],
                    "region": "GM0363",
                    **features,
                }
            )
        )
        oracle.append(
            pd.DataFrame(
                {
                    "worker_id": posts.worker_id.copy(),
                    "week_start": date.date(),
                    "hazard_voluntary": hazard_voluntary,
                    "hazard_other": OTHER_HAZARD,
                }
            )
        )
        u = rng.random(n_posts)
        reason = np.where(
            u < hazard_voluntary, "voluntary", np.where(u < hazard_voluntary + OTHER_HAZARD, "involuntary", "")
        )
        leaving = np.flatnonzero(reason != "")
        for post in leaving:
            exits[posts.worker_id[post]] = (date + pd.Timedelta(days=int(rng.integers(0, 7))), str(reason[post]))
        posts.advance()
        posts.hire(leaving, week=week + 1)

    snapshots = pd.concat(rows, ignore_index=True)
    data_end = FIRST_MONDAY + pd.Timedelta(weeks=n_weeks)
    return ModelFrames(snapshots, _labels(snapshots, exits, data_end), pd.concat(oracle, ignore_index=True))


def _labels(snapshots: pd.DataFrame, exits: dict, data_end: pd.Timestamp) -> pd.DataFrame:
    exit_date = snapshots["worker_id"].map({w: d for w, (d, _) in exits.items()})
    reason = snapshots["worker_id"].map({w: r for w, (_, r) in exits.items()}).fillna("censored")
    end = exit_date.fillna(data_end)
    return pd.DataFrame(
        {
            "worker_id": snapshots["worker_id"],
            "snapshot_date": snapshots["snapshot_date"],
            "duration_weeks": (end - pd.to_datetime(snapshots["snapshot_date"])).dt.days / 7,
            "exit_reason": reason,
        }
    )


HOLDOUT_WEEKS = 12


def candidates() -> tuple[Forecaster, ...]:
    """Unfitted forecasters on one thread: OpenMP threads spin badly on the shared test machine."""
    return CoxForecaster(), GradientBoostingForecaster(n_jobs=1)


@cache
def default_frames() -> ModelFrames:
    """One shared frame per test session; tests must not modify it."""
    return sector_frames()


@cache
def fitted(name: str) -> tuple[Split, Forecaster]:
    """A forecaster fitted on the default frame's training weeks, shared across test modules."""
    frames = default_frames()
    split = time_split(frames.snapshots, frames.labels, HOLDOUT_WEEKS)
    forecaster = next(c for c in candidates() if c.name == name)
    return split, forecaster.fit(split.train_snapshots, split.train_labels)
