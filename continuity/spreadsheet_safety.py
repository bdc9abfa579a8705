"""Neutralising spreadsheet formula injection (CSV/XLSX export of text that came from outside).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return can be run as a
formula by Excel or LibreOffice (OWASP "CSV injection"). Such text gets a leading apostrophe,
which spreadsheets show as text. Plain numbers such as ``-3`` or ``+31 6 ...`` phone-like
values are left alone only when they are numbers; everything else is neutralised.
Neutralising is idempotent: an already neutralised value is not changed again.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.match(value)


def neutralise(value: object) -> object:
    """Return the value, with a leading apostrophe when a spreadsheet could read it as a formula."""
    return "'" + value if is_formula_like(value) else value


def formula_mask(series: pd.Series) -> pd.Series:
    """Vectorised ``is_formula_like`` for a text column (False for nulls and non-text)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    flags = np.array([is_formula_like(u) for u in uniques] + [False], dtype=bool)
    return pd.Series(flags[np.where(codes < 0, len(uniques), codes)], index=series.index)


def neutralise_series(series: pd.Series) -> pd.Series:
    mask = formula_mask(series)
    if not mask.any():
        return series
    out = series.copy()
    out[mask] = "'" + series[mask].astype(str)
    return out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every text column neutralised; use it before writing CSV or XLSX."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = neutralise_series(out[col])
    return out
