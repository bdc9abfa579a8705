"""Calibration per horizon, learnt on a period the model never trained on, and the probabilities' intervals.

Per horizon a monotone map from a model's probability to the rate observed on a
held-out period is learnt and attached to the forecaster, whose `predict_risk` and
`predict_incidence` then return the published numbers everywhere: backtest, registry
and serving alike. A map applies to the model it was learnt for: a base model fitted
elsewhere, whose level is another population's, recalibrated on an organisation's own
weeks (`recalibrate`). A candidate trained on the organisation's own weeks is validated
and calibrated by a fit before the held-out period and then refitted on every week; the
map, learnt for the earlier fit, would correct the refit for that fit's level and spread,
so the refit keeps its own probabilities (a proportional-hazards baseline over the whole
history) and takes from the map only their intervals (`HorizonCalibrator.for_refitted_model`
says why, in figures).

Platt scaling on the logit is the default: strictly increasing, so the ranking
(and the C-index) is the model's own, and every worker keeps a probability of
their own. Isotonic regression can fit any monotone shape but maps whole risk
bands onto a handful of plateau values: ties in the list, and sector aggregates
built from a few repeated numbers, whose sums coincide across cells far more
often than the small-cell suppression should have to rely on.

The held-out period ends where training ends (the cut-off t): a model fitted
before `t - max(horizon) - calibration_weeks` predicts the weeks after that, whose
outcomes up to t are known; each horizon uses the rows followed long enough.

Every published probability comes with a 90% interval: how far the map from the
model's number to the observed rate could lie, given how few held-out rows it was
learnt from. The map is refitted on bootstrap resamples of the held-out workers (a
worker's weekly rows go together: they are one person's outcome seen several
times, not independent evidence), and the interval is the 5th to 95th percentile of
the refitted maps at the worker's own model probability (for a refitted model, of
their distances from the map, around its own probability). Where the held-out rows are
few (the high-risk tail, a small sector) the interval widens. It is an interval for
the rate among workers the model scores alike, not for the model's ranking of this
worker: a refit on other training weeks could score them differently
(docs/definitions.md#intervals). Venn-ABERS (mapie) gives each prediction a pair of
isotonic fits instead, one of which is calibrated; the pair has no coverage level,
narrows as 1/n whatever the noise, and builds on the isotonic plateaus rejected above.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from continuity.horizons import risk_column
from continuity.models.base import Forecaster
from continuity.models.metrics import concordance, expected_calibration_error, horizon_status, observed_outcomes
from continuity.models.split import censor_at, thin
from continuity.models.targets import snapshot_key

CALIBRATED_HORIZONS = (13, 26, 52)
INTERVAL_LEVEL = 0.9
# Enough resamples for a stable 5th and 95th percentile; each is one refit of a one-feature map.
BOOTSTRAP_DRAWS = 200
# Keeps logit finite at probabilities the model rounds to 0 or 1.
_EPS = 1e-6
# Points of logit(p) at which the resampled Platt maps' percentiles are taken for a large week, the rest
# interpolated: each percentile is a smooth function of logit(p) (an order statistic of the maps' lines through
# the logistic), so on a few thousand points it is within 1e-4 of the exact one, and a 150,000-worker week
# needs 2,000 x 200 map values per horizon instead of 150,000 x 200.
INTERVAL_GRID = 2_000


class HorizonCalibrator:
    """One monotone map per horizon from predicted to observed probability of leaving within it.

    Horizons without a leaver in the held-out rows are left uncalibrated: a map
    fitted to no events would send every probability to zero. Beside each map it
    keeps the maps refitted on resampled workers, which give the intervals.
    """

    def __init__(self, method: Literal["isotonic", "platt"] = "platt", seed: int = 0):
        self.method = method
        self.seed = seed

    def fit(self, risk: pd.DataFrame, outcomes: pd.DataFrame, horizons: Sequence[int],
            clusters: pd.Series | None = None) -> Self:
        """`clusters` names whose outcome each row is (a worker id), resampled together; default: every row its own."""
        self.maps_, self.resampled_ = {}, {}
        rng = np.random.default_rng(self.seed)
        for h in horizons:
            known, left = horizon_status(outcomes, h)
            if left[known].nunique() < 2:
                continue
            p, y = risk.loc[known, risk_column(h)].to_numpy(), left[known].to_numpy()
            self.maps_[h] = self._fit_one(p, y)
            groups = pd.factorize(np.asarray(clusters)[known.to_numpy()] if clusters is not None
                                  else np.arange(known.sum()))[0]
            self.resampled_[h] = [self._fit_one(p[w > 0], y[w > 0], w[w > 0])
                                  for w in _cluster_weights(groups, y, rng)]
        return self

    def interval(self, raw: np.ndarray, calibrated: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """The INTERVAL_LEVEL interval of the calibrated probabilities at `horizon`, from the model's `raw` ones.

        Widened where needed to hold the published probability itself, which the
        warp may have lifted to a shorter horizon's (probabilities never fall with time).
        """
        tail = (1 - INTERVAL_LEVEL) / 2
        if self.method == "platt" and len(raw) > INTERVAL_GRID:
            at = _logit(raw).ravel()
            grid = np.linspace(at.min(), at.max(), INTERVAL_GRID)
            percentiles = np.quantile(self._refitted(horizon, expit(grid)), [tail, 1 - tail], axis=1)
            low, high = (np.interp(at, grid, percentile) for percentile in percentiles)
        else:
            low, high = np.quantile(self._refitted(horizon, raw), [tail, 1 - tail], axis=1)
        return np.minimum(low, calibrated), np.maximum(high, calibrated)

    def for_refitted_model(self) -> Self:
        """This calibrator for a model refitted on more weeks than the held-out model its maps were learnt for:
        the refitted model's own probabilities are kept, and the maps give only their intervals.

        A map corrects the model it was learnt for: the held-out model, whose training ends where the held-out
        stretch starts, the longest horizon and the calibration weeks (65 weeks by default) before the refitted
        model's. Carried over, it corrects the refitted model for the held-out model's level and spread.
        Measured on the bench sector (``continuity bench quality``, 4 quarterly origins pooled), the maps raised
        the out-of-sample ECE of both candidates at every horizon: Cox 0.0056 / 0.0108 / 0.0104 at 13 / 26 / 52
        weeks before them, 0.0072 / 0.0116 / 0.0152 after; gradient boosting 0.0053 / 0.0080 / 0.0155 against
        0.0075 / 0.0122 / 0.0190; and they moved a week's expected leavers by up to 14% (166 instead of 193
        within 26 weeks, where 206 left), so that the aggregates' intervals missed whole domains
        (``forecasts.intervals``). The interval is then the refitted maps' spread around the map learnt on every
        held-out worker, put around the model's own probability: how far the rate among workers scored alike
        may lie from it, given how few held-out workers there were. A map learnt for the model it is applied to
        (``recalibrate``: a base model on an organisation's weeks) applies as it is.
        """
        out = copy.copy(self)
        out.maps_, out.resampled_ = dict(self.maps_), dict(self.resampled_)
        out.own_ = frozenset(self.maps_)
        return out

    def warp(self, incidence: np.ndarray) -> np.ndarray:
        """Calibrate whole incidence curves (rows x weeks 0, 1, ...): exact at the horizons, monotone between.

        At each known horizon the curve takes the calibrated probability (never
        below the one of a shorter horizon); between two horizons the model's own
        curve is stretched linearly onto the calibrated span, so its shape stays
        the model's; past the last horizon it keeps the model's own increments.
        """
        knots = [h for h in sorted(self.maps_) if h < incidence.shape[1]]
        if set(knots) <= self._own:  # no map applies: the model's own curves, exactly
            return incidence
        raw_at = np.column_stack([np.zeros(len(incidence)), incidence[:, knots]])
        calibrated_at = np.column_stack([np.zeros(len(incidence)), *(self._central(h, incidence[:, h]) for h in knots)])
        calibrated_at = np.maximum.accumulate(calibrated_at, axis=1)
        warped = incidence.copy()
        for i, (start, end) in enumerate(zip([0, *knots], knots)):
            weeks = np.arange(start, end + 1)
            raw_span = (raw_at[:, i + 1] - raw_at[:, i])[:, None]
            along_curve = np.divide(incidence[:, weeks] - raw_at[:, [i]], raw_span,
                                    out=np.zeros((len(incidence), len(weeks))), where=raw_span > 0)
            # A flat stretch of the model's curve (no baseline hazard there) is bridged linearly in time.
            along_time = np.broadcast_to((weeks - start) / (end - start), along_curve.shape)
            position = np.where(raw_span > 0, along_curve, along_time)
            warped[:, weeks] = calibrated_at[:, [i]] + position * (calibrated_at[:, [i + 1]] - calibrated_at[:, [i]])
        after = np.arange(knots[-1] + 1, incidence.shape[1])
        warped[:, after] = calibrated_at[:, [-1]] + incidence[:, after] - raw_at[:, [-1]]
        return np.clip(warped, 0.0, 1.0)

    @property
    def horizons(self) -> tuple[int, ...]:
        return tuple(self.maps_)

    def calibrated(self, risk: pd.DataFrame) -> pd.DataFrame:
        """The `p_<h>w` columns of the model's `risk` mapped at each calibrated horizon, the others as they are."""
        return risk.assign(**{risk_column(h): self._central(h, risk[risk_column(h)].to_numpy())
                              for h in self.maps_ if risk_column(h) in risk})

    def keeping(self, fallback: HorizonCalibrator | None) -> Self:
        """Keep `fallback`'s maps (and intervals) at the horizons this one could not learn.

        A base model recalibrated on an organisation's short history learns the horizons its
        weeks can follow; at the longer ones the calibration it brought from the sector is
        still better than none. Both must map the same model's raw probabilities by the same method.
        """
        if fallback is None:
            return self
        if fallback.method != self.method:
            raise ValueError(f"cannot keep {fallback.method} maps beside {self.method} ones")
        kept = sorted(set(fallback.maps_) - set(self.maps_))
        for h in kept:
            self.maps_[h], self.resampled_[h] = fallback.maps_[h], fallback.resampled_[h]
        self.maps_ = dict(sorted(self.maps_.items()))
        self.own_ = self._own | (fallback._own & set(kept))
        return self

    def _fit_one(self, p: np.ndarray, left: np.ndarray, weight: np.ndarray | None = None):
        if self.method == "isotonic":
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, left, sample_weight=weight)
        # Newton steps suit one feature and many rows, and keep the resampled refits to milliseconds each.
        return LogisticRegression(solver="newton-cholesky").fit(_logit(p), left, sample_weight=weight)

    @property
    def _own(self) -> frozenset:
        """The horizons whose maps give only intervals (``for_refitted_model``); none for a calibrator pickled
        before there were any."""
        return frozenset(getattr(self, "own_", ()))

    def _central(self, horizon: int, p: np.ndarray) -> np.ndarray:
        """The published probability at ``horizon`` for the model's ``p``: the map's, or ``p`` where it is kept."""
        return p if horizon in self._own else self._apply(self.maps_[horizon], p)

    def _refitted(self, horizon: int, p: np.ndarray) -> np.ndarray:
        """Every refitted map at ``p``, rows x maps; where the model's own probability is kept, each moved by its
        distance (on the logit scale) from the map learnt on every held-out worker, around ``p`` itself."""
        each = self._apply_each(self.resampled_[horizon], p)
        if horizon not in self._own:
            return each
        shift = _logit(p) - _logit(self._apply(self.maps_[horizon], p))
        return expit(logit(np.clip(each, _EPS, 1 - _EPS)) + shift)

    def _apply_each(self, mappings: list, p: np.ndarray) -> np.ndarray:
        """Every map of ``mappings`` at ``p``, rows x maps. Platt maps as one array operation: one predict_proba
        per resampled map was most of a week's intervals at 150,000 workers."""
        if self.method == "isotonic":
            return np.column_stack([self._apply(m, p) for m in mappings])
        coef = np.array([m.coef_[0, 0] for m in mappings])
        intercept = np.array([m.intercept_[0] for m in mappings])
        return expit(_logit(p) * coef + intercept)

    def _apply(self, mapping, p: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return mapping.predict(p)
        return mapping.predict_proba(_logit(p))[:, 1]


@dataclass(frozen=True)
class HeldOutCalibration:
    calibrator: HorizonCalibrator
    validation: dict[str, float]  # the candidate's quality on the held-out rows, before calibration
    period_start: pd.Timestamp


def calibrate_held_out(
    candidate: Forecaster,
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    cutoff: pd.Timestamp,
    calibration_weeks: int = 13,
    horizons: Sequence[int] = CALIBRATED_HORIZONS,
    method: Literal["isotonic", "platt"] = "platt",
) -> HeldOutCalibration:
    """Fit an unfitted `candidate` before the held-out period, learn the calibration on that period up to `cutoff`.

    The held-out rows also give the candidate's validation C-index, so one fit
    serves both choosing the model and calibrating it, and neither looks past `cutoff`.
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    start = _held_out_start(cutoff, calibration_weeks, horizons)
    if not (dates < start).any():
        raise ValueError(f"no training weeks before the calibration period starting {start:%Y-%m-%d}")
    train_labels = censor_at(labels[pd.to_datetime(labels["snapshot_date"]) < start], start)
    fitted = clone(candidate).fit(snapshots[dates < start], train_labels)
    return recalibrate(fitted, snapshots, labels, cutoff, calibration_weeks, horizons, method)


def recalibrate(
    fitted: Forecaster,
    snapshots: pd.DataFrame,
    labels: pd.DataFrame,
    cutoff: pd.Timestamp,
    calibration_weeks: int = 13,
    horizons: Sequence[int] = CALIBRATED_HORIZONS,
    method: Literal["isotonic", "platt"] = "platt",
) -> HeldOutCalibration:
    """Learn a fitted forecaster's calibration, and its validation figures, on the held-out period up to `cutoff`.

    The forecaster is either fitted just before that period (`calibrate_held_out`) or a base
    model fitted on other data (a sector), which an organisation too small to train its own
    recalibrates on its own weeks; it is scored without any calibration it brought along. Its
    validation figures are the C-index and, per calibrated horizon, the ECE after this
    calibration: on the rows the maps were learnt on, so optimistic, but alike for every
    forecaster calibrated on the same rows, which is what choosing among them needs.

    Horizons longer than the forecaster's training followed (``followed_weeks``) are left uncalibrated:
    its probabilities there stop growing, and a map lifting them to the held-out rate would be carried
    over to the model refitted on every week, which follows them. On the bench sector, the first of 8
    quarterly origins trains its held-out model on 24 weeks: mapped so, its final model expected 592
    leavers within 52 weeks where 342 left (346 uncalibrated).
    """
    dates = snapshot_key(snapshots)["snapshot_date"]
    start = _held_out_start(cutoff, calibration_weeks, horizons)
    held_out = thin(snapshots[(dates >= start) & (dates < cutoff)], fitted.thin_every)
    outcomes = observed_outcomes(held_out, labels, cutoff)
    risk = fitted.predict_risk(held_out, horizons, calibrated=False)
    validation = concordance(outcomes, risk[risk_column(max(horizons))], tau=max(horizons))
    followed = [h for h in horizons if h <= fitted.followed_weeks]
    calibrator = HorizonCalibrator(method).fit(risk, outcomes, followed, clusters=held_out["worker_id"])
    calibrated = calibrator.calibrated(risk)
    for h in calibrator.horizons:
        known, left = horizon_status(outcomes, h)
        validation[f"ece_{h}w"] = expected_calibration_error(calibrated.loc[known, risk_column(h)], left[known])
    return HeldOutCalibration(calibrator, validation, start)


def _held_out_start(cutoff: pd.Timestamp, calibration_weeks: int, horizons: Sequence[int]) -> pd.Timestamp:
    return cutoff - pd.Timedelta(weeks=max(horizons) + calibration_weeks)


def _cluster_weights(groups: np.ndarray, left: np.ndarray, rng: np.random.Generator):
    """BOOTSTRAP_DRAWS row weights, each drawing the clusters with replacement: a row weighs as often as its
    cluster was drawn. A draw without both a leaver and a stayer cannot be fitted and is drawn again."""
    n = groups.max() + 1
    drawn = 0
    while drawn < BOOTSTRAP_DRAWS:
        weight = rng.multinomial(n, np.full(n, 1 / n))[groups].astype(float)
        if 0 < weight[left == 1].sum() < weight.sum():
            drawn += 1
            yield weight


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, _EPS, 1 - _EPS)).reshape(-1, 1)
