"""Cross-validated evaluation of survival models on any one-row-per-employee file.

Before an organisation delivers the full data contract it can check on its own
file what the models are worth. Each row is one person: a duration (tenure, or
time to death in a medical file), whether the event happened, and attributes.
The evaluation is repeated stratified k-fold cross-validation of the candidates:

- `cox` and `gradient_boosting`: the production forecasters (lifelines Cox and
  XGBoost's `survival:cox`), fitted with the file's duration as their time axis;
- `random_survival_forest` and `gradient_boosted_survival`: scikit-survival's
  learners; the forest needs no proportional hazards;
- `xgboost_aft`: XGBoost's accelerated failure time objective, which needs none either;
- `ensemble`: the average survival curve of the five, each as tuned in that fold; it is
  judged on the same inner folds as its members, so it competes like any of them;
- `logistic` (only when choosing by AUC): an L2 logistic regression of the
  event on every column, the duration included. That is fair for a
  cross-sectional HR file, where tenure is as known as any other input, and a
  leak for any figure that ranks durations, so it never competes on C-index.

Every fold reports Harrell's C-index, the ROC AUC of the event (both on the same
risk score) and, for the survival candidates, the integrated Brier score of the
predicted survival curves over a time grid inside the test fold's follow-up.

The choice is made by `metric`: Harrell's C-index by default, the figure that
uses the durations; `auc` for files whose other columns are derived from the
duration (years in role, with the manager), which inflate any C-index.

Hyperparameters are tuned by nested cross-validation: in each outer fold a
random search (scikit-learn's ParameterSampler) scores configurations by inner
cross-validation on the outer training part only, the best is refitted on that
part and scored on the outer test fold. `time_budget` seconds are shared out
equally over the outer folds and the tuned candidates; each share always
scores the candidate's defaults, then samples further configurations until the
share is spent (or `MAX_CONFIGS` are tried). A configuration already started is
finished, so the run can overshoot by one configuration per share; a budget of
0 scores the defaults only. Because the search stops on the clock, a faster
machine may try more configurations and get slightly different figures.

`chosen` is the model the system would put in production: the one with the best
mean cross-validated metric. Because that pick is made on the very folds it is
scored on, its figure is optimistic; `selection` is the honest one: in each
outer fold the candidate with the best inner score of its tuned configuration
is picked and its outer score recorded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count
from rich.console import Console
from rich.table import Table
from scipy.stats import logistic, loguniform, norm, randint, uniform
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterSampler, RepeatedStratifiedKFold, StratifiedKFold
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest
from sksurv.metrics import concordance_index_censored, integrated_brier_score
from sksurv.util import Surv
import xgboost as xgb

from continuity.features.readers import read_file
from continuity.features.tabular_file import TabularData, TabularFileError, prepare_tabular
from continuity.models.base import Forecaster
from continuity.models.cox import CoxForecaster
from continuity.models.encoding import FeatureEncoder
from continuity.models.fairness import INSUFFICIENT, MIN_LEAVERS, OK
from continuity.models.gradient_boosting import GradientBoostingForecaster
from continuity.models.targets import CENSORED, EVENT, validate_labels

# Every row is one snapshot on the same (arbitrary) Monday; only its duration matters.
FILE_DATE = pd.Timestamp("2000-01-03")
METRICS = {"c-index": "c_index", "auc": "auc"}
ENSEMBLE = "ensemble"
INNER_FOLDS = 3
MAX_CONFIGS = 25  # per candidate and outer fold, the defaults included
DEFAULT_TIME_BUDGET = 120.0
LOGISTIC_C = 1.0  # scikit-learn's default strength, deliberately not tuned on any benchmark file
FOREST_TREES = 200
FILE_PENALIZER = 0.01
"""The default ridge penalty of the Cox fits (Cox, and gradient boosting's linear start) on an HR file: a fixed one.
The prior the weekly models are penalised with (``cox.RIDGE_PRIOR``) was measured on weekly landmark rows followed
13 weeks; a file's row is a whole employment, and on the IBM file that prior's penalty (0.1 on its 1,176 training
rows) lowered the cross-validated AUC from 0.788 to 0.775 (Cox) and 0.776 to 0.730 (gradient boosting)."""
# The integrated Brier score runs over these percentiles of the test fold's durations: inside its
# follow-up, where the censoring distribution is still estimated from enough people.
IBS_PERCENTILES = np.linspace(10, 80, 15)


class Model(Protocol):
    def fit(self, data: TabularData) -> Self: ...

    def risk(self, data: TabularData) -> np.ndarray:
        """Higher means the event sooner or more likely."""

    def survival(self, data: TabularData, times: np.ndarray) -> np.ndarray:
        """Survival probabilities, shape (rows, len(times))."""


@dataclass(frozen=True)
class Candidate:
    build: Callable[[dict, int], Model]  # (hyperparameters, seed) -> an unfitted model; {} gives the defaults
    space: dict[str, Any] = field(default_factory=dict)  # ParameterSampler distributions; empty: nothing to tune
    survival: bool = True  # False: the duration is one of its inputs, so only its AUC means anything


@dataclass(frozen=True)
class Tuned:
    params: dict
    inner_score: float
    configs: int
    inner_models: list[Model]  # the best configuration fitted on each inner fitting part


def evaluate_csv(
    path: Path,
    duration: str,
    event: str,
    drop: Sequence[str] = (),
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    protected: Sequence[str] = (),
    metric: str = "c-index",
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> dict:
    """Cross-validated C-index, ROC AUC and integrated Brier score per candidate on the file at `path`,
    tuned and chosen by `metric` (see the module docstring).

    `protected` columns (gender, age, ...) are kept out of every model and audited by instead:
    `fairness` holds, per column and group, the chosen model's out-of-fold AUC.
    Raises `readers.UnreadableFile` when the file cannot be read and `TabularFileError` when its
    columns cannot be used; both messages are one line naming the file or column.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    key = METRICS[metric]
    frame = read_file(Path(path)).frame
    data = prepare_tabular(frame, duration, event, [*drop, *protected])
    if int(data.event.sum()) < folds or int((~data.event).sum()) < folds:
        raise TabularFileError(
            f"{folds}-fold cross-validation needs at least {folds} leavers and {folds} stayers in {event!r}"
        )
    candidates = {name: c for name, c in CANDIDATES.items() if c.survival or metric == "auc"}
    share = time_budget / (folds * repeats * sum(1 for c in candidates.values() if c.space))
    members = [name for name, c in candidates.items() if c.survival]
    outer = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    per_model: dict[str, list[dict]] = {}
    configs: dict[str, list[int]] = {}
    selected: list[dict] = []
    picks: Counter[str] = Counter()
    out_of_fold: dict[str, np.ndarray] = {}
    for fold, (train_rows, test_rows) in enumerate(outer.split(data.features, data.event)):
        train, test = data.take(train_rows), data.take(test_rows)
        times = ibs_times(train, test)
        splits = list(StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed + fold).split(train.features,
                                                                                                  train.event))
        tuned = {name: tune(c, train, splits, key, share if c.space else 0.0, seed + fold)
                 for name, c in candidates.items()}
        fitted: dict[str, Model] = {name: candidates[name].build(t.params, seed + fold).fit(train)
                                    for name, t in tuned.items()}
        # The ensemble of the tuned survival candidates, judged on the same inner folds as they were.
        inner_ensembles = [SurvivalAverage([tuned[m].inner_models[i] for m in members], train.take(fit).duration)
                           for i, (fit, _) in enumerate(splits)]
        tuned[ENSEMBLE] = Tuned({}, _inner_score(inner_ensembles, train, splits, key), 0, inner_ensembles)
        fitted[ENSEMBLE] = SurvivalAverage([fitted[m] for m in members], train.duration)
        for name, model in fitted.items():
            risk = model.risk(test)
            survival = name == ENSEMBLE or candidates[name].survival
            per_model.setdefault(name, []).append(
                scores(test, risk) | {"ibs": brier(model, train, test, times) if survival else None})
            configs.setdefault(name, []).append(tuned[name].configs)
            if fold < folds:  # the first repeat scores every row once
                out_of_fold.setdefault(name, np.full(len(data.event), np.nan))[test_rows] = risk
        inner = {name: t.inner_score for name, t in tuned.items()}
        pick = max(inner, key=inner.__getitem__)
        picks[pick] += 1
        selected.append(per_model[pick][-1])
    models = {name: _summary(s) | {"configs_tried": float(np.mean(configs[name]))} for name, s in per_model.items()}
    chosen = max(models, key=lambda name: models[name][key])
    groups = frame.loc[data.features.index, list(protected)]
    return {
        "fairness": {column: protected_audit(groups[column], data.event, out_of_fold[chosen]) for column in protected},
        "models": models,
        "rows": len(data.event),
        "events": int(data.event.sum()),
        "metric": metric,
        "chosen": chosen,
        "selection": _summary(selected) | {"picks": dict(picks)},
        "protocol": {"folds": folds, "repeats": repeats, "seed": seed, "inner_folds": INNER_FOLDS,
                     "time_budget_s": time_budget, "max_configs": MAX_CONFIGS},
        "notes": list(data.notes),
    }


def tune(candidate: Candidate, train: TabularData, inner: list[tuple[np.ndarray, np.ndarray]], key: str,
         seconds: float, seed: int) -> Tuned:
    """Random search scored by cross-validation over the `inner` splits of `train` alone; the defaults
    come first and are always scored, further configurations are drawn while `seconds` last."""
    drawn = ParameterSampler(candidate.space, n_iter=MAX_CONFIGS - 1, random_state=seed) if candidate.space else []
    deadline = time.monotonic() + seconds
    best, tried = Tuned({}, -np.inf, 0, []), 0
    for params in [{}, *drawn]:
        if tried and time.monotonic() >= deadline:
            break
        models = [candidate.build(params, seed).fit(train.take(fit)) for fit, _ in inner]
        score = _inner_score(models, train, inner, key)
        tried += 1
        if score > best.inner_score:
            best = Tuned(params, score, 0, models)
    return replace(best, configs=tried)


def _inner_score(models: list[Model], train: TabularData, inner: list[tuple[np.ndarray, np.ndarray]],
                 key: str) -> float:
    """The mean `key` figure of `models`, each fitted on one inner fitting part, on its validation part."""
    return float(np.mean([scores(train.take(valid), model.risk(train.take(valid)))[key]
                          for model, (_, valid) in zip(models, inner)]))


def scores(test: TabularData, risk: np.ndarray) -> dict[str, float]:
    """Harrell's C-index of the duration and ROC AUC of the event for one risk score (higher: sooner)."""
    return {"c_index": float(concordance_index_censored(test.event, test.duration, risk)[0]),
            "auc": float(roc_auc_score(test.event, risk))}


def ibs_times(train: TabularData, test: TabularData) -> np.ndarray:
    """Percentiles of the test durations, below the last test and training duration: scikit-survival
    integrates only inside the test fold's follow-up, where the training censoring curve is known."""
    times = np.unique(np.percentile(test.duration, IBS_PERCENTILES))
    return times[(times > test.duration.min()) & (times < min(test.duration.max(), train.duration.max()))]


def brier(model: Model, train: TabularData, test: TabularData, times: np.ndarray) -> float | None:
    """The integrated Brier score (scikit-survival) of `model` on `test`; None when the fold's follow-up
    holds fewer than two distinct times to integrate over."""
    if len(times) < 2:
        return None
    # After the grid's last time a test row only counts as still at risk, whatever happened later; so
    # censoring it at the last training duration changes no score and keeps the censoring curve, which is
    # estimated on the training rows, defined at every test row's time.
    last = train.duration.max()
    observed = Surv.from_arrays(test.event & (test.duration < last), np.minimum(test.duration, last))
    return float(integrated_brier_score(Surv.from_arrays(train.event, train.duration), observed,
                                        model.survival(test, times), times))


def protected_audit(group: pd.Series, left: np.ndarray, risk: np.ndarray) -> list[dict]:
    """Per group of a protected column: people, leavers and the out-of-fold ROC AUC (fairlearn's MetricFrame);
    a group with fewer than `MIN_LEAVERS` leavers is `insufficient`."""
    frame = MetricFrame(
        metrics={"n": count, "leavers": lambda y_true, y_pred: int(np.sum(y_true)),
                 "auc": lambda y_true, y_pred: roc_auc_score(y_true, y_pred) if len(set(y_true)) == 2 else np.nan},
        y_true=left.astype(int), y_pred=risk, sensitive_features=group.fillna("unknown").astype(str).to_numpy(),
    ).by_group
    return [{"group": str(name), "n": int(row["n"]), "leavers": int(row["leavers"]), "auc": float(row["auc"]),
             "status": INSUFFICIENT if row["leavers"] < MIN_LEAVERS else OK} for name, row in frame.iterrows()]


def print_evaluation(console: Console, result: dict) -> None:
    """One row per model (mean +- standard deviation over the folds), the chosen model marked."""
    protocol = result["protocol"]
    table = Table(
        title=f"{result['rows']} rows, {result['events']} events; {protocol['folds']}-fold cross-validation "
        f"repeated {protocol['repeats']} times, chosen by {result['metric']}, tuned by inner "
        f"{protocol['inner_folds']}-fold CV within {protocol['time_budget_s']:g} s"
    )
    for header in ("model", "C-index", "IBS", "ROC AUC", "configs tried"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for name, m in result["models"].items():
        label = f"{name} (chosen)" if name == result["chosen"] else name
        tried = f"{m['configs_tried']:.1f}" if m["configs_tried"] else "-"  # the ensemble is tuned through its members
        table.add_row(label, _pm(m, "c_index"), _pm(m, "ibs"), _pm(m, "auc"), tried)
    s = result["selection"]
    picks = ", ".join(f"{name} {n}x" for name, n in s["picks"].items())
    table.add_row(f"nested selection ({picks})", _pm(s, "c_index"), _pm(s, "ibs"), _pm(s, "auc"), "")
    console.print(table)
    for column, groups in result.get("fairness", {}).items():
        figures = "; ".join(f"{g['group']} AUC {g['auc']:.3f} ({g['n']} people, {g['leavers']} leavers"
                            + (", too few to judge)" if g["status"] == INSUFFICIENT else ")") for g in groups)
        console.print(f"protected {column!r}, kept out of the models ({result['chosen']}, out of fold): {figures}")
    for note in result["notes"]:
        console.print(f"note: {note}")


def _pm(figures: dict, key: str) -> str:
    return "-" if figures[key] is None else f"{figures[key]:.3f} ± {figures[f'{key}_std']:.3f}"


def _summary(folds: list[dict]) -> dict[str, float | None]:
    """Mean and standard deviation over the folds; the IBS over the folds that have one (None if none)."""
    summary: dict[str, float | None] = {}
    for key in ("c_index", "auc", "ibs"):
        values = [f[key] for f in folds if f[key] is not None]
        summary[key] = float(np.mean(values)) if values else None
        summary[f"{key}_std"] = float(np.std(values)) if values else None
    return summary


def _as_snapshots(data: TabularData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows as snapshots and labels in the forecasters' own format: each employee observed once."""
    worker_ids = [f"row{row}" for row in data.features.index]
    snapshots = data.features[data.covariates].assign(worker_id=worker_ids, snapshot_date=FILE_DATE)
    labels = validate_labels(pd.DataFrame(
        {
            "worker_id": worker_ids,
            "snapshot_date": FILE_DATE,
            "duration_weeks": data.duration,
            "exit_reason": np.where(data.event, EVENT, CENSORED),
        }
    ))
    return snapshots, labels


class ProductionForecaster:
    """A production forecaster on the file's columns, every row one snapshot with its whole follow-up."""

    def __init__(self, forecaster: Forecaster):
        self.forecaster = forecaster

    def fit(self, data: TabularData) -> Self:
        self.forecaster.set_params(
            thin_every=1,
            follow_up_weeks=None,  # one row per employee: its whole follow-up is all there is
            features=data.covariates,
            categorical_features=[c for c in data.categorical if c != data.duration_column],
        ).fit(*_as_snapshots(data))
        # Any horizon with some baseline hazard ranks rows like the hazard ratio; the median
        # leaver's duration has plenty of it without saturating the probabilities at 1.
        self.horizon_ = float(np.median(data.duration[data.event]))
        return self

    def risk(self, data: TabularData) -> np.ndarray:
        return 1.0 - self.survival(data, np.array([self.horizon_]))[:, 0]

    def survival(self, data: TabularData, times: np.ndarray) -> np.ndarray:
        return self.forecaster.predict_cause_specific_survival(_as_snapshots(data)[0], times)


class SksurvModel:
    """A scikit-survival estimator on the file's covariates, one-hot encoded, imputed and standardised
    (the trees do not need the scaling; the imputation spares them missing values)."""

    def __init__(self, estimator: Any):
        self.estimator = estimator

    def fit(self, data: TabularData) -> Self:
        self.encoder_ = FeatureEncoder(data.covariates, standardise=True, categorical_features=data.categorical)
        self.encoder_.fit(data.features)
        self.estimator.fit(self.encoder_.transform(data.features), Surv.from_arrays(data.event, data.duration))
        return self

    def risk(self, data: TabularData) -> np.ndarray:
        return self.estimator.predict(self.encoder_.transform(data.features))

    def survival(self, data: TabularData, times: np.ndarray) -> np.ndarray:
        curves = self.estimator.predict_survival_function(self.encoder_.transform(data.features))
        return np.vstack([curve(times) for curve in curves])


class SurvivalAverage:
    """The mean survival curve of fitted survival models. Its risk is minus the area under that curve
    over percentiles of the training durations (a restricted mean time to the event), so the members'
    scores, each on its own scale, never need to be put on one."""

    def __init__(self, members: list[Model], training_durations: np.ndarray):
        self.members = members
        self.times = np.unique(np.percentile(training_durations, IBS_PERCENTILES))

    def fit(self, data: TabularData) -> Self:
        raise TypeError("an average of fitted models is not fitted itself; fit its members")

    def risk(self, data: TabularData) -> np.ndarray:
        return -self.survival(data, self.times).mean(axis=1)

    def survival(self, data: TabularData, times: np.ndarray) -> np.ndarray:
        return np.mean([member.survival(data, times) for member in self.members], axis=0)


class XGBoostAFT:
    """XGBoost's accelerated failure time objective, log T = f(x) + sigma * Z: boosted trees with no
    proportional hazards, and a survival curve of its own from Z's distribution."""

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.05, max_depth: int = 3,
                 subsample: float = 0.8, distribution: str = "normal", sigma: float = 1.0, seed: int = 0):
        self.rounds = n_estimators
        self.params = {"objective": "survival:aft", "eval_metric": "aft-nloglik", "tree_method": "hist",
                       "learning_rate": learning_rate, "max_depth": max_depth, "subsample": subsample,
                       "aft_loss_distribution": distribution, "aft_loss_distribution_scale": sigma,
                       "nthread": 1, "seed": seed}

    def fit(self, data: TabularData) -> Self:
        self.encoder_ = FeatureEncoder(data.covariates, standardise=False, categorical_features=data.categorical)
        design = self.encoder_.fit(data.features).transform(data.features)
        # log T needs T > 0: a duration of 0 (left in the first year) counts as half the shortest positive one.
        self.floor_ = float(data.duration[data.duration > 0].min()) / 2
        lower = np.maximum(data.duration, self.floor_)
        # Boosting starts from the mean log duration, not XGBoost's default margin: a short or slow search
        # would otherwise stop far from the file's time scale, ranking well but with useless survival curves.
        self.offset_ = float(np.mean(np.log(lower)))
        matrix = self._matrix(design, label_lower_bound=lower, label_upper_bound=np.where(data.event, lower, np.inf))
        self.booster_ = xgb.train(self.params, matrix, num_boost_round=self.rounds)
        return self

    def risk(self, data: TabularData) -> np.ndarray:
        return -self._log_time(data)

    def survival(self, data: TabularData, times: np.ndarray) -> np.ndarray:
        z = (np.log(np.maximum(times, self.floor_))[None, :] - self._log_time(data)[:, None]) \
            / self.params["aft_loss_distribution_scale"]
        return AFT_SURVIVAL[self.params["aft_loss_distribution"]](z)

    def _log_time(self, data: TabularData) -> np.ndarray:
        return self.booster_.predict(self._matrix(self.encoder_.transform(data.features)), output_margin=True)

    def _matrix(self, design: pd.DataFrame, **labels: np.ndarray) -> xgb.DMatrix:
        return xgb.DMatrix(design, base_margin=np.full(len(design), self.offset_), **labels)


# P(Z > z) for XGBoost's AFT error distributions; `extreme` is the Gumbel minimum (a Weibull time).
AFT_SURVIVAL: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "normal": norm.sf, "logistic": logistic.sf, "extreme": lambda z: np.exp(-np.exp(z)),
}


class LogisticModel:
    """The event's probability from every column, the duration included (see the module docstring)."""

    def fit(self, data: TabularData) -> Self:
        self.encoder_ = FeatureEncoder(data.features.columns, standardise=True, categorical_features=data.categorical)
        self.encoder_.fit(data.features)
        self.model_ = LogisticRegression(C=LOGISTIC_C, max_iter=5000).fit(
            self.encoder_.transform(data.features), data.event)
        return self

    def risk(self, data: TabularData) -> np.ndarray:
        return self.model_.predict_proba(self.encoder_.transform(data.features))[:, 1]

    def survival(self, data: TabularData, times: np.ndarray) -> np.ndarray:
        raise TypeError("a logistic model of the event has no survival curve")


CANDIDATES: dict[str, Candidate] = {
    "cox": Candidate(
        lambda params, seed: ProductionForecaster(CoxForecaster(**({"penalizer": FILE_PENALIZER} | params))),
        {"penalizer": loguniform(1e-3, 10)},
    ),
    "gradient_boosting": Candidate(
        lambda params, seed: ProductionForecaster(
            GradientBoostingForecaster(n_jobs=1, random_state=seed, penalizer=FILE_PENALIZER).set_params(**params)),
        {"n_estimators": randint(50, 500), "learning_rate": loguniform(0.01, 0.3), "max_depth": randint(1, 5),
         "subsample": uniform(0.5, 0.5)},
    ),
    "random_survival_forest": Candidate(
        lambda params, seed: SksurvModel(RandomSurvivalForest(
            n_estimators=FOREST_TREES, min_samples_leaf=10, n_jobs=-1, random_state=seed).set_params(**params)),
        {"min_samples_leaf": [3, 5, 10, 20, 40], "max_features": ["sqrt", 0.5, None], "max_depth": [None, 4, 8]},
    ),
    "gradient_boosted_survival": Candidate(
        lambda params, seed: SksurvModel(GradientBoostingSurvivalAnalysis(random_state=seed, **params)),
        {"n_estimators": randint(50, 400), "learning_rate": loguniform(0.01, 0.3), "max_depth": randint(1, 4),
         "subsample": uniform(0.5, 0.5), "min_samples_leaf": [1, 5, 10, 20]},
    ),
    "xgboost_aft": Candidate(
        lambda params, seed: XGBoostAFT(seed=seed, **params),
        {"n_estimators": randint(50, 500), "learning_rate": loguniform(0.01, 0.3), "max_depth": randint(1, 5),
         "subsample": uniform(0.5, 0.5), "distribution": ["normal", "logistic", "extreme"],
         "sigma": loguniform(0.5, 2.0)},
    ),
    "logistic": Candidate(lambda params, seed: LogisticModel(), survival=False),
}
