"""Any one-row-per-employee HR file (tenure and a left flag) as model-ready columns.

Organisations that cannot yet deliver the full data contract often have exactly
this: a spreadsheet with each employee's tenure, whether they left, and whatever
else the HR system exports. The file is read like every other export (delimiters,
BOM, cp1252, decimal commas: `readers.read_file`) and every column's type is
inferred from its values, because nobody declares them:

- a column of numbers is numeric; skewed non-negative amounts (income, years)
  are log-transformed so one extreme salary does not dominate a linear model;
- an integer column with at most `MAX_LEVELS` distinct values (survey scores
  1-4, job levels) is a category: its levels need not be equally spaced;
- a column of yes/no values (Dutch or English, true/false, 1/0) is a 0/1 number;
- any other text is a category; text that is different in (nearly) every row is
  an identifier or free text and is dropped, as is a column with a single value.

Every decision that removes or reshapes a column is written to `notes`, so the
analyst can see why a column they expected is not in the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from continuity.features.readers import read_file
from continuity.features.validation import _parse_bool, _parse_number

MAX_LEVELS = 5
SKEW_FOR_LOG = 1.0
# Text columns with more distinct values than this share of the rows are identifiers or free text.
MAX_DISTINCT_SHARE = 0.5


class TabularFileError(ValueError):
    """The file cannot be evaluated as it is; the message names the column and the problem."""


@dataclass(frozen=True)
class TabularData:
    """`features` holds every usable column, the duration one included (typed like the rest): a
    classifier may use tenure as an input, a survival model cannot, since it is its time axis."""

    features: pd.DataFrame  # numeric columns as float (NaN = missing), categories as text (None = missing)
    categorical: tuple[str, ...]
    duration_column: str
    duration: np.ndarray  # float, >= 0, in the file's own unit
    event: np.ndarray  # bool: the employee left
    notes: tuple[str, ...]

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(c for c in self.features.columns if c not in self.categorical)

    @property
    def covariates(self) -> list[str]:
        """The columns a survival model may use: all but its own time axis."""
        return [c for c in self.features.columns if c != self.duration_column]

    def take(self, positions: np.ndarray) -> TabularData:
        """The rows at `positions` (0-based), e.g. one cross-validation fold."""
        return replace(
            self, features=self.features.iloc[positions], duration=self.duration[positions], event=self.event[positions]
        )


def load_tabular(path: Path, duration: str, event: str, drop: Sequence[str] = ()) -> TabularData:
    return prepare_tabular(read_file(Path(path)).frame, duration, event, drop)


def prepare_tabular(frame: pd.DataFrame, duration: str, event: str, drop: Sequence[str] = ()) -> TabularData:
    """Type every column of `frame`; the row index is the row number in the file, used in error messages."""
    named = [duration, event, *drop]
    missing = [c for c in dict.fromkeys(named) if c not in frame.columns]
    if missing:
        columns = ", ".join(map(str, frame.columns))
        raise TabularFileError(f"column {missing[0]!r} is not in the file (columns: {columns})")
    if duration == event:
        raise TabularFileError(f"column {duration!r} cannot be both the duration and the event")

    notes: list[str] = []
    durations = _duration(frame[duration], duration)
    events = _event(frame[event], event)
    unlabelled = durations.isna() | events.isna()
    if unlabelled.any():
        notes.append(f"{int(unlabelled.sum())} rows without {duration!r} or {event!r} left out")
    events, durations = events[~unlabelled].astype(bool), durations[~unlabelled]
    if events.nunique() < 2:
        nobody = "stayed" if events.all() else "left"
        raise TabularFileError(f"event column {event!r} has only one value: no one {nobody}")

    features, categorical = {}, []
    for column in frame.columns.drop([event, *drop]):
        typed, is_category, note = _infer(frame.loc[~unlabelled, column], str(column))
        if note:
            notes.append(note)
        if typed is not None:
            features[column] = typed
            if is_category:
                categorical.append(column)
    return TabularData(
        features=pd.DataFrame(features, index=frame.index[~unlabelled]),
        categorical=tuple(categorical),
        duration_column=duration,
        duration=durations.to_numpy(dtype=float),
        event=events.to_numpy(dtype=bool),
        notes=tuple(notes),
    )


def _cells(series: pd.Series) -> pd.Series:
    """Cells as stripped text, None where empty; typed cells (Parquet) become their text."""
    text = series.map(lambda v: None if pd.isna(v) else str(v).strip(), na_action=None)
    return text.where(text != "", None)


def _parsed(cells: pd.Series, parse) -> tuple[pd.Series, pd.Series]:
    """Values and whether each non-empty cell parsed."""
    pairs = cells.dropna().map(parse)
    values = pd.Series(pairs.map(lambda p: p[0]), index=pairs.index, dtype=object).reindex(cells.index)
    ok = pairs.map(lambda p: p[1]).reindex(cells.index, fill_value=True).astype(bool)
    return values, ok


def _first_bad(cells: pd.Series, ok: pd.Series) -> str:
    row = ok.index[~ok][0]
    return f"{cells[row]!r} in row {row}"


def _duration(series: pd.Series, column: str) -> pd.Series:
    cells = _cells(series)
    values, ok = _parsed(cells, _parse_number)
    if not ok.all():
        raise TabularFileError(f"duration column {column!r} must be numeric; found {_first_bad(cells, ok)}")
    values = values.astype(float)
    negative = values < 0
    if negative.any():
        raise TabularFileError(f"duration column {column!r} must not be negative; found {_first_bad(cells, ~negative)}")
    return values


def _event(series: pd.Series, column: str) -> pd.Series:
    cells = _cells(series)
    values, ok = _parsed(cells, _parse_bool)
    if not ok.all():
        raise TabularFileError(
            f"event column {column!r} must be binary (yes/no, true/false, 1/0); found {_first_bad(cells, ok)}"
        )
    return values


def _infer(series: pd.Series, column: str) -> tuple[pd.Series | None, bool, str | None]:
    """(typed column or None when dropped, is it a category, note for the analyst)."""
    cells = _cells(series)
    present = cells.dropna()
    if present.nunique() <= 1:
        return None, False, f"{column!r} dropped: the same value in every row"

    numbers, is_number = _parsed(cells, _parse_number)
    if is_number.all():
        numbers = numbers.astype(float)
        levels = numbers.dropna().unique()
        if 2 < len(levels) <= MAX_LEVELS and np.all(levels == np.round(levels)):
            return numbers.map(lambda v: None if pd.isna(v) else f"{v:g}").astype(object), True, None
        if numbers.min() >= 0 and len(levels) > MAX_LEVELS and numbers.skew() > SKEW_FOR_LOG:
            return np.log1p(numbers), False, f"{column!r} log-transformed: skewed amounts"
        return numbers, False, None

    flags, is_flag = _parsed(cells, _parse_bool)
    if is_flag.all():
        return flags.astype(float), False, None

    if present.nunique() > MAX_DISTINCT_SHARE * len(present):
        return None, False, f"{column!r} dropped: a different text in almost every row (an identifier or free text)"
    return cells.astype(object), True, None
