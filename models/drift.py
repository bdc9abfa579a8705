"""Whether this week's workers still look like those the model learnt from, and whether its forecasts came true.

A model is only as good as the match between the weeks it was trained on and the week it
scores. Two checks, each week:

- **Inputs.** Per model feature, the population stability index (PSI) of this week's
  snapshot against the training snapshots, and a test of the same: Kolmogorov-Smirnov for a
  number, chi-square for a category or a yes/no flag. The training side is summarised once,
  when a version is registered (``reference``), and logged with it: bin edges, shares and a
  quantile grid per feature, never a row, so the weekly check neither re-reads the training
  weeks nor carries anyone's record out of the warehouse. The KS test is therefore the
  one-sample test of this week against the training distribution (as the quantile grid
  gives it, to 1/200).
- **Outcomes.** Per horizon, for the latest published week whose horizon has passed, the
  voluntary leavers realised among its scored workers against the sum of their published
  probabilities (observed / expected), with a 90% interval (``oe_interval``).

An alert is a PSI of 0.25 or more (the usual bar for a shift worth acting on), or an O/E
whose 90% interval lies wholly outside 0.8-1.25: the rule the fairness gate applies to a
group's O/E (``continuity.models.fairness``). A point O/E alone would alert on chance: where
2 leavers are expected, a perfectly calibrated model sees 3 or more (an O/E of 1.5 or more)
about one time in three. With thousands of workers a KS or chi-square p-value is tiny
for shifts of no practical size, so the tests are reported but do not alert by themselves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from continuity.config import Settings
from continuity.horizons import HORIZONS, risk_column
from continuity.models.encoding import FeatureEncoder
from continuity.models.registry import Champion, log_text, logged_text, tracking_client
from continuity.models.targets import EVENT
from continuity.warehouse import connect, has_table

PSI_ALERT = 0.25
OE_RANGE = (0.8, 1.25)
OE_LEVEL = 0.9
BINS = 10
QUANTILES = 201  # the grid the KS test reads the training distribution from: steps of 0.5%
REFERENCE_FILE = "drift_reference.json"
REFERENCE_ROWS = 200_000
"""At most about this many training snapshots summarise the reference, every k-th by a hash of worker and week
(the same rows every time): ten bins' shares and a 201-point quantile grid are then exact to a few tenths of a
percent, while the whole of a sector's training weeks (30 million rows at 150,000 positions) does not fit in
memory as a frame."""
FLOOR = 1e-4  # an empty bin's share: a share of 0 would make the PSI infinite
MISSING = "missing"
OTHER = "(not seen in training)"

COLUMNS = ("kind", "feature", "test", "psi", "statistic", "p_value", "cohort_date", "horizon",
           "expected", "realised", "observed_expected", "oe_low", "oe_high", "alert", "reason")


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins (counts or shares):
    sum over bins of (a - e) * ln(a / e), with a and e the shares, each floored at FLOOR."""
    e = _shares(expected)
    a = _shares(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(histogram: np.ndarray) -> np.ndarray:
    histogram = np.asarray(histogram, dtype=float)
    return np.maximum(histogram / histogram.sum(), FLOOR)


def reference(encoder: FeatureEncoder, training: pd.DataFrame) -> dict:
    """What the drift check needs of the training snapshots, per model feature (JSON-ready)."""
    raw = encoder.raw(training)
    summary = {}
    for feature in encoder.features:
        values = raw[feature]
        if feature in encoder.categorical or feature in encoder.binary_ or values.isna().all():
            labels = _labels(values)
            shares = labels.value_counts(normalize=True).sort_index()
            summary[feature] = {"kind": "categorical", "categories": shares.index.tolist(),
                                "shares": shares.tolist()}
        else:
            present = values.dropna().to_numpy()
            edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1]))
            summary[feature] = {"kind": "numeric", "edges": edges.tolist(),
                                "shares": (_histogram(values, edges) / len(values)).tolist(),
                                "quantiles": np.quantile(present, np.linspace(0, 1, QUANTILES),
                                                         method="inverted_cdf").tolist()}
    return summary


def logged_reference(settings: Settings, model: Champion) -> dict:
    """The version's reference as logged with it; summarised from its training snapshots (the weeks before
    its test cut; ``REFERENCE_ROWS`` of them at most) and logged first when it has none."""
    logged = logged_text(settings, model.run_id, REFERENCE_FILE)
    if logged is not None:
        return json.loads(logged)
    test_from = tracking_client(settings).get_run(model.run_id).data.params.get("test_from")
    with connect(settings.warehouse, read_only=True) as con:
        summary = reference(model.forecaster.encoder_, reference_rows(con, test_from))
    log_text(settings, model.run_id, REFERENCE_FILE, json.dumps(summary))
    return summary


def reference_rows(con: duckdb.DuckDBPyConnection, test_from: str | None) -> pd.DataFrame:
    """The training snapshots (before ``test_from``) the reference summarises: all of them up to
    ``REFERENCE_ROWS``, else every k-th by a hash of worker and week."""
    before = "snapshot_date < coalesce($test_from, 'infinity'::date)"
    rows = con.execute(f"select count(*) from snapshots where {before}", {"test_from": test_from}).fetchall()[0][0]
    return con.execute(f"select * from snapshots where {before} and hash(worker_id, snapshot_date) % $every = 0",
                       {"test_from": test_from, "every": max(1, -(-rows // REFERENCE_ROWS))}).df()


def _labels(values: pd.Series) -> pd.Series:
    """Categories as text, a yes/no flag as "0"/"1", a gap as MISSING."""
    if pd.api.types.is_float_dtype(values):
        values = values.map(lambda v: v if pd.isna(v) else f"{v:g}")
    return values.astype("string").fillna(MISSING).astype(str)


def _histogram(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (-inf, e1], (e1, e2], ..., (ek, inf), then the missing values."""
    present = values.dropna().to_numpy(dtype=float)
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    return np.append(counts, values.isna().sum()).astype(float)


def feature_drift(summary: Mapping[str, dict], week: pd.DataFrame) -> pd.DataFrame:
    """Per feature of the reference: PSI and test of this week's values (``encoder.raw`` of the snapshot)."""
    rows = []
    for feature, ref in summary.items():
        values = week[feature]
        if ref["kind"] == "categorical":
            expected, actual = _category_counts(ref, _labels(values))
            test = "chi2"
            # chisquare wants equal totals; an empty training share is floored as in the PSI
            f_exp = _shares(expected) / _shares(expected).sum() * actual.sum()
            statistic, p_value = stats.chisquare(actual, f_exp)
        else:
            edges = np.asarray(ref["edges"])
            expected, actual = np.asarray(ref["shares"]), _histogram(values, edges)
            test = "ks"
            statistic, p_value = _ks(np.asarray(ref["quantiles"]), values.dropna().to_numpy(dtype=float))
        index = psi(expected, actual)
        rows.append({"kind": "feature", "feature": feature, "test": test, "psi": index,
                     "statistic": float(statistic), "p_value": float(p_value), "alert": index >= PSI_ALERT,
                     "reason": f"{feature}: PSI {index:.2f} >= {PSI_ALERT}" if index >= PSI_ALERT else None})
    return _frame(rows)


def _ks(grid: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """One-sample KS of the values against the training distribution its quantile grid gives.

    The largest gap between the two distribution functions is taken at every value either one
    steps at, so ties (counts, whole weeks) are measured right; the p-value is the one-sample
    KS distribution's for this many values, conservative where values tie."""
    if not len(values):
        return float("nan"), float("nan")
    points = np.union1d(grid, values)
    training = np.searchsorted(grid, points, side="right") / len(grid)
    week = np.searchsorted(np.sort(values), points, side="right") / len(values)
    statistic = float(np.abs(training - week).max())
    return statistic, float(stats.kstwo.sf(statistic, len(values)))


def _category_counts(ref: dict, labels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(training shares, this week's counts) over the training's categories and one bin for any other."""
    known = ref["categories"]
    counts = labels.where(labels.isin(known), OTHER).value_counts()
    return (np.append(ref["shares"], 0.0),
            np.array([counts.get(c, 0) for c in [*known, OTHER]], dtype=float))


def outcome_drift(con: duckdb.DuckDBPyConnection, data_end: date) -> pd.DataFrame:
    """Per horizon, the latest published week whose horizon the export covers: the sum of its published
    probabilities against the voluntary leavers among its scored workers within the horizon."""
    if not has_table(con, "risk_scores"):
        return _frame([])
    rows = []
    for h in HORIZONS:
        known_by = data_end - timedelta(weeks=h)
        row = con.execute(
            f"""with cohort as (select max(score_date) as t from risk_scores where score_date <= $known_by)
            select c.t, sum(r."{risk_column(h)}"),
                   count(*) filter (where w.termination_reason = $event and w.termination_date >= c.t
                                    and w.termination_date <= c.t + $days)
            from cohort c join risk_scores r on r.score_date = c.t
            left join workers w using (worker_id)
            group by c.t""",
            {"known_by": known_by, "event": EVENT, "days": timedelta(weeks=h)}).fetchone()
        if row is None:
            continue
        cohort, expected, realised = row
        ratio = realised / expected if expected > 0 else float("nan")
        low, high = oe_interval(realised, expected)
        # NaN bounds (nothing expected) compare False: no alert on a ratio that does not exist.
        outside = high < OE_RANGE[0] or low > OE_RANGE[1]
        rows.append({"kind": "outcome", "cohort_date": cohort, "horizon": h, "expected": float(expected),
                     "realised": float(realised), "observed_expected": ratio, "oe_low": low, "oe_high": high,
                     "alert": outside,
                     "reason": (f"{h} weeks after {cohort}: {realised} leavers against {expected:.1f} expected "
                                f"(O/E {ratio:.2f}, 90% interval {low:.2f}-{high:.2f}, wholly outside "
                                f"{OE_RANGE[0]}-{OE_RANGE[1]})") if outside else None})
    return _frame(rows)


def oe_interval(realised: float, expected: float) -> tuple[float, float]:
    """The OE_LEVEL interval of realised / expected leavers: Garwood's exact Poisson interval of the realised
    count, divided by the expected one, as for a standardised mortality ratio.

    The realised count is a sum of independent yes/no outcomes at the published probabilities (Poisson-binomial);
    its variance, the sum of p(1 - p), is below the Poisson's sum of p, so the Poisson interval is a little wider
    than the exact one: it errs towards not alerting. Exact rather than normal, because a small organisation's
    horizon holds a handful of leavers, where a normal interval is too narrow and can go below zero.
    NaN when nothing was expected."""
    if not expected > 0:
        return float("nan"), float("nan")
    tail = (1 - OE_LEVEL) / 2
    low = stats.chi2.ppf(tail, 2 * realised) / 2 if realised > 0 else 0.0
    high = stats.chi2.ppf(1 - tail, 2 * realised + 2) / 2
    return float(low / expected), float(high / expected)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["alert"] = frame["alert"].astype(bool)
    frame["cohort_date"] = pd.to_datetime(frame["cohort_date"])
    return frame


def monitoring(summary: Mapping[str, dict], week: pd.DataFrame, con: duckdb.DuckDBPyConnection,
               data_end: date) -> pd.DataFrame:
    """The week's monitoring: every feature's drift, then every horizon's O/E."""
    checks = (feature_drift(summary, week), outcome_drift(con, data_end))
    return _frame([row for frame in checks for row in frame.to_dict("records")])


def alerts(frame: pd.DataFrame) -> list[str]:
    """The alerts in words, for the run's summary."""
    return frame.loc[frame["alert"], "reason"].tolist()
