"""Small organisations (issue 13): a registered base model, recalibrated per horizon on the organisation's own
weeks, competes with a model of its own, and publishes alone when the export is too short to train on."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import continuity.cli
from continuity.config import Settings
from continuity.horizons import risk_column
from continuity.models import calibration
from continuity.models.calibration import HorizonCalibrator
from continuity.models.split import (
    MIN_RECALIBRATION_WEEKS,
    MIN_TEST_WEEKS,
    InsufficientHistory,
    plan_recalibration,
    plan_windows,
)
from continuity.models.training import RECALIBRATED_BASE, own_or_base
from command_line import home, invoke  # noqa: F401 - home is a fixture
from test_short_history import _history


def test_a_one_year_history_is_all_calibration_and_has_no_test_weeks():
    weeks = 24  # what a one-year export gives after the features' warm-up
    with pytest.raises(InsufficientHistory):
        plan_windows(*_history(weeks))

    windows = plan_recalibration(*_history(weeks))

    assert windows.holdout_weeks == 0
    assert windows.horizons == (13,)  # 26 weeks cannot be followed in 24
    assert windows.calibration_weeks == weeks - 13


def test_recalibration_keeps_a_test_where_the_history_has_room_for_one():
    windows = plan_recalibration(*_history(76))

    assert windows.holdout_weeks >= MIN_TEST_WEEKS
    assert windows.holdout_weeks + windows.calibration_weeks + max(windows.horizons) == 76  # no training weeks


def test_recalibration_below_its_minimum_says_what_it_needs():
    least = 13 + MIN_RECALIBRATION_WEEKS
    with pytest.raises(InsufficientHistory, match=rf"needs at least {least} weekly snapshots .* gives {least - 1}"):
        plan_recalibration(*_history(least - 1))
    with pytest.raises(InsufficientHistory, match="this export has 0 voluntary leavers"):
        plan_recalibration(*_history(least, leaving_every=None))


def test_a_recalibrated_base_keeps_the_sectors_calibration_at_horizons_its_weeks_cannot_follow(monkeypatch):
    monkeypatch.setattr(calibration, "BOOTSTRAP_DRAWS", 5)  # the intervals' resamples are not what is tested
    rng = np.random.default_rng(0)
    p = pd.DataFrame({risk_column(h): rng.uniform(0.01, 0.3, 2000) for h in (13, 26)})
    outcomes = pd.DataFrame({"duration": np.where(rng.uniform(size=2000) < p[risk_column(26)], 10.0, 60.0),
                             "exit_reason": "voluntary", "followed_weeks": 60.0})
    outcomes["event"] = outcomes["duration"] < 60
    sector = HorizonCalibrator().fit(p, outcomes, (13, 26))
    own = HorizonCalibrator(seed=1).fit(p, outcomes, (13,))

    own.keeping(sector)

    assert own.horizons == (13, 26)
    assert own.maps_[26] is sector.maps_[26] and own.maps_[13] is not sector.maps_[13]
    # a sector model refitted after its calibration kept its own probabilities there: so does the base
    refitted = HorizonCalibrator(seed=2).fit(p, outcomes, (13,)).keeping(sector.for_refitted_model())
    np.testing.assert_array_equal(refitted.calibrated(p)[risk_column(26)], p[risk_column(26)])
    assert not np.allclose(refitted.calibrated(p)[risk_column(13)], p[risk_column(13)])
    with pytest.raises(ValueError, match="isotonic"):
        HorizonCalibrator().fit(p, outcomes, (13,)).keeping(HorizonCalibrator("isotonic").fit(p, outcomes, (26,)))


@pytest.mark.parametrize(("own", "expected"), [
    ({"c_index": 0.66, "ece_26w": 0.010}, "cox"),  # no worse in both
    ({"c_index": 0.70, "ece_26w": 0.030}, RECALIBRATED_BASE),  # ranks better, misstates the size
    ({"c_index": 0.60, "ece_26w": 0.005}, RECALIBRATED_BASE),  # better sized, ranks worse
    ({"c_index": 0.66}, RECALIBRATED_BASE),  # an ECE the base has and the own model lacks counts against it
])
def test_the_own_model_must_be_no_worse_than_the_recalibrated_base_in_c_index_and_ece(own, expected):
    validation = {"cox": own, RECALIBRATED_BASE: {"c_index": 0.65, "ece_26w": 0.012}}

    chosen, reason = own_or_base(validation, "cox")

    assert chosen == expected
    assert "0.650 recalibrated base" in reason


def test_without_a_model_of_its_own_the_base_is_chosen():
    assert own_or_base({RECALIBRATED_BASE: {"c_index": 0.6}}, None)[0] == RECALIBRATED_BASE


def test_a_base_model_with_other_inputs_is_refused_in_one_sentence():
    from continuity.models.sector_base import same_contract

    base = SimpleNamespace(features=("tenure_years", "sick_days_26w"))
    same_contract(base, ("sick_days_26w", "tenure_years"), "continuity-base v1")  # the order does not matter
    with pytest.raises(ValueError, match=r"lacks caseload; it adds sick_days_26w\)"):
        same_contract(base, ("tenure_years", "caseload"), "continuity-base v1")


@pytest.fixture(scope="module")
def one_year_export(tmp_path_factory):
    """The acceptance case: a one-year export of 300 workers (`continuity synth --workers 300 --years 1`)."""
    from continuity.synth.generate import generate_sector

    out = tmp_path_factory.mktemp("one-year")
    generate_sector(out, workers=300, years=1, seed=3, fmt="parquet")
    return out / "exports"


def _register_sector_base(settings: Settings, sector) -> str:
    """A Cox base model fitted and calibrated (13 and 26 weeks) on another synthetic sector, registered as
    `continuity base-model` does, without its XGBoost candidate, which would add minutes to the suite."""
    from continuity.features.feature_spec import model_features
    from continuity.features.ingest import ingest_dir
    from continuity.features.snapshots import build_snapshots
    from continuity.models.calibration import recalibrate
    from continuity.models.cox import CoxForecaster
    from continuity.models.registry import BASE_MODEL_NAME, log_forecaster, register_version
    from continuity.warehouse import connect

    warehouse = settings.home / "sector-warehouse.duckdb"
    ingest_dir(sector / "exports", warehouse, pseudonym_key=settings.pseudonym_key.get_secret_value())
    with connect(warehouse) as con:
        build_snapshots(con)
        snapshots, labels = con.table("snapshots").df(), con.table("labels").df()
    base = CoxForecaster(features=model_features(settings.health_inputs)).fit(snapshots, labels)
    base.calibrate(recalibrate(base, snapshots, labels, snapshots["snapshot_date"].max(), horizons=(13, 26)).calibrator)
    run_id = log_forecaster(base, {}, {}, settings)
    return register_version(run_id, settings, None, name=BASE_MODEL_NAME)


def test_one_year_of_300_workers_publishes_from_the_recalibrated_base_model(
        prefect_harness, tmp_path, one_year_export, tiny_sector):
    """The flow itself, not `continuity run`: a second `run` through the command-line runner in one session
    fails in Prefect's console logging, on the stream the runner closed after the first."""
    from rich.console import Console

    from continuity.flows.report import print_summary
    from continuity.flows.weekly import weekly
    from continuity.models.registry import SOURCE_TAG, load_base_model, load_version, tracking_client
    from continuity.publication import Publications

    settings = Settings(home=tmp_path, export_dir=one_year_export)
    with pytest.raises(LookupError, match="register one with `continuity base-model`"):
        load_base_model(settings, "continuity-base")
    version = _register_sector_base(settings, tiny_sector)

    result = weekly(settings=Settings(home=tmp_path, export_dir=one_year_export,
                                      base_model=f"models:/continuity-base/{version}"), retrain=True)

    assert result.chosen == RECALIBRATED_BASE and result.promoted
    console = Console(record=True, width=200)
    print_summary(console, result, settings)
    said = " ".join(console.export_text().split())
    assert f"Model fitted on: base model continuity-base v{version}, recalibrated" in said
    assert "No test weeks of its own" in said
    published = Publications(settings.published).current()
    assert published.model_version == "1"
    client = tracking_client(settings)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              f"tags.{SOURCE_TAG} LIKE 'base model continuity-base%'")
    assert [run.info.run_id for run in runs] == [load_version(settings, "1").run_id]
    # 13 weeks learnt on the organisation's own weeks; 26, which 24 weeks cannot follow, kept from the sector.
    assert load_version(settings, "1").forecaster.calibrator_.horizons == (13, 26)


def test_one_year_of_300_workers_without_a_base_model_stops_with_the_sentence_and_exit_2(
        home, prefect_harness, monkeypatch, one_year_export):  # noqa: F811
    monkeypatch.setenv("CONTINUITY_EXPORT_DIR", str(one_year_export))
    monkeypatch.setattr(continuity.cli, "_prefect_env", lambda settings: None)

    code, output = invoke("run")

    assert code == 2
    assert "Traceback" not in output
    assert output.count("error:") == 1
    said = " ".join(output[output.index("error:"):].split())  # the sentence, as wide as the console let it be
    assert said.startswith("error: The weekly run needs at least 65 weekly snapshots")
    assert "this export gives 24 weekly snapshots." in said


def test_a_split_without_test_weeks_trains_on_every_week_up_to_a_week_after_the_last():
    from continuity.models.split import time_split

    snapshots, labels = _history(24)

    split = time_split(snapshots, labels, holdout_weeks=0)

    assert split.test_snapshots.empty and len(split.train_snapshots) == len(snapshots)
    assert split.split_date == snapshots["snapshot_date"].max() + pd.Timedelta(weeks=1)
