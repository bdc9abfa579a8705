"""The distribution of the number of leavers in a group: a Poisson-binomial of the individual probabilities.

Each worker leaves or stays (a Bernoulli with their own probability), so the count of
leavers in a cell follows the Poisson-binomial distribution. Its probability mass is
the product of the polynomials (1 - p_i + p_i z); the product is formed exactly (up to
floating-point rounding) by multiplying pairs of polynomials level by level with batched
FFTs, O(n log^2 n), so a region of tens of thousands of workers costs milliseconds.
Treating workers as independent ignores that colleagues leave together (a team that
renews itself within a year), so the interval is a lower bound on the real spread.
"""

from __future__ import annotations

import numpy as np

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
