"""`evaluate-csv` as a survival evaluation: the metric it chooses by, tuning that never sees the outer test
fold, the search's time budget, and the integrated Brier score on a public survival data set."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import uniform
from sklearn.model_selection import RepeatedStratifiedKFold
from sksurv.datasets import load_veterans_lung_cancer

from continuity.benchmarks.survival_files import goal
from continuity.features.tabular_file import prepare_tabular
from continuity.models import tabular
from continuity.models.tabular import (CANDIDATES, ENSEMBLE, INNER_FOLDS, Candidate, ProductionForecaster,
                                       XGBoostAFT, evaluate_csv, tune)

from command_line import home, invoke  # noqa: F401 - home is a fixture
from test_evaluate_csv import write_dutch_export

FAST = ("cox", "xgboost_aft", "logistic")


@pytest.fixture
def fast_candidates(monkeypatch):
    """The quickest candidates only, so the protocol can be checked in seconds."""
    monkeypatch.setattr(tabular, "CANDIDATES", {name: CANDIDATES[name] for name in FAST})


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "personeel.csv"
    write_dutch_export(path, rows=200, seed=5)
    return path


def test_c_index_chooses_by_default_and_auc_on_request(export, fast_candidates):
    by_c_index = evaluate_csv(export, "dienstjaren", "uit_dienst", folds=2, repeats=1, time_budget=0)
    by_auc = evaluate_csv(export, "dienstjaren", "uit_dienst", folds=2, repeats=1, time_budget=0, metric="auc")

    assert by_c_index["metric"] == "c-index" and by_auc["metric"] == "auc"
    # the logistic model reads the duration itself: it only competes where the duration is not the target
    assert set(by_c_index["models"]) == {"cox", "xgboost_aft", ENSEMBLE}
    assert set(by_auc["models"]) == {"cox", "xgboost_aft", "logistic", ENSEMBLE}
    assert by_c_index["chosen"] == max(by_c_index["models"], key=lambda m: by_c_index["models"][m]["c_index"])
    assert by_auc["chosen"] == max(by_auc["models"], key=lambda m: by_auc["models"][m]["auc"])
    with pytest.raises(ValueError, match="metric must be one of c-index, auc; got 'brier'"):
        evaluate_csv(export, "dienstjaren", "uit_dienst", metric="brier")


def test_nested_tuning_never_sees_the_outer_test_fold(export, monkeypatch):
    # a budget no search spends, so each share tries exactly MAX_CONFIGS configurations
    monkeypatch.setattr(tabular, "CANDIDATES", {"cox": CANDIDATES["cox"]})
    monkeypatch.setattr(tabular, "MAX_CONFIGS", 3)
    outer_tests: list[set] = []

    class RecordingFolds(RepeatedStratifiedKFold):
        def split(self, X, y=None, groups=None):
            for train, test in super().split(X, y, groups):
                outer_tests.append(set(X.index[test]))
                yield train, test

    fits: list[tuple[int, set]] = []
    fit = ProductionForecaster.fit

    def recording_fit(self, data):
        fits.append((len(outer_tests) - 1, set(data.features.index)))
        return fit(self, data)

    monkeypatch.setattr(tabular, "RepeatedStratifiedKFold", RecordingFolds)
    monkeypatch.setattr(ProductionForecaster, "fit", recording_fit)

    result = evaluate_csv(export, "dienstjaren", "uit_dienst", folds=2, repeats=1, time_budget=1000)

    assert len(outer_tests) == 2
    assert all(rows.isdisjoint(outer_tests[fold]) for fold, rows in fits)
    outer_train = {fold: 200 - len(test) for fold, test in enumerate(outer_tests)}
    inner_fits = [rows for fold, rows in fits if len(rows) < outer_train[fold]]
    assert result["models"]["cox"]["configs_tried"] == 3
    assert len(inner_fits) == 2 * 3 * INNER_FOLDS  # per outer fold, each configuration on every inner fold
    assert len(fits) - len(inner_fits) == 2  # one refit on each outer training part


class Noisy:
    """Risk = minus the duration plus noise: the less noise, the better its C-index; each fit takes `pause`."""

    def __init__(self, noise: float, seed: int, pause: float = 0.0):
        self.noise, self.rng, self.pause = noise, np.random.default_rng(seed), pause

    def fit(self, data):
        time.sleep(self.pause)
        return self

    def risk(self, data):
        return -data.duration + self.noise * self.rng.normal(size=len(data.duration))


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.exponential(5, 120).round(2).astype(str),
                          "left": np.where(rng.random(120) < 0.5, "yes", "no"),
                          "x": rng.normal(size=120).astype(str)})
    return prepare_tabular(frame, "tenure", "left")


def splits(data):
    return list(tabular.StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=0).split(data.features, data.event))


def test_the_search_keeps_the_configuration_with_the_best_inner_score(small):
    candidate = Candidate(lambda params, seed: Noisy(params.get("noise", 50.0), seed), {"noise": uniform(0, 1e-3)})

    searched = tune(candidate, small, splits(small), "c_index", seconds=60, seed=0)
    defaults = tune(candidate, small, splits(small), "c_index", seconds=0, seed=0)

    assert set(searched.params) == {"noise"} and searched.inner_score > 0.9
    assert defaults.params == {} and defaults.configs == 1 and defaults.inner_score < searched.inner_score
    assert len(searched.inner_models) == INNER_FOLDS


def test_the_search_stops_drawing_when_its_seconds_are_spent(small):
    candidate = Candidate(lambda params, seed: Noisy(1.0, seed, pause=0.05), {"noise": np.linspace(0, 1, 100)})

    start = time.monotonic()
    tuned = tune(candidate, small, splits(small), "c_index", seconds=0.5, seed=0)

    # each configuration costs INNER_FOLDS fits of 0.05 s; the one started before the deadline is finished
    assert 2 <= tuned.configs < tabular.MAX_CONFIGS
    assert time.monotonic() - start < 0.5 + 2 * INNER_FOLDS * 0.05 + 0.5


def test_xgboost_aft_curves_sit_on_the_files_time_scale_even_after_few_rounds():
    rng = np.random.default_rng(1)
    days = rng.exponential(500, 200)
    data = prepare_tabular(pd.DataFrame({"days": days.round(1).astype(str), "died": np.where(days < 700, "1", "0"),
                                         "x": rng.normal(size=200).astype(str)}), "days", "died")

    model = XGBoostAFT(n_estimators=5, learning_rate=0.01).fit(data)

    # a few small steps barely move the trees: the curve must come from the start at the mean log duration
    typical = np.median(model.survival(data, np.percentile(days, [25, 50, 75])), axis=0)
    assert typical[0] > typical[1] > typical[2]
    assert 0.2 < typical[1] < 0.8


def test_every_survival_candidate_has_an_integrated_brier_score_on_a_public_data_set(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "FOREST_TREES", 25)
    covariates, outcome = load_veterans_lung_cancer()
    path = tmp_path / "veterans.csv"
    covariates.assign(days=outcome["Survival_in_days"], died=outcome["Status"].astype(int)).to_csv(path, index=False)

    result = evaluate_csv(path, "days", "died", folds=2, repeats=1, time_budget=0)

    assert set(result["models"]) == set(CANDIDATES) - {"logistic"} | {ENSEMBLE}
    for name, figures in result["models"].items():
        assert 0 <= figures["ibs"] <= 0.25, name
        assert figures["c_index"] > 0.6, name
    assert 0 <= result["selection"]["ibs"] <= 0.25
    assert sum(result["selection"]["picks"].values()) == 2


def test_the_command_line_takes_the_metric_and_the_time_budget(export, fast_candidates, tmp_path):
    out = tmp_path / "result.json"

    code, output = invoke("evaluate-csv", str(export), "--duration", "dienstjaren", "--event", "uit_dienst",
                          "--folds", "2", "--repeats", "1", "--metric", "auc", "--time-budget", "0", "--json", str(out))

    assert code == 0, output
    result = json.loads(out.read_text())
    assert result["metric"] == "auc" and "logistic" in result["models"]
    assert result["protocol"]["time_budget_s"] == 0
    assert "chosen by auc" in output
    code, output = invoke("evaluate-csv", str(export), "--duration", "dienstjaren", "--event", "uit_dienst",
                          "--metric", "brier")
    assert code == 2 and "brier" in output


def test_the_goal_is_the_selection_above_the_best_baseline_by_one_of_its_fold_deviations():
    models = {"cox": {"c_index": 0.70, "c_index_std": 0.02},
              "random_survival_forest": {"c_index": 0.72, "c_index_std": 0.03},
              "xgboost_aft": {"c_index": 0.69, "c_index_std": 0.01},
              ENSEMBLE: {"c_index": 0.80, "c_index_std": 0.01}}  # not a baseline: the goal's figure is the selection

    def judged(selection: float) -> dict:
        return goal({"metric": "c-index", "models": models, "selection": {"c_index": selection}})

    assert judged(0.74)["best_baseline"] == "random_survival_forest" and not judged(0.74)["met"]
    assert judged(0.76)["met"] and judged(0.76)["margin"] == pytest.approx(0.04)


def test_bench_survival_files_prints_every_data_set_with_its_goal(home, monkeypatch):
    import continuity.benchmarks.survival_files as bench

    calls = []
    figures = {"rows": 432, "chosen": ENSEMBLE, "seconds": 12.0,
               "goal": {"metric": "c-index", "selection": 0.61, "best_baseline": "cox", "baseline": 0.62,
                        "baseline_std": 0.05, "met": False}}
    monkeypatch.setattr(bench, "survival_files_benchmark",
                        lambda out, settings, **options: calls.append((out, options)) or {"rossi": figures})

    code, output = invoke("bench", "survival-files", "--time-budget", "30")

    assert code == 0, output
    assert calls == [(home.home / "survival-files.json", {"time_budget": 30.0, "folds": 5, "repeats": 1})]
    assert "rossi" in output and "cox 0.620 ± 0.050" in output and "False" in output


def test_a_files_cox_fits_take_the_fixed_file_penalty_unless_the_search_draws_one():
    # the weekly models' prior (cox.RIDGE_PRIOR) was measured on landmark rows, not on one row per employee
    for name in ("cox", "gradient_boosting"):
        assert CANDIDATES[name].build({}, 0).forecaster.penalizer == tabular.FILE_PENALIZER
    assert CANDIDATES["cox"].build({"penalizer": 2.0}, 0).forecaster.penalizer == 2.0
