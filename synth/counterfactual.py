"""The true outflow of one week's workers in a future simulated under a policy: what a scenario should find.

A scenario re-scores the workers active on day T. Its truth is those same workers' voluntary leaving in
the weeks after T, simulated once with the policy and once without (`synth.policy`), both from the same
history. Two counts of leavers differ by chance as well as by the policy, so the expected count is the
figure to compare with: the sum over the weeks of each worker's probability of leaving voluntarily that
week while still employed, which is the count's expectation given the path the simulation took. It is
given twice: with each worker's frailty (the probability the simulation drew from, the exact
expectation) and with the oracle's hazard (no frailty, as the oracle files record it).
Only the simulation runs: no export is written, so a future takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from .generate import EPOCH, _streams, check_policy, sector_layout
from .policy import Policy
from .simulate import Simulation, Week
from .worlds import DEFAULT_WORLD, WORLDS


@dataclass(frozen=True)
class Outflow:
    """Voluntary leaving of the workers at risk in the policy's first week, within `horizon` weeks."""

    horizon: int
    workers: int
    expected: float  # sum of the drawn weekly probabilities (with frailty) while employed
    oracle_expected: float  # the same with the oracle's hazard (no frailty)
    realised: int


def cohort_outflow(policy: Policy, horizons: Sequence[int], *, workers: int, years: int, seed: int,
                   world: str = DEFAULT_WORLD, start: date = date(2020, 1, 6)) -> list[Outflow]:
    """The outflow, per horizon, of the workers at risk on `policy.from_day` in the sector that
    `generate_sector` draws for these arguments, re-simulated under `policy`."""
    check_policy(policy, start, years)
    start_day = (start - EPOCH).days
    first = (policy.from_day - start).days // 7
    longest = max(horizons)
    if first + longest > 52 * years:
        raise ValueError(f"{longest} weeks after {policy.from_day} reach beyond the simulated {years} years")
    sector = sector_layout(workers=workers, years=years, seed=seed, start=start, policy=policy)
    weeks: list[Week] = []
    Simulation(sector, _streams(seed)["weekly"], start_day, first + longest, WORLDS[world], lambda rows: None,
               policy, lambda week: weeks.append(week) if week.week >= first else None).run()
    cohort = weeks[0].rows
    sums = np.zeros((longest, 3))
    for i, week in enumerate(weeks):
        mine = np.isin(week.rows, cohort)
        sums[i] = (week.voluntary_p[mine].sum(), week.voluntary[mine].sum(), week.left_voluntarily[mine].sum())
    totals = np.cumsum(sums, axis=0)
    return [Outflow(h, int(cohort.size), float(totals[h - 1, 0]), float(totals[h - 1, 1]), int(round(totals[h - 1, 2])))
            for h in horizons]
