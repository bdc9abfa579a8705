"""Typing and validating one contract table, vectorised: every failure names a row, column, value and reason.

Three steps, each on whole frames:

1. ``coerce``: text -> contract types (decimal commas, dates as ``dates.py`` reads them, Dutch
   booleans, labels translated by the mapping). A cell that cannot be typed is an error.
2. ``row_schema(...)``: a pandera schema of the contract's row rules (``row_rules``: required
   fields, ranges, allowed labels, date order, no dates after the export date) run with
   ``lazy=True``; its failure cases are mapped back to rows.
3. ``integrity_schema(...)``: referential integrity (``references``) and unique natural keys, on
   the rows that survived step 2 (so a broken first copy of a key does not block a good second one).

Large files are held to the same rules inside DuckDB (``ingest_sql``): it types each column's
distinct values with ``coerce``, writes ``row_rules`` and ``references`` as SQL, and words and orders
its errors with ``fill_values`` and ``settle``, so both paths report alike.
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
                    unknown[col.name] = counted(outside)
            out[col.name] = t
    frame = pd.DataFrame(out, index=idx)
    errors = pd.concat(errs, ignore_index=True) if errs else empty_errors()
    return Coerced(frame, errors, formulas, unknown)


def counted(values: pd.Series) -> dict[str, int]:
    """Rows per value, most first, ties in the order they first appear: the same on both ingest paths."""
    counts = values.value_counts(sort=False).sort_values(ascending=False, kind="stable")
    return {str(k): int(v) for k, v in counts.items()}


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


@dataclass(frozen=True)
class Rule:
    """One row rule of the data contract, read by both validators (pandera here, SQL in ``ingest_sql``), so
    a file is held to the same rules and gets the same reasons whichever way its size sends it."""
    name: str  # unique in its table: the pandera check's name
    column: str  # the column an error names
    reason: str
    kind: str  # required, isin, range, ge, le, order (later >= earlier), value_range (hr_events.value per type)
    args: tuple = ()


def row_rules(table: C.Table, export_date: date) -> list[Rule]:
    """The table's row rules, column by column in contract order, then the rules across columns."""
    forward = set(C.FORWARD_DATED.get(table.name, ()))
    rules: list[Rule] = []

    def add(column: str, reason: str, kind: str, *args) -> None:
        rules.append(Rule(f"{column}: {reason}", column, reason, kind, args))

    for col in table.columns:
        if col.required:
            add(col.name, "required value missing", "required")
        allowed = C.ALLOWED_LABELS.get((table.name, col.name))
        if allowed is not None and (table.name, col.name) not in C.OPEN_LABELS:
            add(col.name, f"unknown label (allowed labels: {', '.join(allowed)})", "isin", tuple(allowed))
        rng = C.RANGES.get((table.name, col.name))
        if rng is not None:
            lo, hi, lo_incl = rng
            add(col.name, f"out of range: must be {lo} {'<=' if lo_incl else '<'} {col.name} <= {hi}", "range",
                lo, hi, lo_incl)
        if table.name == "workers" and col.name == "birth_year":
            hi = export_date.year - C.MIN_WORKING_AGE
            add(col.name, f"out of range: birth_year must be {C.BIRTH_YEAR_MIN}-{hi}", "range",
                C.BIRTH_YEAR_MIN, hi, True)
        if col.dtype == "date":
            add(col.name, f"implausible date before {C.EARLIEST_DATE}", "ge", date.fromisoformat(C.EARLIEST_DATE))
            if col.name not in forward:
                add(col.name, f"date in the future (after the export date {export_date.isoformat()})", "le",
                    export_date)
    for later, earlier in C.ORDER_RULES.get(table.name, ()):
        add(later, f"{later} is before {earlier}", "order", earlier)
    if table.name == "hr_events":
        for etype, (lo, hi) in C.HR_EVENT_VALUE_RANGES.items():
            add("value", f"out of range: value for {etype} must be {lo}-{hi}", "value_range", etype, lo, hi)
    return rules


def row_schema(table: C.Table, export_date: date) -> tuple[pa.DataFrameSchema, dict[str, Rule]]:
    """The pandera schema of one table's row rules, and its rules by check name."""
    rules = row_rules(table, export_date)
    columns: dict[str, list[pa.Check]] = {c.name: [] for c in table.columns}
    wide: list[pa.Check] = []
    for r in rules:
        if r.kind == "isin":
            columns[r.column].append(pa.Check.isin(list(r.args[0]), name=r.name, error=r.name))
        elif r.kind == "range":
            lo, hi, lo_incl = r.args
            columns[r.column].append(pa.Check.in_range(lo, hi, include_min=lo_incl, include_max=True,
                                                       name=r.name, error=r.name))
        elif r.kind == "ge":
            columns[r.column].append(pa.Check.ge(pd.Timestamp(r.args[0]), name=r.name, error=r.name))
        elif r.kind == "le":
            columns[r.column].append(pa.Check.le(pd.Timestamp(r.args[0]), name=r.name, error=r.name))
        elif r.kind == "order":
            wide.append(pa.Check(lambda df, a=r.column, b=r.args[0]: df[a].isna() | df[b].isna() | (df[a] >= df[b]),
                                 name=r.name))
        elif r.kind == "value_range":
            wide.append(pa.Check(lambda df, e=r.args[0], lo=r.args[1], hi=r.args[2]: (df["event_type"] != e)
                                 | df["value"].isna() | df["value"].between(lo, hi), name=r.name))
    schema_columns = {
        c.name: pa.Column(None if c.dtype == "str" else _PANDAS_DTYPE[c.dtype], checks=columns[c.name],
                          nullable=not c.required, required=True)
        for c in table.columns}
    by_name = {r.name: r for r in rules}
    by_name |= {_NOT_NULL: Rule(_NOT_NULL, "", "required value missing", "required")}
    return pa.DataFrameSchema(schema_columns, checks=wide, strict=False, coerce=False), by_name


_NOT_NULL = "not_nullable"  # pandera's name for a null in a non-nullable column


def run_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame, rules: dict[str, Rule]) -> pd.DataFrame:
    """Validate lazily; return one error per failing (row, check) with its column (value filled in later).

    Columns: ERROR_COLUMNS + ``check`` (the rule's name); duplicate natural keys come back with check ``uniqueness``.
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
            if "uniqueness" in check:
                rows = group["index"].astype("int64").drop_duplicates().to_numpy()
                out.append(pd.DataFrame({"row": rows, "column": None, "value": None, "reason": "duplicate key",
                                         "check": "uniqueness"}))
            elif check == _NOT_NULL:
                g = group.drop_duplicates(["index", "column"])
                out.append(pd.DataFrame({"row": g["index"].astype("int64").to_numpy(), "column": g["column"].to_numpy(),
                                         "value": None, "reason": rules[check].reason,
                                         "check": [f"{c}: {rules[check].reason}" for c in g["column"]]}))
            else:
                rule = rules[check]
                rows = group["index"].astype("int64").drop_duplicates().to_numpy()
                out.append(pd.DataFrame({"row": rows, "column": rule.column, "value": None, "reason": rule.reason,
                                         "check": check}))
        return pd.concat(out, ignore_index=True)
    return empty_errors().assign(check=pd.Series(dtype=object))


TYPE_CHECK = "type"
HEALTH_CHECK = "health"


def settle(errors: pd.DataFrame, table: C.Table, rules: list[Rule]) -> pd.DataFrame:
    """One error per row and column, the first by one order that both validators follow: by row; within
    a row, a cell that could not be typed before the row rules it then fails (a missing value), the row
    rules, health text, then references and keys; each by contract column and rule."""
    if errors.empty:
        return errors.reset_index(drop=True)
    position = {c: i for i, c in enumerate(table.column_names)}
    rank = {r.name: i for i, r in enumerate(rules)}
    check = errors["check"].astype(object)
    stage = np.select([check.eq(TYPE_CHECK), check.isin(rank), check.eq(HEALTH_CHECK)], [0, 1, 2], 3)
    order = errors.assign(_stage=stage, _column=errors["column"].map(position).fillna(len(position)),
                          _rule=check.map(rank).fillna(0))
    order = order.sort_values(["row", "_stage", "_column", "_rule"], kind="stable")
    order = order.drop_duplicates(["row", "column"], keep="first")
    return order.drop(columns=["_stage", "_column", "_rule"]).reset_index(drop=True)


@dataclass(frozen=True)
class Reference:
    """A foreign key with the two ways a value can fail it, named alike on both validators."""
    column: str
    ref_table: str
    ref_col: str
    missing: Rule  # the value is nowhere among the referenced rows
    lost: Rule  # the value is only on referenced rows that were quarantined
    declared: bool  # values declared in the mapping (workers.organisation_id) count as found


def references(table: C.Table) -> list[Reference]:
    out = []
    for col, ref_table, ref_col in C.FOREIGN_KEYS.get(table.name, ()):
        declared = table.name == "workers" and col == "organisation_id"
        reason = f"{col} not found in {ref_table}"
        if declared:
            reason += " (nor declared in the mapping's organisations)"
        parent = f"{PARENT_CHECK}{ref_table} {col}"
        out.append(Reference(col, ref_table, ref_col, Rule(f"fk {col}", col, reason, "fk"),
                             Rule(parent, col, f"{col} found in {ref_table} only on quarantined rows (its parent row "
                                  "was quarantined)", "fk"), declared))
    return out


def integrity_schema(table: C.Table, valid: dict[tuple[str, str], set[str]], lost: dict[tuple[str, str], set[str]],
                     declared_orgs: set[str]) -> tuple[pa.DataFrameSchema, dict[str, Rule]]:
    """Foreign keys (against the valid rows of referenced tables and the warehouse) and unique natural keys.

    A reference to a row that was in the export but quarantined (``lost``) fails its own check, named
    ``PARENT_CHECK`` + the referenced table, so the report can say which rows went with their parent
    instead of counting them as errors of their own."""
    columns: dict[str, pa.Column] = {}
    rules: dict[str, Rule] = {}
    for ref in references(table):
        allowed = set(valid.get((ref.ref_table, ref.ref_col), set())) | (declared_orgs if ref.declared else set())
        quarantined = frozenset(lost.get((ref.ref_table, ref.ref_col), set()) - allowed)
        rules[ref.missing.name], rules[ref.lost.name] = ref.missing, ref.lost
        columns[ref.column] = pa.Column(None, checks=[
            pa.Check(lambda s, a=frozenset(allowed | quarantined): _isin(s, a), name=ref.missing.name),
            pa.Check(lambda s, q=quarantined: ~_isin(s, q) | s.isna(), name=ref.lost.name),
        ], nullable=True, required=True)
    key = list(table.key)
    schema = pa.DataFrameSchema(columns, unique=key, report_duplicates="exclude_first", strict=False)
    return schema, rules


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
    reasons = duplicate_reason(table) + firsts.astype(str)
    return pd.DataFrame({"row": np.asarray(rows, dtype="int64"), "column": ", ".join(key), "value": None,
                         "reason": reasons.to_numpy()})


def duplicate_reason(table: C.Table) -> str:
    """The reason of a repeated natural key, the first row's number follows."""
    return "duplicate key (" + ", ".join(table.key) + ") already on row "


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
    return pd.concat(parts, ignore_index=True).assign(check=HEALTH_CHECK)



def fill_values(errors: pd.DataFrame, raw: pd.DataFrame, typed: pd.DataFrame, table: C.Table) -> pd.DataFrame:
    """The value as it stood in the file (client ids as their pseudonym); duplicate keys show the key; health
    text is reported, never kept. ``raw`` and ``typed`` hold at least the failing rows, by row number."""
    if errors.empty:
        return errors
    errors = errors.reset_index(drop=True)
    values = pd.Series([None] * len(errors), dtype=object)
    pseudo = set(C.PSEUDONYMISED.get(table.name, ()))
    for col, grp in errors.groupby("column", sort=False, dropna=True):
        rows = grp["row"].astype("int64").to_numpy()
        if col in pseudo:
            vals = typed.loc[rows, col]
        elif col in raw.columns:
            vals = raw.loc[rows, col]
        elif col == ", ".join(table.key):
            key = typed.loc[rows, list(table.key)]
            vals = key.astype(str).agg(" | ".join, axis=1)
        else:
            continue
        values.iloc[grp.index.to_numpy()] = [clip_value(v) for v in vals.tolist()]
    errors["value"] = values.where(values.notna(), None).astype(object)
    errors.loc[errors["check"].eq(HEALTH_CHECK), "value"] = None
    return errors


def ragged_errors(table: C.Table, bad_rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """Rows that could not be split into the header's fields (``readers.ReadResult.bad_rows``)."""
    # a client id, or a sick-leave event's note, may be anywhere in a broken line: not echoed
    withheld = bool(C.PSEUDONYMISED.get(table.name)) or table.name == C.HR_EVENTS.name
    return pd.DataFrame({"row": [r for r, _, _ in bad_rows], "column": None,
                         "value": [None if withheld else clip_value(line) for _, line, _ in bad_rows],
                         "reason": [why for _, _, why in bad_rows], "check": None})
