"""The distribution of the number of leavers in a group, and intervals that hold when colleagues leave together.

**Independent workers.** Each worker leaves or stays (a Bernoulli with their own
probability), so if workers were independent the count of leavers in a cell would
follow the Poisson-binomial distribution. Its probability mass is the product of the
polynomials (1 - p_i + p_i z); the product is formed exactly (up to floating-point
rounding) by multiplying pairs of polynomials level by level with batched FFTs,
O(n log^2 n), so a region of tens of thousands of workers costs milliseconds.

**Correlated leaving.** Colleagues do not leave independently: a team that loses its
manager or sees others go, an organisation that loses a tender, lose several at once.
On the synthetic sector the Poisson-binomial 90% interval covers well under 90% of the
cells (``continuity bench quality``: ``sector.coverage``). The published intervals
therefore come from a *shared frailty* model: every worker's probability is multiplied
by the frailty of their team and that of their organisation, each gamma-distributed with
mean 1 (so the expected count stays the sum of the calibrated probabilities) and a
variance estimated from past published weeks (``estimate_frailty``), and the count is
simulated (``frailty_intervals``). Measured on the bench sector (quality JSON, ``sector.coverage``),
the Poisson-binomial covers 60-90% of region, organisation, domain and occupation cells at 52
weeks; the frailty interval 91-100%: it errs wide rather than narrow, most where a sector has
few organisations (5 in the bench sector) to estimate their variance from.

Why this and not a block bootstrap over teams of past residuals: a bootstrap needs a
team's own past residuals at this week's size and risk, and a cell of a few teams has
too few of them to resample its tails; the frailty model has two numbers to estimate,
which every team and organisation of every past week informs (method of moments), and
it reduces exactly to the Poisson-binomial when the estimated variances are 0. Gamma,
because it is the usual frailty distribution (positive, mean 1, one parameter) and its
right skew gives the rare team that empties itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

# Cumulative probabilities this close below a quantile count as reaching it (FFT rounding).
CDF_TOLERANCE = 1e-10


def poisson_binomial_pmf(p: np.ndarray) -> np.ndarray:
    """P(K = k) for k = 0..n, K the number of successes among independent Bernoulli(p_i)."""
    p = np.clip(np.asarray(p, dtype=float).ravel(), 0.0, 1.0)
    if p.size == 0:
        return np.ones(1)
    width = 1 << int(np.ceil(np.log2(p.size)))
    # one row per polynomial; padding rows are the constant 1 (a worker who never leaves)
    polys = np.zeros((width, 2))
    polys[:, 0] = 1.0
    polys[: p.size, 0] = 1.0 - p
    polys[: p.size, 1] = p
    while polys.shape[0] > 1:
        degree = 2 * polys.shape[1] - 1
        spectra = np.fft.rfft(polys, n=degree, axis=1)
        polys = np.fft.irfft(spectra[0::2] * spectra[1::2], n=degree, axis=1)
    pmf = np.clip(polys[0, : p.size + 1], 0.0, None)
    return pmf / pmf.sum()


def poisson_binomial_interval(p: np.ndarray, level: float = 0.9) -> tuple[int, int]:
    """The central interval [q_(1-level)/2, q_(1+level)/2] of the number of leavers, as whole counts."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    cdf = np.cumsum(poisson_binomial_pmf(p))
    tail = (1.0 - level) / 2.0
    low, high = np.searchsorted(cdf, [tail - CDF_TOLERANCE, 1.0 - tail - CDF_TOLERANCE])
    return int(low), int(min(high, cdf.size - 1))


FRAILTY_DRAWS = 2000
"""Simulated counts per interval: the share of draws below a bound is then known to about
sqrt(0.05 x 0.95 / 2000) = 0.005, small against the 85-95% band the coverage target allows."""
FRAILTY_SEED = 14
"""Fixed, so that one week gives every reader and every query the same intervals: a fresh seed per
request would let a reader average intervals over repeated queries, and would make them flicker."""
_DRAWS_PER_CHUNK = 250  # bounds the (draws x workers) working arrays: 250 x 50,000 workers is 100 MB


@dataclass(frozen=True)
class Frailty:
    """The variances of the shared gamma frailties (mean 1) of a team and of an organisation.

    A worker of team t in organisation o leaves with probability min(1, p u_t u_o). Both 0:
    independent workers, the Poisson-binomial.
    """

    team: float = 0.0
    organisation: float = 0.0

    def __post_init__(self):
        if not (self.team >= 0.0 and self.organisation >= 0.0):
            raise ValueError(f"frailty variances must be 0 or more, got team {self.team}, "
                             f"organisation {self.organisation}")

    @property
    def independent(self) -> bool:
        return self.team == 0.0 and self.organisation == 0.0


def estimate_frailty(past: pd.DataFrame) -> Frailty:
    """The team and organisation frailty variances that past weeks' realised leavers show, by the method of moments.

    ``past``: one row per worker and past cohort (a week whose horizon has passed) with
    ``cohort``, ``organisation_id``, ``team_id``, ``p`` (the probability forecast then) and
    ``left`` (whether they left within the horizon). Under ``Frailty``, with E the sum of p
    over a group, V the sum of p(1 - p) and Q the sum of p^2, a team's count has variance
    V + s (E^2 - Q), with s = (1 + team)(1 + organisation) - 1 the variance of the product
    frailty that a team's workers share, and an organisation's count V + s (sum over its
    teams of E_t^2 - Q_t) + organisation (E^2 - sum E_t^2). Each variance is the sum over
    groups of (realised - E)^2 less the rest, over the sum of its weight; a negative estimate
    (less spread than independent leaving) is 0.
    """
    missing = {"cohort", "organisation_id", "team_id", "p", "left"} - set(past.columns)
    if missing:
        raise ValueError(f"the past cohorts need the columns {sorted(missing)}")
    rows = past.assign(q=past["p"] ** 2, v=past["p"] * (1 - past["p"]), left=past["left"].astype(float))
    teams = rows.groupby(["cohort", "organisation_id", "team_id"], observed=True)[["p", "q", "v", "left"]].sum()
    shared = float(((teams.p ** 2 - teams.q).sum()))
    if shared <= 0.0:
        return Frailty()
    s = max(0.0, float((((teams.left - teams.p) ** 2 - teams.v).sum())) / shared)
    teams = teams.assign(within=s * (teams.p ** 2 - teams.q), e2=teams.p ** 2)
    orgs = teams.groupby(["cohort", "organisation_id"], observed=True)[["p", "v", "left", "within", "e2"]].sum()
    between = float((orgs.p ** 2 - orgs.e2).sum())
    organisation = 0.0 if between <= 0.0 else max(
        0.0, float((((orgs.left - orgs.p) ** 2 - orgs.v - orgs.within).sum())) / between)
    return Frailty(team=max(0.0, (1.0 + s) / (1.0 + organisation) - 1.0), organisation=organisation)


def frailty_intervals(p: np.ndarray, cells: dict[str, np.ndarray], teams: np.ndarray, organisations: np.ndarray,
                      frailty: Frailty, level: float = 0.9) -> dict[tuple[str, str], tuple[int, int]]:
    """The central ``level`` interval of the leavers of every cell of every grouping, under ``frailty``.

    ``cells``: per grouping, each worker's cell (aligned with ``p``, ``teams`` and
    ``organisations``). Every grouping's counts come from the same simulated draws, so a
    week costs one simulation per horizon. With no frailty, each cell's Poisson-binomial
    interval, exactly.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    codes = {by: pd.factorize(np.asarray(keys).astype(str), sort=True) for by, keys in cells.items()}
    if frailty.independent:
        return {(by, key): poisson_binomial_interval(p[code == i], level)
                for by, (code, keys) in codes.items() for i, key in enumerate(keys)}
    team_code, team_keys = pd.factorize(np.asarray(teams).astype(str))
    org_code, org_keys = pd.factorize(np.asarray(organisations).astype(str))
    rng = np.random.default_rng(FRAILTY_SEED)
    counts = {by: np.empty((FRAILTY_DRAWS, len(keys))) for by, (_, keys) in codes.items()}
    members = {by: sparse.csr_matrix((np.ones(p.size), (np.arange(p.size), code)), shape=(p.size, len(keys)))
               for by, (code, keys) in codes.items()}  # worker x cell
    for start in range(0, FRAILTY_DRAWS, _DRAWS_PER_CHUNK):
        draws = min(_DRAWS_PER_CHUNK, FRAILTY_DRAWS - start)
        u = (_gamma(rng, frailty.team, (draws, len(team_keys)))[:, team_code]
             * _gamma(rng, frailty.organisation, (draws, len(org_keys)))[:, org_code])
        left = (rng.random((draws, p.size)) < np.minimum(p * u, 1.0)).astype(float)
        for by, cell in members.items():
            counts[by][start:start + draws] = np.asarray(left @ cell)
    tail = (1.0 - level) / 2.0
    return {(by, key): (int(np.quantile(counts[by][:, i], tail, method="inverted_cdf")),
                        int(np.quantile(counts[by][:, i], 1.0 - tail, method="inverted_cdf")))
            for by, (_, keys) in codes.items() for i, key in enumerate(keys)}


def _gamma(rng: np.random.Generator, variance: float, shape: tuple[int, int]) -> np.ndarray:
    """Gamma draws with mean 1 and ``variance`` (shape 1/variance, scale variance); 1 when the variance is 0."""
    if variance == 0.0:
        return np.ones(shape)
    return rng.gamma(1.0 / variance, variance, size=shape)
