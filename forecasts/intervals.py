"""The distribution of the number of leavers in a group, and intervals that hold when colleagues leave together.

**Independent workers.** Each worker leaves or stays (a Bernoulli with their own
probability), so if workers were independent the count of leavers in a cell would
follow the Poisson-binomial distribution. Its probability mass is the product of the
polynomials (1 - p_i + p_i z); the product is formed exactly (up to floating-point
rounding) by multiplying pairs of polynomials level by level with batched FFTs,
O(n log^2 n), so a region of tens of thousands of workers costs milliseconds.

**Correlated leaving.** Colleagues do not leave independently: a team that loses its
manager or sees others go, an organisation that loses a tender, lose several at once; and
a quarter in which the whole sector leaves more than forecast (the labour market, a round
of tenders, the model's own error on a new period) moves every cell at once.
The published intervals therefore come from a *shared frailty* model: every worker's
probability is multiplied by the frailty of their team, that of their organisation and
that of the sector in the week forecast, each gamma-distributed with mean 1 (so the
expected count stays the sum of the calibrated probabilities) and a variance estimated
from past published weeks (``estimate_frailty``), and the count is simulated
(``frailty_intervals``).

**Estimating the variances: method of moments, the binomial part removed.** In a past week
whose horizon has passed, a team's realised leavers L differ from its expected E (the sum of
the probabilities published then) by more than independent workers explain only if its
workers share something: E[(L - E)^2] = V + s (E^2 - Q), with V the sum of p(1 - p) (the
Poisson-binomial variance, taken off before anything is counted as frailty), Q the sum of
p^2 and s the variance of the product of the three frailties. Between two teams of one
organisation only the organisation's and the sector's frailty are shared, so theirs is what
the organisation's squared residual shows beyond its teams' own, and between two
organisations only the sector's, which the week's whole count shows beyond its
organisations' (nothing is counted twice). Each variance is a ratio of sums over every team
(organisation, week) of the past weeks; a negative one (less spread than independent
leaving) is 0. It is unbiased when two things hold. Every worker of the past week counts, leaver or not: the
bench once took a week exactly a horizon before the origin, whose stayers were censored at
the horizon and so dropped while its leavers stayed; that week alone, about 94 leavers
against 10 expected at 13 weeks, made the estimated organisation variance 0.05-0.10 instead
of about 0, and the intervals covered 93-100% of region, organisation and domain cells.
And the probabilities are the published ones: out of sample, so that the residuals hold the
model's own errors on new weeks as well as correlated leaving, as a forecast's interval
must; a model's probabilities for weeks it was trained on fit them closely and show no
frailty.

Measured on the bench sector (``continuity bench quality``: ``sector.coverage``, each cell's
realised leavers against its 90% interval). With the true hazards (the oracle, 12 quarterly
origins, 48-132 cells per grouping) the estimated frailty is about 0, and the intervals cover
92-93% of region, organisation, domain and occupation cells at 13 weeks, 87-92% at 26 and
70-80% at 52, where the oracle, holding each hazard constant for a year, expects about 12% too
many leavers: a bias no variance fixes. With the chosen model (Cox, 8 quarterly origins, 32-88
cells; past cohorts as the run of their week published them) 92.9/89.3/94.6% of region cells at
13/26/52 weeks, 92.5/87.5/85.0% of organisations, 90.6/90.6/90.6% of domains and 90.9/92.0/87.5%
of occupations: every grouping within 85-95%. The estimated team variance is 0-0.31, the
organisation's and the sector's 0. Until the model refitted after its calibration published its
own probabilities (``models.calibration``), the held-out map, learnt for an earlier fit, moved a
week's expected leavers by up to 14% from one origin to the next, and domains were covered 78%
at 26 weeks: youth care (jeugd) 4 of 8 origins, its realised count 8-19 leavers off some 45
expected, both ways. No shared frailty held that: of teams, organisations or the sector; of the
teams' markets (organisation, municipality and domain: a funding contract's scope), estimated like
them (0-0.028 at 13 weeks, 0-0.014 at 26); of domains (0-0.022); nor one per organisation. It was
the forecast's level, not the leaving, that moved together.
Teams cover 97%, as their
whole-count intervals promise (``frailty_intervals_with_content``: a team expecting half a
leaver gets [0, 2], which holds 98%); the frailty adds little there.

Why this and not a block bootstrap over teams of past residuals: a bootstrap needs a
team's own past residuals at this week's size and risk, and a cell of a few teams has
too few of them to resample its tails; the frailty model has three numbers to estimate,
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
    return _central(np.cumsum(poisson_binomial_pmf(p)), level)


def _central(cdf: np.ndarray, level: float) -> tuple[int, int]:
    tail = (1.0 - level) / 2.0
    low, high = np.searchsorted(cdf, [tail - CDF_TOLERANCE, 1.0 - tail - CDF_TOLERANCE])
    return int(low), int(min(high, cdf.size - 1))


FRAILTY_DRAWS = 2000
"""Simulated counts per interval: the share of draws below a bound is then known to about
sqrt(0.05 x 0.95 / 2000) = 0.005, small against the 85-95% band the coverage target allows."""
FRAILTY_SEED = 14
"""Fixed, so that one week gives every reader and every query the same intervals: a fresh seed per
request would let a reader average intervals over repeated queries, and would make them flicker."""
MIN_SECTOR_COHORTS = 4
"""Past cohorts the sector's variance needs: it rests on one squared residual per cohort, and from one or two a
single unusual quarter would set it."""
_DRAWS_PER_CHUNK = 250  # bounds the (draws x workers) working arrays: 250 x 50,000 workers is 100 MB


@dataclass(frozen=True)
class Frailty:
    """The variances of the shared gamma frailties (mean 1) of a team, of an organisation and of the whole sector.

    A worker of team t in organisation o leaves with probability min(1, p u_t u_o u_s), u_s shared by
    every worker of the week: what moves the whole sector's leaving in a period (the labour market, a
    round of tenders) and the model's own error on it. All 0: independent workers, the Poisson-binomial.
    """

    team: float = 0.0
    organisation: float = 0.0
    sector: float = 0.0

    def __post_init__(self):
        if not (self.team >= 0.0 and self.organisation >= 0.0 and self.sector >= 0.0):
            raise ValueError(f"frailty variances must be 0 or more, got team {self.team}, "
                             f"organisation {self.organisation}, sector {self.sector}")

    @property
    def independent(self) -> bool:
        return self.team == 0.0 and self.organisation == 0.0 and self.sector == 0.0


def estimate_frailty(past: pd.DataFrame) -> Frailty:
    """The team, organisation and sector frailty variances that past weeks' realised leavers show, by the method of
    moments.

    ``past``: one row per worker and past cohort (a week whose horizon has passed) with
    ``cohort``, ``organisation_id``, ``team_id``, ``p`` (the probability forecast then) and
    ``left`` (whether they left within the horizon). Under ``Frailty``, with E the sum of p
    over a group, V the sum of p(1 - p) and Q the sum of p^2, a team's count has variance
    V + s (E^2 - Q), with s = (1 + team)(1 + organisation)(1 + sector) - 1 the variance of the
    product frailty that a team's workers share; an organisation's count V + s (sum over its
    teams of E_t^2 - Q_t) + o (E^2 - sum E_t^2), with o = (1 + organisation)(1 + sector) - 1;
    and a cohort's whole count the same one level up, with the sector's variance between its
    organisations. Each is the sum over groups of (realised - E)^2 less the rest, over the sum
    of its weight; a negative estimate (less spread than independent leaving) is 0. The
    sector's variance rests on one squared residual per cohort, so it is estimated only from
    ``MIN_SECTOR_COHORTS`` cohorts on (0 below).

    Every worker of each cohort must be in ``past``, leaver or not (a cohort of its leavers
    alone is all frailty), and ``p`` must be what was forecast then, out of sample.
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
    o = _beyond(orgs, ["within"])
    orgs = orgs.assign(among=o * (orgs.p ** 2 - orgs.e2), e2=orgs.p ** 2)
    cohorts = orgs.groupby("cohort")[["p", "v", "left", "within", "among", "e2"]].sum()
    sector = _beyond(cohorts, ["within", "among"]) if len(cohorts) >= MIN_SECTOR_COHORTS else 0.0
    organisation = max(0.0, (1.0 + o) / (1.0 + sector) - 1.0)
    return Frailty(team=max(0.0, (1.0 + s) / ((1.0 + organisation) * (1.0 + sector)) - 1.0),
                   organisation=organisation, sector=sector)


def _beyond(groups: pd.DataFrame, explained: list[str]) -> float:
    """The variance shared by the members of each group beyond its parts: its squared residuals less the
    binomial variance and what the parts' own frailty (``explained``) explains, over the sum of E^2 less
    the parts' squared sums (``e2``); 0 where negative or where no group has two parts."""
    between = float((groups.p ** 2 - groups.e2).sum())
    if between <= 0.0:
        return 0.0
    residual = (groups.left - groups.p) ** 2 - groups.v - groups[explained].sum(axis=1)
    return max(0.0, float(residual.sum()) / between)


def frailty_intervals(p: np.ndarray, cells: dict[str, np.ndarray], teams: np.ndarray, organisations: np.ndarray,
                      frailty: Frailty, level: float = 0.9) -> dict[tuple[str, str], tuple[int, int]]:
    """The central ``level`` interval of the leavers of every cell of every grouping, under ``frailty``.

    ``cells``: per grouping, each worker's cell (aligned with ``p``, ``teams`` and
    ``organisations``). Every grouping's counts come from the same simulated draws, so a
    week costs one simulation per horizon. With no frailty, each cell's Poisson-binomial
    interval, exactly.
    """
    return {cell: (low, high) for cell, (low, high, _) in
            frailty_intervals_with_content(p, cells, teams, organisations, frailty, level).items()}


def frailty_intervals_with_content(p: np.ndarray, cells: dict[str, np.ndarray], teams: np.ndarray,
                                   organisations: np.ndarray, frailty: Frailty,
                                   level: float = 0.9) -> dict[tuple[str, str], tuple[int, int, float]]:
    """``frailty_intervals`` with each interval's probability content, P(low <= count <= high) under the same
    distribution: ``level`` or more, much more where a cell expects few leavers (a team of a dozen expecting
    half a leaver: its whole-count interval [0, 2] holds about 98%). It is the coverage the interval
    promises, against which a realised coverage is judged."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    codes = {by: pd.factorize(np.asarray(keys).astype(str), sort=True) for by, keys in cells.items()}
    if frailty.independent:
        out = {}
        for by, (code, keys) in codes.items():
            for i, key in enumerate(keys):
                pmf = poisson_binomial_pmf(p[code == i])
                low, high = _central(np.cumsum(pmf), level)
                out[(by, key)] = (low, high, float(pmf[low:high + 1].sum()))
        return out
    team_code, team_keys = pd.factorize(np.asarray(teams).astype(str))
    org_code, org_keys = pd.factorize(np.asarray(organisations).astype(str))
    rng = np.random.default_rng(FRAILTY_SEED)
    counts = {by: np.empty((FRAILTY_DRAWS, len(keys))) for by, (_, keys) in codes.items()}
    members = {by: sparse.csr_matrix((np.ones(p.size), (np.arange(p.size), code)), shape=(p.size, len(keys)))
               for by, (code, keys) in codes.items()}  # worker x cell
    for start in range(0, FRAILTY_DRAWS, _DRAWS_PER_CHUNK):
        draws = min(_DRAWS_PER_CHUNK, FRAILTY_DRAWS - start)
        u = (_gamma(rng, frailty.team, (draws, len(team_keys)))[:, team_code]
             * _gamma(rng, frailty.organisation, (draws, len(org_keys)))[:, org_code]
             * _gamma(rng, frailty.sector, (draws, 1)))
        left = (rng.random((draws, p.size)) < np.minimum(p * u, 1.0)).astype(float)
        for by, cell in members.items():
            counts[by][start:start + draws] = np.asarray(left @ cell)
    tail = (1.0 - level) / 2.0
    out = {}
    for by, (_, keys) in codes.items():
        for i, key in enumerate(keys):
            drawn = counts[by][:, i]
            low = int(np.quantile(drawn, tail, method="inverted_cdf"))
            high = int(np.quantile(drawn, 1.0 - tail, method="inverted_cdf"))
            out[(by, key)] = (low, high, float(((drawn >= low) & (drawn <= high)).mean()))
    return out


def _gamma(rng: np.random.Generator, variance: float, shape: tuple[int, int]) -> np.ndarray:
    """Gamma draws with mean 1 and ``variance`` (shape 1/variance, scale variance); 1 when the variance is 0."""
    if variance == 0.0:
        return np.ones(shape)
    return rng.gamma(1.0 / variance, variance, size=shape)
