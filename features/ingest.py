"""``continuity ingest``: real exports into the warehouse, nothing lost.

``ingest_dir(source, warehouse, mapping=..., pseudonym_key=...)`` reads one file per contract
table from ``source`` (``workers``, ``hr_events``, ``assignments``, ``funding_contracts``, and the
optional ``contacts``, ``placements`` and ``teams``; ``.csv``, ``.parquet`` or ``.xlsx``), types and
validates every row (``validation.py``: pandas and pandera; a CSV or Parquet file of
``Settings.ingest_sql_min_bytes`` or more inside DuckDB instead, ``ingest_sql.py``, to the same rows,
reasons and report), pseudonymises client, household and person ids (``contract.PSEUDONYMISED``,
``pseudonymise.py``; each distinct id hashed once per load), and loads the valid rows in ONE DuckDB
transaction:

- contract tables are upserted by their natural keys (``contract.Table.key``): rows of the
  export replace the warehouse rows with the same key, others are added; so loading the same
  export twice changes nothing and a newer export updates what it contains;
- every failing row goes to ``quarantine`` (one row per problem: load_id, table_name, file,
  row, column, value, reason) and to the report; rows the mapping's ``ignore`` leaves out are
  counted, not quarantined; loaded + quarantined + ignored = read, per table;
- a row that refers to a quarantined row (an assignment of a quarantined worker) is quarantined
  too, under a reason of its own, and the report counts those rows per parent table
  (``lost_with_parent``), so the one broken label that took thousands of rows along shows as such;
- labels outside an open vocabulary (``contract.OPEN_LABELS``: occupations) load and are counted
  per label (``unknown_labels``);
- ``load_log`` records each file of each load (file hash, time, counts).

``load_id`` is derived from the input (file hashes, mapping, export date, key check), so the
quarantine of a repeated load replaces itself rather than piling up. A load killed before
its commit leaves the warehouse as it was.

Exit codes: 0 all loaded; 1 some rows quarantined; 2 unusable input (``UnusableInput``
is raised with a one-line message and nothing is written; a large Parquet file whose body, not its
metadata, is corrupt is found once the warehouse is open, and leaves it as it was).

The key is guarded: ``load_log.key_check`` holds a fingerprint of the key (HMAC of a fixed text,
never the key); a load with a key whose fingerprint differs from the warehouse's is refused (exit 2),
as that would give one client two pseudonyms (``rekey=True`` is refused too: not supported yet).
The built-in demo key (``DEMO_PSEUDONYM_KEY``) is refused unless ``sector.json`` lies beside the
export folder, i.e. for anything but the synthetic sector.

Row numbers are those a person sees in the file: header = row 1, first data row = row 2.
Formula-looking text (``=``, ``+``, ``-``, ``@`` ...) in free-text/id columns is stored
neutralised with a leading apostrophe and reported as a warning (see ``spreadsheet_safety``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from continuity.config import DEMO_PSEUDONYM_KEY, Settings
from continuity.features import contract as C
from continuity.features import ingest_sql as S
from continuity.features import validation as V
from continuity.features.mapping import MappingError, load_mapping
from continuity.features.pseudonymise import key_check
from continuity.features.readers import SUFFIXES, ReadResult, UnreadableFile, read_file
from continuity.warehouse import connect, has_table, large_build

log = logging.getLogger("continuity.ingest")

_SQL_TYPE = S.SQL_TYPE


class UnusableInput(Exception):
    """The input cannot be ingested at all (exit code 2); ``str(exc)`` is one line naming file and problem."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class TableCounts:
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    ignored: int = 0


@dataclass
class RowError:
    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str


@dataclass
class Problem:
    """Quarantined rows of one table that share a column and a reason: what a person reads first.
    A reference to a quarantined parent row is counted in ``IngestReport.lost_with_parent`` instead."""
    table: str
    file: str
    column: str | None
    reason: str
    rows: int
    first_row: int | None


@dataclass
class IngestReport:
    tables: dict[str, TableCounts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    load_id: str = ""
    export_date: date | None = None
    problems: list[Problem] = field(default_factory=list)  # the errors counted by table, column and reason
    lost_with_parent: dict[str, dict[str, int]] = field(default_factory=dict)  # parent table -> table -> rows
    unknown_labels: dict[str, dict[str, int]] = field(default_factory=dict)  # "table.column" -> label -> rows
    ignored: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> "column label" -> rows

    @property
    def exit_code(self) -> int:
        return 1 if any(c.quarantined for c in self.tables.values()) else 0

    def to_json(self) -> dict:
        return {
            "tables": {name: asdict(c) for name, c in self.tables.items()},
            "errors": [asdict(e) for e in self.errors],
            "problems": [asdict(p) for p in self.problems],
            "lost_with_parent": self.lost_with_parent,
            "unknown_labels": self.unknown_labels,
            "ignored": self.ignored,
            "warnings": list(self.warnings),
            "load_id": self.load_id,
            "export_date": self.export_date.isoformat() if self.export_date else None,
            "exit_code": self.exit_code,
        }


def contract_ddl(table: C.Table) -> str:
    cols = ", ".join(f'"{c.name}" {_SQL_TYPE[c.dtype]}' for c in table.columns)
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" ({cols})'


QUARANTINE_DDL = (
    'CREATE TABLE IF NOT EXISTS quarantine (load_id VARCHAR, table_name VARCHAR, file VARCHAR, "row" BIGINT, '
    '"column" VARCHAR, value VARCHAR, reason VARCHAR)'
)
LOAD_LOG_DDL = (
    "CREATE TABLE IF NOT EXISTS load_log (load_id VARCHAR, file VARCHAR, sha256 VARCHAR, loaded_at TIMESTAMP, "
    'table_name VARCHAR, "read" BIGINT, loaded BIGINT, quarantined BIGINT, export_date DATE, key_check VARCHAR)'
)
# Added with the mapping's ``ignore``: a warehouse loaded before it gains the column, zero for its old loads.
LOAD_LOG_IGNORED = "ALTER TABLE load_log ADD COLUMN IF NOT EXISTS ignored BIGINT DEFAULT 0"


# --------------------------------------------------------------------------- locating and reading


def _locate(source: Path, files_map: dict[str, str]) -> tuple[dict[str, Path], list[str]]:
    if not source.is_dir():
        raise UnusableInput(f"{source}: not a folder of export files")
    present = [p for p in sorted(source.iterdir()) if p.is_file() and not p.name.startswith((".", "~$"))]
    found: dict[str, Path] = {}
    used: set[Path] = set()
    for table in C.TABLES.values():
        wanted = files_map.get(table.name)
        if wanted and Path(wanted).suffix:
            cands = [p for p in present if p.name.casefold() == Path(wanted).name.casefold()]
        else:
            stem = (wanted or table.name).casefold()
            cands = [p for p in present if p.stem.casefold() == stem and p.suffix.lower() in SUFFIXES]
        if len(cands) > 1:
            raise UnusableInput(f"{source}: more than one file for table {table.name}: "
                                f"{', '.join(p.name for p in cands)}; keep one")
        if not cands:
            if table.optional:
                continue
            alt = [p.name for p in present if p.stem.casefold() == (wanted or table.name).casefold()]
            hint = f" ({alt[0]} has an unsupported type)" if alt else ""
            raise UnusableInput(f"{source}: missing file for table {table.name} "
                                f"(expected {wanted or table.name}.csv, .parquet or .xlsx){hint}")
        found[table.name] = cands[0]
        used.add(cands[0])
    ignored = [p.name for p in present if p not in used]
    return found, ignored


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _columns(table: C.Table, path: Path, header: list[str], delimiter: str | None,
             mapping) -> tuple[dict[str, str], list[str]]:
    """File column -> contract column, and the file's columns outside the contract; raises for a header
    that cannot be used."""
    rename = mapping.rename_for(table.name, header)
    targets: dict[str, list[str]] = {}
    for src, dst in rename.items():
        targets.setdefault(dst, []).append(src)
    clash = {d: s for d, s in targets.items() if len(s) > 1}
    if clash:
        d, s = next(iter(clash.items()))
        raise UnusableInput(f"{path.name}: columns {', '.join(repr(x) for x in s)} all map to {d}; keep one")
    missing = [c.name for c in table.columns if c.required and c.name not in targets]
    if missing:
        hint = ""
        if len(header) == 1:
            hint = f"; only one column found ({header[0][:60]!r}): is the delimiter ; or ,?"
        elif delimiter and len(header) < len(table.columns) // 2:
            hint = f"; found only {', '.join(header)}"
        raise UnusableInput(f"{path.name}: missing required column(s) {', '.join(missing)}{hint}")
    extra = [c for c in header if c not in rename and not c.startswith("Unnamed: ")]
    return rename, extra


def _rename(table: C.Table, path: Path, result: ReadResult, mapping) -> tuple[pd.DataFrame, list[str]]:
    frame = result.frame
    frame.columns = [str(c) for c in frame.columns]
    rename, extra = _columns(table, path, list(frame.columns), result.delimiter, mapping)
    return frame.rename(columns=rename)[list(rename.values())], extra


@dataclass
class _Warn:
    """The warnings one file gives while its values are typed, worded alike on both paths."""
    report: IngestReport
    table: C.Table
    path: Path

    def extra_columns(self, extra: list[str]) -> None:
        if extra:
            self.report.warnings.append(f"{self.path.name}: ignored column(s) not in the contract: {', '.join(extra)}")

    def ignored_rows(self, counts: dict[str, int]) -> None:
        if counts:
            self.report.ignored[self.table.name] = counts
            self.report.warnings.append(f"{self.path.name}: {sum(counts.values()):,} row(s) ignored as the mapping "
                                        "asks (" + ", ".join(f"{k}: {v:,}" for k, v in counts.items()) + ")")

    def labels(self, col: str, labels: dict[str, int]) -> None:
        self.report.unknown_labels[f"{self.table.name}.{col}"] = labels
        self.report.warnings.append(
            f"{self.path.name}: {len(labels)} {col} label(s) outside the sector's list loaded as they are and grouped "
            f"as '{C.OTHER_LABEL}' for the model (map them onto a known one under values.{col} in the mapping): "
            + ", ".join(f"{label} ({rows:,})" for label, rows in labels.items()))

    def formulas(self, col: str, rows: int, first_row: int, first_value: object) -> None:
        self.report.warnings.append(
            f"{self.path.name}: {rows} value(s) in column {col} looked like spreadsheet formulas "
            f"(first on row {first_row}: {str(first_value)[:40]!r}); stored with a leading apostrophe")


def _sql_path(path: Path, min_bytes: int) -> bool:
    """Large CSV and Parquet files are validated inside DuckDB (``ingest_sql``); Excel files never are."""
    return path.suffix.lower() in S.SQL_SUFFIXES and path.stat().st_size >= min_bytes


# --------------------------------------------------------------------------- the entry point


def ingest_dir(source: Path, warehouse: Path, *, mapping: Path | None = None, pseudonym_key: str,
               export_date: date | None = None, rekey: bool = False) -> IngestReport:
    """Ingest one export folder into the warehouse; see the module docstring. Raises ``UnusableInput``."""
    source, warehouse = Path(source), Path(warehouse)
    if not pseudonym_key:
        raise UnusableInput("pseudonym key is empty: set CONTINUITY_PSEUDONYM_KEY")
    if pseudonym_key == DEMO_PSEUDONYM_KEY and not (source.parent / "sector.json").exists():
        raise UnusableInput(f"{source}: the built-in demo pseudonym key is only for the synthetic sector; set "
                            "CONTINUITY_PSEUDONYM_KEY to a long random secret of your own (kept outside the "
                            "warehouse, the same for every load) before loading a real export")
    try:
        mp = load_mapping(Path(mapping) if mapping else None)
    except MappingError as e:
        raise UnusableInput(str(e)) from e
    export_date = export_date or date.today()
    report = IngestReport(export_date=export_date)
    paths, ignored = _locate(source, mp.files)
    if ignored:
        report.warnings.append(f"ignored files not named after a contract table: {', '.join(ignored)}")

    # 1. read everything and check that it is usable, before touching the warehouse; large files are
    # only checked here (``ingest_sql.check``) and read in step 2, inside DuckDB
    min_bytes = Settings().ingest_sql_min_bytes
    raw: dict[str, pd.DataFrame] = {}
    extras: dict[str, pd.DataFrame] = {}
    reads: dict[str, ReadResult] = {}
    staged: dict[str, S.StagedFile] = {}
    hashes: dict[str, str] = {}
    skipped: dict[str, dict[str, int]] = {}
    unusable: list[str] = []  # every file's reason at once, so that one run names all an export must mend
    for name in C.LOAD_ORDER:
        if name not in paths:
            continue
        table, path = C.TABLES[name], paths[name]
        log.info("reading %s", path.name)
        hashes[name] = _sha256(path)
        try:
            if _sql_path(path, min_bytes):
                staged[name] = S.check(name, path, lambda header, delimiter, t=table, p=path:
                                       _columns(t, p, header, delimiter, mp))
                _Warn(report, table, path).extra_columns(staged[name].outside)
                continue
            result = read_file(path)
            frame, extra = _rename(table, path, result, mp)
        except (UnreadableFile, UnusableInput) as e:
            unusable.append(str(e))
            continue
        _Warn(report, table, path).extra_columns(extra)
        ignored_rows = V.ignored(table, frame, mp)
        skipped[name] = V.counted(ignored_rows)
        frame = frame.drop(index=ignored_rows.index)
        raw[name], reads[name] = frame, result
        # never stored; read only to catch health text (validation)
        extras[name] = result.frame.loc[frame.index, extra]
    if unusable:
        raise UnusableInput("\n".join(unusable))

    kcheck = key_check(pseudonym_key)
    load_id = hashlib.sha256(
        "|".join([*(f"{n}:{paths[n].name}:{hashes[n]}" for n in sorted(hashes)), mp.sha256 or "",
                  export_date.isoformat(), kcheck]).encode()
    ).hexdigest()[:16]
    report.load_id = load_id

    with connect(warehouse) as con:
        prev_check = warehouse_key_check(con)
        if prev_check and prev_check != kcheck:
            if rekey:
                raise UnusableInput("re-key not supported yet: start a new warehouse (CONTINUITY_WAREHOUSE_PATH) "
                                    "and load the export into it with the new key")
            raise UnusableInput(f"{warehouse}: the pseudonym key differs from the one this warehouse was loaded with "
                                "(its fingerprint is stored), so the same client would get two pseudonyms; "
                                "set CONTINUITY_PSEUDONYM_KEY back to that key, or load into a new warehouse")
        # 2. validate, table by table, referenced tables first
        quarantine, good = _validate(con, report, paths, raw, extras, reads, staged, skipped, mp, export_date,
                                     pseudonym_key)
        # 3. write, all or nothing; a table's rows need not keep the file's order (every reader orders what it
        # needs), and holding 150 million contacts to their turn was most of a sector's write
        with large_build(con):
            _write(con, good, quarantine, report, paths, hashes, load_id, export_date, kcheck)
    return report


def _validate(con, report: IngestReport, paths, raw, extras, reads, staged, skipped, mp, export_date: date,
              key: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame | str]]:
    """The quarantine, and per table the rows to load: a frame, or the DuckDB relation that holds them."""
    keys, pseudonyms = S.Keys(con), S.Pseudonyms(con, key)
    good: dict[str, pd.DataFrame | str] = {}
    quarantine_parts: list[pd.DataFrame] = []
    for name in C.LOAD_ORDER:
        if name not in raw and name not in staged:
            continue
        table, path = C.TABLES[name], paths[name]
        warn = _Warn(report, table, path)
        if name in staged:
            log.info("reading %s into DuckDB", path.name)
            try:
                warn.ignored_rows(S.stage(con, staged[name], mp))
            except UnreadableFile as e:
                raise UnusableInput(str(e)) from e
            ignored_n = sum(report.ignored.get(name, {}).values())
            log.info("validating %s in DuckDB (%d rows)", name, staged[name].rows)
            checked = S.validate(con, table, staged[name], mp, export_date, keys, pseudonyms, warn)
            errors, good[name], loaded = checked.errors, checked.good, checked.loaded
            read_n = staged[name].rows + len(staged[name].bad_rows) + ignored_n
        else:
            warn.ignored_rows(skipped[name])
            ignored_n = sum(report.ignored.get(name, {}).values())
            valid_keys, lost_keys = keys.sets(table)
            frame, errors = _validate_table(table, raw[name], reads[name], mp, export_date, pseudonyms, valid_keys,
                                            lost_keys, warn, extras[name])
            failed = frame.index.isin(set(errors["row"].dropna().astype("int64")))
            good[name] = frame.loc[~failed]
            keys.add_frame(name, good[name], frame.loc[failed])
            loaded = len(good[name])
            read_n = len(raw[name]) + len(reads[name].bad_rows) + ignored_n
        bad_n = errors["row"].nunique()
        report.tables[name] = TableCounts(read_n, loaded, bad_n, ignored_n)
        if read_n == 0:
            report.warnings.append(f"{path.name}: header only, no data rows")
        if len(errors):
            quarantine_parts.append(errors.assign(file=path.name, table_name=name))
        assert loaded + bad_n + ignored_n == read_n, (name, loaded, bad_n, read_n)

    quarantine = (pd.concat(quarantine_parts, ignore_index=True) if quarantine_parts
                  else V.empty_errors().assign(file=pd.Series(dtype=object), table_name=pd.Series(dtype=object)))
    report.errors = [RowError(f, (int(r) if r is not None and not pd.isna(r) else None), c, v, why)
                     for f, r, c, v, why in zip(quarantine["file"], quarantine["row"].astype(object),
                                               quarantine["column"], quarantine["value"], quarantine["reason"])]
    report.problems, report.lost_with_parent = _problems(quarantine)
    return quarantine, good


def warehouse_key_check(con) -> str | None:
    """The fingerprint of the key the warehouse's latest load used (None before any load)."""
    if not has_table(con, "load_log"):
        return None
    row = con.execute("SELECT key_check FROM load_log ORDER BY loaded_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _validate_table(table: C.Table, raw: pd.DataFrame, read: ReadResult, mp, export_date: date, pseudonyms,
                    valid_keys: dict[tuple[str, str], set[str]], lost_keys: dict[tuple[str, str], set[str]],
                    warn: _Warn, extra: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    log.info("validating %s (%d rows)", table.name, len(raw))
    co = V.coerce(table, raw, mp)
    for col, labels in co.unknown_labels.items():
        warn.labels(col, labels)
    for col, rows in co.formula_cells.items():
        warn.formulas(col, len(rows), int(rows[0]), raw.loc[rows[0], col])
    frame = co.frame
    errors = [co.errors.assign(check=V.TYPE_CHECK)]

    schema, rules = V.row_schema(table, export_date)
    errors.append(V.run_schema(schema, frame, rules))
    errors.append(V.health_free_text(table, frame, extra))
    # pseudonymise before foreign keys, so contacts.client_id compares with the warehouse's pseudonyms
    for col in C.PSEUDONYMISED.get(table.name, ()):
        frame[col] = pseudonyms.of(frame[col])

    bad = set(pd.concat(errors)["row"].astype("int64"))
    survivors = frame.loc[~frame.index.isin(bad)]
    if len(survivors):
        ischema, reasons = V.integrity_schema(table, valid_keys, lost_keys, set(mp.organisations))
        ierr = V.run_schema(ischema, survivors, reasons)
        dup = ierr["check"] == "uniqueness"
        if dup.any():
            rows = pd.Index(ierr.loc[dup, "row"].drop_duplicates())
            ierr = pd.concat([ierr.loc[~dup], V.duplicate_errors(table, survivors, rows).assign(check="uniqueness")],
                             ignore_index=True)
        errors.append(ierr)
    allerr = V.fill_values(pd.concat(errors, ignore_index=True), raw, frame, table)
    if read.bad_rows:
        allerr = pd.concat([allerr, V.ragged_errors(table, read.bad_rows)], ignore_index=True)
    allerr = V.settle(allerr, table, V.row_rules(table, export_date))
    return frame, allerr[[*V.ERROR_COLUMNS, "check"]]


# --------------------------------------------------------------------------- writing


def _write(con, staged: dict[str, pd.DataFrame | str], quarantine: pd.DataFrame, report: IngestReport,
           paths: dict[str, Path], hashes: dict[str, str], load_id: str, export_date: date, kcheck: str) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("SET enable_progress_bar = false")
    con.execute("BEGIN TRANSACTION")
    try:
        for table in C.TABLES.values():
            con.execute(contract_ddl(table))
        con.execute(QUARANTINE_DDL)
        con.execute(LOAD_LOG_DDL)
        con.execute(LOAD_LOG_IGNORED)
        for name in C.LOAD_ORDER:
            if name not in staged:
                continue
            table, frame = C.TABLES[name], staged[name]
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            match = " AND ".join(f't."{k}" = s."{k}"' for k in table.key)
            if isinstance(frame, str):  # validated in DuckDB: a relation of typed rows
                log.info("writing %s from %s", name, frame)
                source = frame
            elif frame.empty:
                continue
            else:
                log.info("writing %s (%d rows)", name, len(frame))
                con.register("staged", frame.reset_index(drop=True))
                select = ", ".join(f'CAST("{c.name}" AS {_SQL_TYPE[c.dtype]}) AS "{c.name}"' for c in table.columns)
                con.execute(f'CREATE OR REPLACE TEMP TABLE staged_t AS SELECT {select} FROM staged')
                con.unregister("staged")
                source = "staged_t"
            con.execute(f'DELETE FROM "{name}" t WHERE EXISTS (SELECT 1 FROM {source} s WHERE {match})')
            con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM {source}')
            if source == "staged_t":
                con.execute("DROP TABLE staged_t")
        con.execute("DELETE FROM quarantine WHERE load_id = ?", [load_id])
        if len(quarantine):
            q = pd.DataFrame({
                "load_id": load_id, "table_name": quarantine["table_name"].astype(object),
                "file": quarantine["file"].astype(object), "row": quarantine["row"].astype("Int64"),
                "column": quarantine["column"].astype(object), "value": quarantine["value"].astype(object),
                "reason": quarantine["reason"].astype(object)})
            con.register("q", q)
            con.execute('INSERT INTO quarantine SELECT load_id, table_name, file, "row", "column", value, reason FROM q')
            con.unregister("q")
        rows = [(load_id, paths[n].name, hashes[n], now, n, c.read, c.loaded, c.quarantined, export_date, kcheck,
                 c.ignored) for n, c in report.tables.items()]
        con.executemany('INSERT INTO load_log (load_id, file, sha256, loaded_at, table_name, "read", loaded, '
                        "quarantined, export_date, key_check, ignored) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        log.info("committing load %s", load_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _problems(quarantine: pd.DataFrame) -> tuple[list[Problem], dict[str, dict[str, int]]]:
    """The quarantine's own problems counted by table, column and reason (most rows first), and apart from
    them the rows that went with a quarantined parent, per parent table and table: thousands of cases lost
    with their worker are one problem (the worker's), not thousands."""
    if quarantine.empty:
        return [], {}
    check = quarantine["check"].fillna("").astype(str)
    with_parent = check.str.startswith(V.PARENT_CHECK)
    own = quarantine.loc[~with_parent].assign(column=lambda q: q["column"].fillna(""))
    grouped = (own.groupby(["table_name", "file", "column", "reason"], sort=False)["row"]
               .agg(rows="nunique", first_row="min").reset_index()
               .sort_values("rows", ascending=False, kind="stable"))
    problems = [Problem(t, f, c or None, why, int(n), None if pd.isna(first) else int(first))
                for t, f, c, why, n, first in grouped.itertuples(index=False)]
    parent = quarantine.loc[with_parent].assign(
        parent=check[with_parent].str.removeprefix(V.PARENT_CHECK).str.split(" ").str[0])
    lost: dict[str, dict[str, int]] = {}
    for (ref, name), rows in parent.groupby(["parent", "table_name"], sort=False)["row"]:
        lost.setdefault(ref, {})[name] = int(rows.nunique())
    return problems, lost


__all__ = ["ingest_dir", "IngestReport", "TableCounts", "RowError", "Problem", "UnusableInput", "contract_ddl"]

