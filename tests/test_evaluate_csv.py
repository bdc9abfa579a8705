"""The generic path for a one-row-per-employee HR file: type inference, clear refusals, honest CV figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from continuity.config import Settings
from continuity.features.readers import UnreadableFile
from continuity.features.tabular_file import TabularFileError, prepare_tabular
from continuity.models import tabular
from continuity.models.encoding import FeatureEncoder
from continuity.models.tabular import CANDIDATES, ENSEMBLE, evaluate_csv, print_evaluation

IBM = Settings().ibm_csv_path
IBM_DROP = ["EmployeeNumber", "EmployeeCount", "Over18", "StandardHours"]


def text_frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    """A frame as `read_file` hands over a CSV: all text, index = row number in the file."""
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.RangeIndex(2, 2 + n), dtype=str)


def hr_export() -> pd.DataFrame:
    return text_frame(
        {
            "tenure": ["1,5", "3", "0", "12", "7", "2,25", "4", "9"],
            "left": ["Yes", "No", "yes", "No", "no", "Yes", "No", "No"],
            "team": ["Noord", "Zuid", "Noord", "", "Zuid", "Oost", "Oost", "Noord"],
            "satisfaction": ["1", "2", "3", "4", "1", "2", "", "4"],
            "income": ["2100", "2300", "2250", "2400", "2200", "95000", "2350", "2150"],
            "overtime": ["ja", "nee", "ja", "nee", "nee", "ja", "", "nee"],
            "country": ["NL"] * 8,
            "name": ["An", "Bo", "Cor", "Dirk", "Els", "Fenna", "Gijs", "Hans"],
        }
    )


def test_types_are_inferred_from_the_values():
    data = prepare_tabular(hr_export(), duration="tenure", event="left")

    assert data.duration.tolist() == [1.5, 3.0, 0.0, 12.0, 7.0, 2.25, 4.0, 9.0]
    assert data.event.tolist() == [True, False, True, False, False, True, False, False]
    # survey scores 1-4 are levels, not distances; text is a category; the tenure itself stays a column
    assert set(data.categorical) == {"team", "satisfaction"}
    assert set(data.numeric) == {"tenure", "income", "overtime"}
    assert data.covariates == ["team", "satisfaction", "income", "overtime"]
    assert data.features["overtime"].tolist()[:2] == [1.0, 0.0]
    assert data.features["income"].iat[5] == pytest.approx(np.log1p(95000))


def test_missing_cells_stay_missing_for_the_models_to_handle():
    features = prepare_tabular(hr_export(), duration="tenure", event="left").features

    assert features.loc[5, "team"] is None
    assert features.loc[8, "satisfaction"] is None
    assert np.isnan(features.loc[8, "overtime"])


def test_constant_and_identifier_columns_are_dropped_with_a_note():
    data = prepare_tabular(hr_export(), duration="tenure", event="left")

    assert "country" not in data.features and "name" not in data.features
    assert any("'country' dropped" in note and "same value" in note for note in data.notes)
    assert any("'name' dropped" in note and "identifier" in note for note in data.notes)
    assert any("'income' log-transformed" in note for note in data.notes)


def test_rows_without_a_duration_or_event_are_left_out_and_counted():
    frame = hr_export()
    frame.loc[3, "tenure"] = ""
    frame.loc[4, "left"] = " "

    data = prepare_tabular(frame, duration="tenure", event="left")

    assert len(data.event) == len(data.features) == 6
    assert 3 not in data.features.index and 4 not in data.features.index
    assert "2 rows without 'tenure' or 'left' left out" in data.notes


def test_dropped_columns_are_not_used():
    data = prepare_tabular(hr_export(), duration="tenure", event="left", drop=["income"])

    assert "income" not in data.features


@pytest.mark.parametrize(
    ("duration", "event", "drop", "message"),
    [
        ("years", "left", (), "column 'years' is not in the file"),
        ("tenure", "Attrition", (), "column 'Attrition' is not in the file"),
        ("tenure", "left", ("EmployeeNumber",), "column 'EmployeeNumber' is not in the file"),
        ("tenure", "tenure", (), "cannot be both the duration and the event"),
        ("tenure", "team", (), "event column 'team' must be binary (yes/no, true/false, 1/0); found 'Noord' in row 2"),
        ("team", "left", (), "duration column 'team' must be numeric; found 'Noord' in row 2"),
    ],
)
def test_unusable_columns_are_refused_by_name(duration, event, drop, message):
    with pytest.raises(TabularFileError) as refused:
        prepare_tabular(hr_export(), duration=duration, event=event, drop=drop)
    assert message in str(refused.value)


def test_a_negative_duration_is_refused_with_its_row():
    frame = hr_export()
    frame.loc[6, "tenure"] = "-1"

    with pytest.raises(TabularFileError, match=r"'tenure' must not be negative; found '-1' in row 6"):
        prepare_tabular(frame, duration="tenure", event="left")


def test_an_event_nobody_had_is_refused():
    frame = hr_export()
    frame["left"] = "0"

    with pytest.raises(TabularFileError, match="event column 'left' has only one value: no one left"):
        prepare_tabular(frame, duration="tenure", event="left")


def test_a_missing_file_or_too_few_leavers_is_refused_before_any_fitting(tmp_path):
    with pytest.raises(UnreadableFile, match="personeel.csv: cannot be opened"):
        evaluate_csv(tmp_path / "personeel.csv", duration="tenure", event="left")

    path = tmp_path / "export.csv"
    hr_export().to_csv(path, sep=";", index=False)
    with pytest.raises(TabularFileError, match="needs at least 5 leavers and 5 stayers in 'left'"):
        evaluate_csv(path, duration="tenure", event="left")


def write_dutch_export(path: Path, rows: int, seed: int) -> None:
    """A semicolon CSV with decimal commas where leaving depends on workload and a temporary contract."""
    rng = np.random.default_rng(seed)
    workload = rng.normal(0, 1, rows)
    temporary = rng.random(rows) < 0.3
    hazard = 0.1 * np.exp(1.2 * workload + 1.0 * temporary)
    leave_at = rng.exponential(1 / hazard)
    observed = rng.uniform(0.5, 10, rows)
    frame = pd.DataFrame(
        {
            "medewerker": [f"M{i:04d}" for i in range(rows)],
            "dienstjaren": np.round(np.minimum(leave_at, observed), 2),
            "uit_dienst": np.where(leave_at <= observed, "ja", "nee"),
            "werkdruk": np.round(workload, 2),
            "contract": np.where(temporary, "tijdelijk", "vast"),
        }
    )
    frame.to_csv(path, sep=";", decimal=",", index=False)


def test_models_find_the_signal_in_a_dutch_export(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "FOREST_TREES", 50)  # enough to find two drivers, and quick
    path = tmp_path / "personeel.csv"
    write_dutch_export(path, rows=300, seed=3)

    result = evaluate_csv(path, duration="dienstjaren", event="uit_dienst", folds=3, repeats=1, time_budget=0)

    # logistic regression takes the duration as an input, so it cannot compete on C-index
    assert set(result["models"]) == set(CANDIDATES) - {"logistic"} | {ENSEMBLE}
    assert result["rows"] == 300 and 0 < result["events"] < 300
    for name, figures in result["models"].items():
        assert figures["c_index"] > 0.68, name
        assert 0 < figures["ibs"] < 0.25, name
    assert sum(result["selection"]["picks"].values()) == 3
    assert any("'medewerker' dropped" in note for note in result["notes"])


def test_ibm_attrition_file_is_ranked_well_above_chance(monkeypatch):
    monkeypatch.setattr(tabular, "CANDIDATES", {name: CANDIDATES[name] for name in ("xgboost_aft", "logistic")})

    result = evaluate_csv(IBM, duration="YearsAtCompany", event="Attrition", drop=IBM_DROP, folds=3, repeats=1,
                          metric="auc", time_budget=0)

    assert result["rows"] == 1470 and result["events"] == 237
    assert set(result["models"]) == {"xgboost_aft", "logistic", ENSEMBLE}
    for figures in result["models"].values():
        assert set(figures) == {"c_index", "c_index_std", "auc", "auc_std", "ibs", "ibs_std", "configs_tried"}
        assert 0 < figures["auc_std"] < 0.1
    assert result["models"]["logistic"]["ibs"] is None and 0 < result["models"]["xgboost_aft"]["ibs"] < 0.25
    assert result["models"][result["chosen"]]["auc"] > 0.78
    assert result["selection"]["auc"] > 0.78
    assert result["protocol"] == {"folds": 3, "repeats": 1, "seed": 0, "inner_folds": 3, "time_budget_s": 0,
                                  "max_configs": 25}

    console = Console(record=True, width=120)
    print_evaluation(console, result)
    printed = console.export_text()
    assert f"{result['chosen']} (chosen)" in printed
    aft = result["models"]["xgboost_aft"]
    assert f"{aft['auc']:.3f} ± {aft['auc_std']:.3f}" in printed
    assert "nested selection" in printed


def test_protected_columns_stay_out_of_the_models_and_are_audited_by(tmp_path, monkeypatch):
    # every candidate encodes its inputs with a FeatureEncoder: none of them may be given the protected column
    path = tmp_path / "personeel.csv"
    write_dutch_export(path, rows=300, seed=3)
    frame = pd.read_csv(path, sep=";", decimal=",")
    rng = np.random.default_rng(0)
    # gender carries the signal itself: a model allowed to use it would rank better
    frame["geslacht"] = np.where((frame["uit_dienst"] == "ja") ^ (rng.random(300) < 0.1), "v", "m")
    frame.to_csv(path, sep=";", decimal=",", index=False)
    monkeypatch.setattr(tabular, "FOREST_TREES", 25)
    seen: list[tuple[str, ...]] = []
    fit = FeatureEncoder.fit
    monkeypatch.setattr(FeatureEncoder, "fit", lambda self, rows: (seen.append(self.features), fit(self, rows))[1])

    result = evaluate_csv(path, duration="dienstjaren", event="uit_dienst", folds=2, repeats=1, protected=["geslacht"],
                          metric="auc", time_budget=0)

    assert len(seen) > len(CANDIDATES) and not any("geslacht" in features for features in seen)
    groups = {g["group"]: g for g in result["fairness"]["geslacht"]}
    assert set(groups) == {"v", "m"}
    assert sum(g["n"] for g in groups.values()) == 300
    assert sum(g["leavers"] for g in groups.values()) == result["events"]
    assert groups["m"]["status"] == ("insufficient" if groups["m"]["leavers"] < 20 else "ok")
    assert all(0 <= g["auc"] <= 1 for g in groups.values() if not np.isnan(g["auc"]))
