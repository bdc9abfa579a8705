"""Typing and validating one contract table, vectorised: every failure names a row, column, value and reason.

Three steps, each on whole frames:

1. ``coerce``: text -> contract types (decimal commas, dates as ``dates.py`` reads them, Dutch
   booleans, labels translated by the mapping). A cell that cannot be typed is an error.
2. ``row_schema(...)``: a pandera schema built from ``contract.py`` (required fields, ranges,
   allowed labels, date order, no dates after the export date) run with ``lazy=True``;
   its failure cases are mapped back to rows.
3. ``integrity_schema(...)``: referential integrity and unique natural keys, on the rows
   that survived step 2 (so a broken first copy of a key does not block a good second one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa

from continuity.features import contract as C
from continuity.features import dates
from continuity.features.mapping import Mapping, label_key

ERROR_COLUMNS = ["row", "column", "value", "reason"]

_TRUE = {"true", "t", "1", "ja", "j", "yes", "y", "waar", "x", "1.0"}
_FALSE = {"false", "f", "0", "nee", "n", "no", "onwaar", "0.0"}
_MAX_VALUE_CHARS = 200


@dataclass
class Coerced:
    frame: pd.DataFrame          # contract columns, typed
    errors: pd.DataFrame         # ERROR_COLUMNS
    formula_cells: dict[str, pd.Index]  # text column -> rows whose value was neutralised
    unknown_labels: dict[str, dict[str, int]]  # open label column (C.OPEN_LABELS) -> label outside it -> rows


def empty_errors() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype="int64"), "column": pd.Series(dtype=object),
                         "value": pd.Series(dtype=object), "reason": pd.Series(dtype=object)})


def _errors(rows: pd.Index, column: str | None, values: pd.Series | list | None, reason: str | pd.Series) -> pd.DataFrame:
    n = len(rows)
    if values is None:
        values = [None] * n
    vals = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy(), dtype=object)
    return pd.DataFrame({"row": np.asarray(rows, dtype="int64"), "column": [column] * n, "value": vals.to_numpy(),
                         "reason": reason.to_numpy() if isinstance(reason, pd.Series) else [reason] * n})


@dataclass
class _Factor:
    """A column as codes into its distinct stripped texts (-1 = empty): every parse runs once per distinct value."""
    codes: np.ndarray
    uniques: np.ndarray  # object array of str
    index: pd.Index

    def text(self) -> pd.Series:
        return self.take(self.uniques, None)

    def take(self, per_unique: np.ndarray, fill: object, dtype: object = object) -> pd.Series:
        arr = np.concatenate([np.asarray(per_unique, dtype=dtype), np.array([fill], dtype=dtype)])
        return pd.Series(arr[np.where(self.codes < 0, len(self.uniques), self.codes)], index=self.index)

    def rows_where(self, per_unique_bad: np.ndarray) -> pd.Index:
        bad = np.concatenate([np.asarray(per_unique_bad, dtype=bool), [False]])
        return self.index[bad[np.where(self.codes < 0, len(self.uniques), self.codes)]]


def _factor(series: pd.Series) -> _Factor:
    s = series
    if pd.api.types.is_float_dtype(s) and s.dropna().map(float.is_integer).all():
        s = s.astype("Int64")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    cleaned = [str(u).strip() for u in uniques]
    empty = [i for i, c in enumerate(cleaned) if not c]
    if empty:  # whitespace-only cells are missing values
        keep = [i for i in range(len(cleaned)) if cleaned[i]]
        new_pos = np.full(len(cleaned) + 1, -1, dtype=np.int64)
        new_pos[keep] = np.arange(len(keep))
        codes = new_pos[np.where(codes < 0, len(cleaned), codes)]
        cleaned = [cleaned[i] for i in keep]
    return _Factor(np.asarray(codes, dtype=np.int64), np.array(cleaned, dtype=object), series.index)


def _text(series: pd.Series) -> pd.Series:
    """Any column as stripped text with None for empty/missing."""
    return _factor(series).text()


def _parse_uniques(f, parsed: pd.Series, parse_one, missing):
    """Finish a vectorised parse of a column's distinct values: the fast path's misses go through
    the lenient `parse_one` (decimal commas); returns the values and the rows that failed."""
    bad = np.zeros(len(f.uniques), dtype=bool)
    for i in np.flatnonzero(parsed.isna().to_numpy()):
        value, ok = parse_one(f.uniques[i])
        parsed.iloc[i] = value if ok else missing
        bad[i] = not ok
    return parsed, f.rows_where(bad)

def _parse_number(text: str) -> tuple[object, bool]:
    t = text.replace(" ", "").replace("\u00a0", "")
    if "," in t:
        t = t.replace(".", "").replace(",", ".") if "." in t and t.rfind(",") > t.rfind(".") else t.replace(",", ".")
        if t.count(".") > 1:
            return None, False
    try:
        v = float(t)
    except ValueError:
        return None, False
    return (v, True) if np.isfinite(v) else (None, False)


def _parse_bool(text: str) -> tuple[object, bool]:
    k = text.strip().casefold()
    if k in _TRUE:
        return True, True
    if k in _FALSE:
        return False, True
    return None, False


def coerce(table: C.Table, raw: pd.DataFrame, mapping: Mapping) -> Coerced:
    """Type the contract columns of ``raw`` (already renamed to contract names); missing optional columns are null."""
    from continuity.spreadsheet_safety import formula_mask

    out: dict[str, pd.Series] = {}
    errs: list[pd.DataFrame] = []
    formulas: dict[str, pd.Index] = {}
    unknown: dict[str, dict[str, int]] = {}
    idx = raw.index
    date_text = {c.name: _factor(raw[c.name]) for c in table.columns if c.dtype == "date" and c.name in raw.columns
                 and not pd.api.types.is_datetime64_any_dtype(raw[c.name])}
    orders = frozenset() if mapping.date_format else dates.orders_shown(
        u for f in date_text.values() for u in f.uniques)
    for col in table.columns:
        if col.name not in raw.columns:
            out[col.name] = pd.Series(None if col.dtype in ("str",) else pd.NA, index=idx,
                                      dtype=_PANDAS_DTYPE[col.dtype])
            continue
        s = raw[col.name]
        if col.dtype == "date":
            if pd.api.types.is_datetime64_any_dtype(s):
                v = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
                out[col.name] = v.dt.normalize().astype("datetime64[ns]")
                continue
            f = date_text[col.name]
            parsed = pd.to_datetime(pd.Series(f.uniques, dtype=object), format="%Y-%m-%d", errors="coerce")
            reasons = np.full(len(f.uniques), None, dtype=object)
            for i in np.flatnonzero(parsed.isna().to_numpy()):
                value, reasons[i] = dates.parse(f.uniques[i], orders, mapping.date_format)
                parsed.iloc[i] = pd.NaT if value is None else value
            rows = f.rows_where(pd.notna(reasons))
            if len(rows):
                errs.append(_errors(rows, col.name, f.text()[rows], f.take(reasons, None)[rows]))
            fast = f.take(parsed.astype("datetime64[ns]").to_numpy(), np.datetime64("NaT", "ns"), "datetime64[ns]")
            out[col.name] = fast.astype("datetime64[ns]")
        elif col.dtype in ("int", "float"):
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                num = s.astype("float64")
            else:
                f = _factor(s)
                parsed, rows = _parse_uniques(
                    f, pd.to_numeric(pd.Series(f.uniques, dtype=object), errors="coerce").astype("float64"),
                    _parse_number, np.nan)
                if len(rows):
                    errs.append(_errors(rows, col.name, f.text()[rows], "not a number"))
                num = f.take(parsed.to_numpy(), np.nan, "float64")
            if col.dtype == "int":
                frac = num.notna() & (num != np.floor(num.fillna(0)))
                if frac.any():
                    rows = frac[frac].index
                    errs.append(_errors(rows, col.name, raw.loc[rows, col.name].astype(str), "not a whole number"))
                    num = num.where(~frac)
                out[col.name] = num.round().astype("Int64")
            else:
                out[col.name] = num
        elif col.dtype == "bool":
            if pd.api.types.is_bool_dtype(s):
                out[col.name] = s.astype("boolean")
                continue
            f = _factor(s)
            parsed = [_parse_bool(u) for u in f.uniques]
            rows = f.rows_where(np.array([not ok for _, ok in parsed], dtype=bool))
            if len(rows):
                errs.append(_errors(rows, col.name, f.text()[rows], "not a yes/no value (expected true/false, ja/nee, 1/0)"))
            out[col.name] = f.take(np.array([v for v, _ in parsed], dtype=object), None).astype("boolean")
        else:  # text
            f = _factor(s)
            labelled = (table.name, col.name) in C.ALLOWED_LABELS
            if labelled:
                labels = mapping.label_table(table.name, col.name)
                t = f.take(np.array([labels.get(label_key(u), u) for u in f.uniques], dtype=object), None)
            else:
                t = f.text()
            # a closed vocabulary quarantines anything else; open labels and free text are stored as exported
            stored_as_exported = not labelled or (table.name, col.name) in C.OPEN_LABELS
            if stored_as_exported and col.name not in C.PSEUDONYMISED.get(table.name, ()):
                mask = formula_mask(t)
                if mask.any():
                    formulas[col.name] = mask[mask].index
                    t = t.copy()
                    t[mask] = "'" + t[mask]
            if (table.name, col.name) in C.OPEN_LABELS:
                outside = t[t.notna() & ~t.isin(C.ALLOWED_LABELS[(table.name, col.name)])]
                if len(outside):
                    unknown[col.name] = {str(k): int(v) for k, v in outside.value_counts().items()}
            out[col.name] = t
    frame = pd.DataFrame(out, index=idx)
    errors = pd.concat(errs, ignore_index=True) if errs else empty_errors()
    return Coerced(frame, errors, formulas, unknown)


def ignored(table: C.Table, raw: pd.DataFrame, mapping: Mapping) -> pd.Series:
    """``"column label"`` for each row of ``raw`` (contract names) that the mapping's ``ignore`` leaves out;
    a label is matched as written in the file and as translated by ``values``, ignoring case and spaces."""
    hits = pd.Series(index=raw.index[:0], dtype=object)
    for column, wanted in mapping.ignored_labels(table.name).items():
        if column not in raw.columns:
            continue
        f = _factor(raw[column].loc[~raw.index.isin(hits.index)])
        labels = mapping.label_table(table.name, column)
        match = np.array([label_key(u) in wanted or label_key(labels.get(label_key(u), u)) in wanted
                          for u in f.uniques], dtype=bool)
        rows = f.rows_where(match)
        hits = pd.concat([hits, f.text()[rows].map(lambda label, c=column: f"{c} {label}")])
    return hits


_PANDAS_DTYPE = {"str": object, "int": "Int64", "float": "float64", "date": "datetime64[ns]", "bool": "boolean"}


def row_schema(table: C.Table, export_date: date) -> tuple[pa.DataFrameSchema, dict[str, tuple[str, str]]]:
    """The pandera schema of one table's row rules, and check name -> (column, reason) for wide checks."""
    export_ts = pd.Timestamp(export_date)
    earliest = pd.Timestamp(C.EARLIEST_DATE)
    forward = set(C.FORWARD_DATED.get(table.name, ()))
    columns: dict[str, pa.Column] = {}
    for col in table.columns:
        checks: list[pa.Check] = []
        allowed = C.ALLOWED_LABELS.get((table.name, col.name))
        if allowed is not None and (table.name, col.name) not in C.OPEN_LABELS:
            msg = f"allowed labels: {', '.join(allowed)}"
            checks.append(pa.Check.isin(list(allowed), name=msg, error=msg))
        rng = C.RANGES.get((table.name, col.name))
        if rng is not None:
            lo, hi, lo_incl = rng
            msg = f"out of range: must be {lo} {'<=' if lo_incl else '<'} {col.name} <= {hi}"
            checks.append(pa.Check.in_range(lo, hi, include_min=lo_incl, include_max=True, name=msg, error=msg))
        if table.name == "workers" and col.name == "birth_year":
            hi = export_date.year - C.MIN_WORKING_AGE
            msg = f"out of range: birth_year must be {C.BIRTH_YEAR_MIN}-{hi}"
            checks.append(pa.Check.in_range(C.BIRTH_YEAR_MIN, hi, name=msg, error=msg))
        if col.dtype == "date":
            msg = f"implausible date before {C.EARLIEST_DATE}"
            checks.append(pa.Check.ge(earliest, name=msg, error=msg))
            if col.name not in forward:
                msg = f"date in the future (after the export date {export_date.isoformat()})"
                checks.append(pa.Check.le(export_ts, name=msg, error=msg))
        dtype = None if col.dtype == "str" else _PANDAS_DTYPE[col.dtype]
        columns[col.name] = pa.Column(dtype, checks=checks, nullable=not col.required, required=True)
    wide: list[pa.Check] = []
    names: dict[str, tuple[str, str]] = {}
    for later, earlier in C.ORDER_RULES.get(table.name, ()):
        name = f"{later} before {earlier}"
        names[name] = (later, f"{later} is before {earlier}")
        wide.append(pa.Check(lambda df, a=later, b=earlier: df[a].isna() | df[b].isna() | (df[a] >= df[b]), name=name))
    if table.name == "hr_events":
        for etype, (lo, hi) in C.HR_EVENT_VALUE_RANGES.items():
            name = f"value range for {etype}"
            names[name] = ("value", f"out of range: value for {etype} must be {lo}-{hi}")
            wide.append(pa.Check(
                lambda df, e=etype, lo=lo, hi=hi: (df["event_type"] != e) | df["value"].isna() | df["value"].between(lo, hi),
                name=name))
    return pa.DataFrameSchema(columns, checks=wide, strict=False, coerce=False), names


def _reason(check: str, column: str | None, wide: dict[str, tuple[str, str]]) -> tuple[str | None, str]:
    if check in wide:
        return wide[check]
    if check == "not_nullable":
        return column, "required value missing"
    if check.startswith("allowed labels"):
        return column, "unknown label (" + check + ")"
    return column, check


def run_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame, wide: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Validate lazily; return one error per failing (row, check) with its column (value filled in later).

    Columns: ERROR_COLUMNS + ``check``; duplicate natural keys come back with check ``uniqueness``.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
        fc = fc[fc["index"].notna()]
        if fc.empty:
            raise RuntimeError(f"schema failure without rows: {e}") from e
        out = []
        for check, group in fc.groupby("check", sort=False):
            check = str(check)
            col, reason = _reason(check, None, wide)
            if "uniqueness" in check:
                rows = group["index"].astype("int64").drop_duplicates().to_numpy()
                out.append(pd.DataFrame({"row": rows, "column": None, "value": None, "reason": "duplicate key",
                                         "check": "uniqueness"}))
            elif col is None:  # column-level check
                g = group.drop_duplicates(["index", "column"])
                out.append(pd.DataFrame({"row": g["index"].astype("int64").to_numpy(), "column": g["column"].to_numpy(),
                                         "value": None, "reason": reason, "check": check}))
            else:
                rows = group["index"].astype("int64").drop_duplicates().to_numpy()
                out.append(pd.DataFrame({"row": rows, "column": col, "value": None, "reason": reason, "check": check}))
        return pd.concat(out, ignore_index=True)
    return empty_errors().assign(check=pd.Series(dtype=object))


def integrity_schema(table: C.Table, valid: dict[tuple[str, str], set[str]], lost: dict[tuple[str, str], set[str]],
                     declared_orgs: set[str]) -> tuple[pa.DataFrameSchema, dict[str, tuple[str, str]]]:
    """Foreign keys (against the valid rows of referenced tables and the warehouse) and unique natural keys.

    A reference to a row that was in the export but quarantined (``lost``) fails its own check, named
    ``PARENT_CHECK`` + the referenced table, so the report can say which rows went with their parent
    instead of counting them as errors of their own."""
    columns: dict[str, pa.Column] = {}
    reasons: dict[str, tuple[str, str]] = {}
    for col, ref_table, ref_col in C.FOREIGN_KEYS.get(table.name, ()):
        allowed = set(valid.get((ref_table, ref_col), set()))
        if table.name == "workers" and col == "organisation_id":
            allowed |= declared_orgs
            reason = f"{col} not found in {ref_table} (nor declared in the mapping's organisations)"
        else:
            reason = f"{col} not found in {ref_table}"
        quarantined = frozenset(lost.get((ref_table, ref_col), set()) - allowed)
        name, parent = f"fk {col}", f"{PARENT_CHECK}{ref_table} {col}"
        reasons[name] = (col, reason)
        reasons[parent] = (col, f"{col} found in {ref_table} only on quarantined rows (its parent row was quarantined)")
        columns[col] = pa.Column(None, checks=[
            pa.Check(lambda s, a=frozenset(allowed | quarantined): _isin(s, a), name=name),
            pa.Check(lambda s, q=quarantined: ~_isin(s, q) | s.isna(), name=parent),
        ], nullable=True, required=True)
    key = list(table.key)
    schema = pa.DataFrameSchema(columns, unique=key, report_duplicates="exclude_first", strict=False)
    return schema, reasons


PARENT_CHECK = "parent "
"""Prefix of the check name of a reference to a quarantined row; the referenced table follows."""


def _isin(series: pd.Series, allowed: frozenset) -> pd.Series:
    """``series.isin(allowed)`` (nulls pass), testing each distinct value once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    ok = np.array([u in allowed for u in uniques] + [True], dtype=bool)
    return pd.Series(ok[np.where(codes < 0, len(uniques), codes)], index=series.index)


def duplicate_errors(table: C.Table, frame: pd.DataFrame, rows: pd.Index) -> pd.DataFrame:
    """Reason text for rows that repeat an earlier row's natural key."""
    key = list(table.key)
    first = frame.reset_index().groupby(key, sort=False, dropna=False)["index"].transform("first")
    first.index = frame.index
    firsts = first.loc[rows]
    reasons = "duplicate key (" + ", ".join(key) + ") already on row " + firsts.astype(str)
    return pd.DataFrame({"row": np.asarray(rows, dtype="int64"), "column": ", ".join(key), "value": None,
                         "reason": reasons.to_numpy()})


def clip_value(v: object) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    s = str(v)
    if not s.strip():
        return None
    return s if len(s) <= _MAX_VALUE_CHARS else s[:_MAX_VALUE_CHARS] + "..."


HEALTH_TEXT_REASON = ("free text on a sick-leave event: health details (a diagnosis) are never stored; "
                      "export sick leave with its dates only")


def health_free_text(table: C.Table, frame: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """One error per health event (``C.HEALTH_EVENTS``) row with text in ``detail`` or in a column outside the
    contract (``extra``); the value is never filled in (check ``health``)."""
    if table.name != "hr_events" or frame.empty:
        return empty_errors().assign(check=pd.Series(dtype=object))
    health = frame["event_type"].isin(C.HEALTH_EVENTS)
    texts = pd.concat([frame[["detail"]], extra.reindex(frame.index)], axis=1)
    filled = texts.apply(lambda column: _text(column).notna())
    parts = [_errors(frame.index[health & filled[column]], column, None, HEALTH_TEXT_REASON)
             for column in filled.columns]
    return pd.concat(parts, ignore_index=True).assign(check="health")

