"""Ingest of large files inside DuckDB: the same rules, rows, reasons and pseudonyms as the pandas path.

``ingest.py`` sends a CSV or Parquet file of ``Settings.ingest_sql_min_bytes`` or more here
(``CONTINUITY_INGEST_SQL_MIN_BYTES``); Excel files and smaller files stay with pandas and pandera. A
sector's contacts (150 million rows) do not fit in memory as Python objects, so here a file is:

- checked before the warehouse is opened (``check``: its metadata or header), then staged in the
  warehouse's connection as a temporary relation with each row's number in the file (``ROW``):
  Parquet as a view DuckDB reads from the file, CSV in frames through ``readers.csv_chunks`` (the
  encodings, delimiters and ragged rows of the small path); DuckDB spills what exceeds its memory
  limit to the warehouse's owner-only spill folder, and nothing staged outlives the connection;
- per column, a codebook of its distinct values typed by ``validation.coerce`` itself (decimal
  commas, the file's date order, label translation, formula neutralising) and client ids hashed
  once per distinct id in the load (``Pseudonyms``), joined back to the rows: one parser, so both
  paths agree;
- errors from SQL: the contract's rules (``validation.row_rules``) as predicates, health text,
  foreign keys by anti-join against ``Keys``, repeated natural keys by GROUP BY; only the failing rows
  come back to Python, to be valued and ordered by the code the pandas path uses (``validation.settle``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from continuity.features import contract as C
from continuity.features import validation as V
from continuity.features.pseudonymise import sql_pseudonym
from continuity.features.readers import CsvSource, UnreadableFile, csv_chunks, csv_header, open_csv
from continuity.warehouse import has_table, large_build

SQL_SUFFIXES = (".csv", ".parquet")
CHUNK_ROWS = 250_000  # CSV rows per frame on their way into DuckDB
ROW = "__row"  # the file row number of a staged row
SQL_TYPE = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "bool": "BOOLEAN"}
_PANDAS_INDEX = "__index_level_"  # pandas writes its index into Parquet under this name; it is no column


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class StagedFile:
    """A large file, checked before the warehouse is opened (readable, its header usable), staged after:
    contract columns as named in the contract, the columns outside it that health text may hide in
    (``extra``: staged name -> name in the file)."""
    name: str
    path: Path
    rename: dict[str, str]  # file column -> contract column
    outside: list[str]  # the file's columns outside the contract, for the report
    csv: CsvSource | None = None
    extra: dict[str, str] = field(default_factory=dict)
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)
    rows: int = 0

    @property
    def relation(self) -> str:
        return f"ingest_raw_{self.name}"

    @property
    def columns(self) -> list[str]:
        return list(self.rename.values())


def check(name: str, path: Path, columns) -> StagedFile:
    """Whether a large file can be read at all, from its metadata or first rows; ``columns(header, delimiter)``
    gives file column -> contract column and the columns outside the contract, or raises for a header that
    cannot be used. Raises ``UnreadableFile``."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            header = [str(c) for c in pq.ParquetFile(path).schema_arrow.names if not str(c).startswith(_PANDAS_INDEX)]
        except Exception as e:  # pyarrow raises several types for a corrupt file
            raise UnreadableFile(f"{path.name}: not a readable Parquet file ({type(e).__name__})") from e
        if not header:
            raise UnreadableFile(f"{path.name}: empty file (no columns)")
        source = None
    else:
        source = open_csv(path)
        header = csv_header(source)
    rename, outside = columns(header, source.delimiter if source else None)
    # only health text is looked for outside the contract, and only in hr_events
    extra = {f"extra_{i}": src for i, src in enumerate(outside)} if name == C.HR_EVENTS.name else {}
    return StagedFile(name, path, rename, outside, source, extra)


def stage(con, staged: StagedFile, mapping) -> dict[str, int]:
    """The file's rows as a temporary relation of ``con`` with their file row numbers: Parquet as a view
    DuckDB reads from the file, CSV in frames through ``readers.csv_chunks``; then the rows the mapping's
    ``ignore`` names are left out. Returns those rows' ``"column label"`` -> rows, most first."""
    renamed = [*staged.rename.items(), *((src, dst) for dst, src in staged.extra.items())]
    if staged.path.suffix.lower() == ".parquet":
        select = ", ".join([f"file_row_number + 2 AS {ROW}", *(f"{q(src)} AS {q(dst)}" for src, dst in renamed)])
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {staged.relation} AS SELECT {select} "
                        f"FROM read_parquet({_literal(str(staged.path))}, file_row_number = true)")
            staged.rows = con.execute(f"SELECT count(*) FROM {staged.relation}").fetchone()[0]
        except duckdb.Error as e:
            raise UnreadableFile(f"{staged.path.name}: not a readable Parquet file ({type(e).__name__})") from e
    else:
        cols = ", ".join([f"{ROW} BIGINT", *(f"{q(dst)} VARCHAR" for _, dst in renamed)])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {staged.relation} ({cols})")
        for part in csv_chunks(staged.csv, CHUNK_ROWS):
            frame = pd.DataFrame({dst: part.frame[src] for src, dst in renamed}, index=part.frame.index)
            frame.insert(0, ROW, part.frame.index.to_numpy(dtype="int64"))
            con.register("_part", frame)
            con.execute(f"INSERT INTO {staged.relation} SELECT * FROM _part")
            con.unregister("_part")
            staged.bad_rows.extend(part.bad_rows)
            staged.rows += len(frame)
    return _ignore(con, C.TABLES[staged.name], staged, mapping)


def _ignore(con, table: C.Table, staged: StagedFile, mapping) -> dict[str, int]:
    wanted = [c for c in mapping.ignored_labels(table.name) if c in staged.columns]
    if not wanted:
        return {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE ingest_ignored ({ROW} BIGINT, label VARCHAR)")
    for column in wanted:  # a row is counted under the first column that leaves it out
        labels = con.execute(
            f"SELECT DISTINCT {q(column)} AS v FROM {staged.relation} WHERE {q(column)} IS NOT NULL "
            f"AND {ROW} NOT IN (SELECT {ROW} FROM ingest_ignored)").df()["v"]
        hits = V.ignored(table, pd.DataFrame({column: labels}), mapping)
        con.register("_hits", pd.DataFrame({"v": labels[hits.index], "label": hits.to_numpy(dtype=object)}))
        con.execute(f"INSERT INTO ingest_ignored SELECT s.{ROW}, h.label FROM {staged.relation} s JOIN _hits h "
                    f"ON s.{q(column)} = h.v WHERE s.{ROW} NOT IN (SELECT {ROW} FROM ingest_ignored)")
        con.unregister("_hits")
    counts = con.execute(f"SELECT label, count(*) AS n FROM ingest_ignored GROUP BY label "
                         f"ORDER BY n DESC, min({ROW})").fetchall()
    kept = f"ingest_kept_{staged.name}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {kept} AS SELECT * FROM {staged.relation} "
                f"WHERE {ROW} NOT IN (SELECT {ROW} FROM ingest_ignored)")
    kind = "VIEW" if staged.path.suffix.lower() == ".parquet" else "TABLE"
    con.execute(f"DROP {kind} {staged.relation}")
    con.execute(f"ALTER TABLE {kept} RENAME TO {staged.relation}")
    staged.rows -= sum(n for _, n in counts)
    return {label: int(n) for label, n in counts}


class Keys:
    """The values each foreign key may point at (``contract.FOREIGN_KEYS``): the warehouse's, then each
    table's as it is validated, valid or on a quarantined row; one store for both paths, in DuckDB."""

    def __init__(self, con):
        self.con = con
        con.execute("CREATE OR REPLACE TEMP TABLE ingest_keys (ref_table VARCHAR, ref_col VARCHAR, value VARCHAR, "
                    "valid BOOLEAN)")
        for ref_table, ref_col in self.referenced():
            if has_table(con, ref_table):
                con.execute(f"INSERT INTO ingest_keys SELECT DISTINCT ?, ?, {q(ref_col)}, true FROM {q(ref_table)} "
                            f"WHERE {q(ref_col)} IS NOT NULL", [ref_table, ref_col])

    @staticmethod
    def referenced(name: str | None = None) -> list[tuple[str, str]]:
        pairs = {(t, c) for lst in C.FOREIGN_KEYS.values() for _, t, c in lst}
        return sorted(p for p in pairs if name is None or p[0] == name)

    def relation(self, ref: V.Reference, valid: bool) -> str:
        return (f"(SELECT value FROM ingest_keys WHERE ref_table = '{ref.ref_table}' AND ref_col = '{ref.ref_col}' "
                f"AND {'' if valid else 'NOT '}valid)")

    def sets(self, table: C.Table) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], set[str]]]:
        """For the pandas path: the valid and the quarantined values of the columns ``table`` refers to."""
        valid, lost = {}, {}
        for ref in V.references(table):
            pair = (ref.ref_table, ref.ref_col)
            valid[pair] = set(self.con.execute(f"SELECT DISTINCT value FROM {self.relation(ref, True)}")
                              .fetchnumpy()["value"].tolist())
            lost[pair] = set(self.con.execute(f"SELECT DISTINCT value FROM {self.relation(ref, False)}")
                             .fetchnumpy()["value"].tolist())
        return valid, lost

    def add_frame(self, name: str, good: pd.DataFrame, bad: pd.DataFrame) -> None:
        for ref_table, ref_col in self.referenced(name):
            for valid, frame in ((True, good), (False, bad)):
                values = pd.DataFrame({"value": pd.Series(frame[ref_col].dropna().unique(), dtype=object)})
                self.con.register("_values", values)
                self.con.execute("INSERT INTO ingest_keys SELECT ?, ?, value, ? FROM _values",
                                 [ref_table, ref_col, valid])
                self.con.unregister("_values")

    def add_sql(self, name: str, typed: str, bad_rows: str) -> None:
        for ref_table, ref_col in self.referenced(name):
            c = q(ref_col)
            self.con.execute(f"INSERT INTO ingest_keys SELECT DISTINCT ?, ?, {c}, {ROW} NOT IN (SELECT {ROW} FROM "
                             f"{bad_rows}) FROM {typed} WHERE {c} IS NOT NULL", [ref_table, ref_col])


@dataclass
class Validated:
    good: str  # relation of the rows to load, contract columns and types
    loaded: int
    errors: pd.DataFrame  # as the pandas path's: ERROR_COLUMNS + check, settled


def validate(con, table: C.Table, staged: StagedFile, mapping, export_date: date, keys: Keys,
             pseudonyms: Pseudonyms, warn) -> Validated:
    """Type and check one staged table in ``con``, the warehouse's connection; ``warn`` words the warnings
    as the pandas path does (``ingest._Warn``)."""
    with large_build(con):
        return _validate(con, table, staged, mapping, export_date, keys, pseudonyms, warn)


def _validate(con, table, staged, mapping, export_date, keys, pseudonyms, warn) -> Validated:
    raw, name = staged.relation, table.name
    typed, err, failed = f"ingest_typed_{name}", f"ingest_errors_{name}", f"ingest_failed_{name}"
    books = _codebooks(con, table, staged, mapping, pseudonyms)

    joins, select = [], [f"r.{ROW}"]
    for col in table.columns:
        book = books.get(col.name)
        if book is None:
            select.append(f"CAST(NULL AS {SQL_TYPE[col.dtype]}) AS {q(col.name)}")
        elif book.identity:
            select.append(f"CAST(r.{q(col.name)} AS {SQL_TYPE[col.dtype]}) AS {q(col.name)}")
        else:
            joins.append(f"LEFT JOIN {book.relation} b{len(joins)} ON r.{q(col.name)} = b{len(joins)}.raw")
            select.append(f"CAST(b{len(joins) - 1}.typed AS {SQL_TYPE[col.dtype]}) AS {q(col.name)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {typed} AS SELECT {', '.join(select)} FROM {raw} r {' '.join(joins)}")

    con.execute(f'CREATE OR REPLACE TEMP TABLE {err} ({ROW} BIGINT, "column" VARCHAR, reason VARCHAR, "check" VARCHAR)')
    for col in table.columns:
        book = books.get(col.name)
        if book is not None and book.errors:
            con.execute(f"INSERT INTO {err} SELECT r.{ROW}, ?, b.reason, ? FROM {raw} r JOIN "
                        f"(SELECT raw, reason FROM {book.relation} WHERE reason IS NOT NULL) b "
                        f"ON r.{q(col.name)} = b.raw", [col.name, V.TYPE_CHECK])
    rules = V.row_rules(table, export_date)
    for rule in rules:
        con.execute(f"INSERT INTO {err} SELECT {ROW}, ?, ?, ? FROM {typed} WHERE {_fails(rule)}",
                    [rule.column, rule.reason, rule.name])
    if name == C.HR_EVENTS.name:
        _health(con, staged, raw, typed, err)

    # integrity is checked on the rows that passed the row rules, all of them for every check
    con.execute(f"CREATE OR REPLACE TEMP TABLE {failed} AS SELECT DISTINCT {ROW} FROM {err}")
    for ref in V.references(table):
        allowed = keys.relation(ref, True)
        if ref.declared:
            allowed = f"({allowed[1:-1]} UNION ALL SELECT unnest($declared::VARCHAR[]))"
        c = q(ref.column)
        # the values pointing nowhere first (a sector's contacts are 150 million rows), then those rows' survivors;
        # the key values are never null, so the anti-join is NOT IN
        dangling = (f"(SELECT * FROM (SELECT t.{ROW}, t.{c} FROM {typed} t ANTI JOIN {allowed} a ON t.{c} = a.value "
                    f"WHERE t.{c} IS NOT NULL) ANTI JOIN {failed} USING ({ROW}))")
        con.execute(
            f"INSERT INTO {err} SELECT s.{ROW}, $column, CASE WHEN l.value IS NULL THEN $missing ELSE $lost END, "
            f"CASE WHEN l.value IS NULL THEN $missing_check ELSE $lost_check END FROM {dangling} s "
            f"LEFT JOIN (SELECT DISTINCT value FROM {keys.relation(ref, False)}) l ON s.{c} = l.value",
            {"column": ref.column, "missing": ref.missing.reason, "lost": ref.lost.reason,
             "missing_check": ref.missing.name, "lost_check": ref.lost.name}
            | ({"declared": list(mapping.organisations)} if ref.declared else {}))
    # repeated keys: first the hashes that repeat among all rows (one number per row to group; a failed row
    # can only add hashes to look at), then the surviving rows with those hashes, then their keys exactly
    keycols = ", ".join(q(k) for k in table.key)
    con.execute(
        f"INSERT INTO {err} WITH h AS (SELECT hash({keycols}) AS h FROM {typed} GROUP BY 1 HAVING count(*) > 1), "
        f"c AS (SELECT t.* FROM {typed} t SEMI JOIN h ON hash({', '.join(f't.{q(k)}' for k in table.key)}) = h.h "
        f"ANTI JOIN {failed} f USING ({ROW})), "
        f"d AS (SELECT {keycols}, min({ROW}) AS first FROM c GROUP BY {keycols} HAVING count(*) > 1) "
        f"SELECT c.{ROW}, ?, ? || d.first, 'uniqueness' FROM c JOIN d USING ({keycols}) WHERE c.{ROW} <> d.first",
        [", ".join(table.key), V.duplicate_reason(table)])

    errors = _errors(con, table, staged, raw, typed, err, rules)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {failed} AS SELECT DISTINCT {ROW} FROM {err}")
    keys.add_sql(name, typed, failed)
    good = f"ingest_good_{name}"
    cols = ", ".join(q(c) for c in table.column_names)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {good} AS SELECT {cols} FROM {typed} ANTI JOIN {failed} USING ({ROW})")
    loaded = con.execute(f"SELECT (SELECT count(*) FROM {typed}) - (SELECT count(*) FROM {failed})").fetchone()[0]
    _warnings(con, table, raw, typed, books, warn)
    return Validated(good, loaded, errors)


@dataclass
class _Book:
    """One staged column's distinct values: typed, with their type errors and neutralised formulas."""
    relation: str
    identity: bool  # every value typed as itself: no join needed
    errors: bool
    formulas: bool


def _codebooks(con, table: C.Table, staged: StagedFile, mapping, pseudonyms: Pseudonyms) -> dict[str, _Book]:
    raw = staged.relation
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {raw})").fetchall())
    # ids exported as text are typed and hashed in DuckDB (a sector's millions of clients); any other in pandas
    hashed = {c for c in C.PSEUDONYMISED.get(table.name, ()) if c in staged.columns and types.get(c) == "VARCHAR"}
    present = [c for c in table.columns if c.name in staged.columns and c.name not in hashed]
    distinct = {c.name: con.execute(f"SELECT DISTINCT {q(c.name)} AS v FROM {raw} WHERE {q(c.name)} IS NOT NULL")
                .df()["v"] for c in present}
    n = max((len(v) for v in distinct.values()), default=0)
    padded = pd.DataFrame({c: v.reset_index(drop=True).reindex(range(n)) for c, v in distinct.items()},
                          index=pd.RangeIndex(n))
    co = V.coerce(table, padded, mapping)
    books: dict[str, _Book] = {}
    for i, col in enumerate(table.columns):
        if col.name in hashed:
            books[col.name] = _Book(f"ingest_book_{table.name}_{i}", False, False, False)
            pseudonyms.book(raw, col.name, books[col.name].relation)
        if col.name not in distinct:
            continue
        values = distinct[col.name].reset_index(drop=True)
        typed = co.frame[col.name].iloc[:len(values)].reset_index(drop=True)
        pseudonymised = col.name in C.PSEUDONYMISED.get(table.name, ())
        if pseudonymised:
            typed = pseudonyms.of(typed)
        errors = co.errors[co.errors["column"] == col.name]
        reason = pd.Series(None, index=values.index, dtype=object)
        reason[errors["row"].to_numpy()] = errors["reason"].to_numpy()
        formula = pd.Series(False, index=values.index)
        formula[list(co.formula_cells.get(col.name, []))] = True
        identity = (not pseudonymised and errors.empty and bool(typed.notna().all())
                    and bool((typed.astype(object).to_numpy() == values.astype(object).to_numpy()).all()))
        book = _Book(f"ingest_book_{table.name}_{i}", identity, not errors.empty, bool(formula.any()))
        con.register("_book", pd.DataFrame({"raw": values, "typed": typed, "reason": reason, "formula": formula}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {book.relation} AS SELECT CAST(raw AS "
                    f"{types[col.name]}) AS raw, typed, CAST(reason AS VARCHAR) AS reason, "
                    "formula FROM _book")
        con.unregister("_book")
        books[col.name] = book
    return books


class Pseudonyms:
    """Each distinct id hashed once per load, whichever tables name it (a client in assignments, contacts
    and placements): the ids not seen before hashed inside DuckDB (``sql_pseudonym``), the rest looked up."""

    def __init__(self, con, key: str):
        self.con, self.key = con, key
        con.execute("CREATE OR REPLACE TEMP TABLE ingest_pseudonyms (id VARCHAR, pseudonym VARCHAR)")

    def of(self, ids: pd.Series) -> pd.Series:
        """The pseudonyms of ``ids`` (typed text; null stays null), index kept."""
        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        self.con.register("_ids", pd.DataFrame({"i": range(len(uniques)), "id": pd.Series(uniques, dtype=object)}))
        self._add("SELECT CAST(id AS VARCHAR) AS id FROM _ids")
        known = self.con.execute("SELECT i, p.pseudonym FROM (SELECT i, CAST(id AS VARCHAR) AS id FROM _ids) "
                                 "LEFT JOIN ingest_pseudonyms p USING (id) ORDER BY i").df()["pseudonym"]
        self.con.unregister("_ids")
        return pd.Series(np.append(known.to_numpy(dtype=object), None)[codes], index=ids.index, dtype=object)

    def book(self, raw: str, column: str, relation: str) -> None:
        """The codebook (``_Book``) of the text column ``column`` of ``raw``: each distinct value stripped of
        the whitespace the pandas path strips (empty: missing), and its pseudonym."""
        c = q(column)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT raw, nullif(regexp_replace(raw, "
                         f"'{_EDGE_SPACE}', '', 'g'), '') AS id FROM (SELECT DISTINCT {c} AS raw FROM {raw} "
                         f"WHERE {c} IS NOT NULL)")
        self._add(f"SELECT DISTINCT id FROM {relation} WHERE id IS NOT NULL")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT b.raw, p.pseudonym AS typed, "
                         f"NULL::VARCHAR AS reason, false AS formula FROM {relation} b "
                         "LEFT JOIN ingest_pseudonyms p USING (id)")

    def _add(self, ids: str) -> None:
        hashed, pads = sql_pseudonym("id", self.key)
        self.con.execute(f"INSERT INTO ingest_pseudonyms SELECT id, {hashed} FROM ({ids}) "
                         "ANTI JOIN ingest_pseudonyms USING (id)", pads)


_PYTHON_SPACE = (r"\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
                 r"\x{202f}\x{205f}\x{3000}")
"""The characters Python's ``str.strip`` removes (``str.isspace``), as an RE2 class: the pandas path strips them."""
_EDGE_SPACE = f"^[{_PYTHON_SPACE}]+|[{_PYTHON_SPACE}]+$"


def _fails(rule: V.Rule) -> str:
    """The SQL condition under which a row fails ``rule``; nulls pass every rule but ``required``."""
    c = q(rule.column)
    if rule.kind == "required":
        return f"{c} IS NULL"
    if rule.kind == "isin":
        return f"{c} IS NOT NULL AND {c} NOT IN ({', '.join(_literal(v) for v in rule.args[0])})"
    if rule.kind == "range":
        lo, hi, lo_incl = rule.args
        return f"{c} IS NOT NULL AND NOT ({c} {'>=' if lo_incl else '>'} {lo} AND {c} <= {hi})"
    if rule.kind == "ge":
        return f"{c} < DATE '{rule.args[0].isoformat()}'"
    if rule.kind == "le":
        return f"{c} > DATE '{rule.args[0].isoformat()}'"
    if rule.kind == "order":
        return f"{c} < {q(rule.args[0])}"
    if rule.kind == "value_range":
        etype, lo, hi = rule.args
        return f"event_type = {_literal(etype)} AND value IS NOT NULL AND NOT (value BETWEEN {lo} AND {hi})"
    raise ValueError(f"no SQL for rule kind {rule.kind}")


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _health(con, staged: StagedFile, raw: str, typed: str, err: str) -> None:
    """Text on a health event, in ``detail`` or in a column outside the contract, as ``validation.health_free_text``."""
    health = ", ".join(_literal(e) for e in C.HEALTH_EVENTS)
    con.execute(f"INSERT INTO {err} SELECT {ROW}, 'detail', ?, ? FROM {typed} "
                f"WHERE event_type IN ({health}) AND detail IS NOT NULL", [V.HEALTH_TEXT_REASON, V.HEALTH_CHECK])
    for extra, source in staged.extra.items():
        values = con.execute(f"SELECT DISTINCT {q(extra)} AS v FROM {raw} WHERE {q(extra)} IS NOT NULL").df()["v"]
        filled = pd.DataFrame({"v": values[V._text(values).notna().to_numpy()]})
        con.register("_filled", filled)
        con.execute(f"INSERT INTO {err} SELECT t.{ROW}, ?, ?, ? FROM {typed} t JOIN {raw} r USING ({ROW}) "
                    f"WHERE t.event_type IN ({health}) AND r.{q(extra)} IN (SELECT v FROM _filled)",
                    [source, V.HEALTH_TEXT_REASON, V.HEALTH_CHECK])
        con.unregister("_filled")


def _errors(con, table: C.Table, staged: StagedFile, raw: str, typed: str, err: str, rules) -> pd.DataFrame:
    """The failing rows with their values, as the pandas path shows them: only they come back to Python."""
    found = con.execute(f'SELECT {ROW} AS "row", "column", reason, "check" FROM {err}').df()
    found.insert(2, "value", None)
    if not found.empty:
        rows = f"(SELECT DISTINCT {ROW} FROM {err})"
        raw_rows = con.execute(f"SELECT * FROM {raw} WHERE {ROW} IN {rows}").df().set_index(ROW)
        typed_rows = con.execute(f"SELECT * FROM {typed} WHERE {ROW} IN {rows}").df().set_index(ROW)
        found = V.fill_values(found, raw_rows[staged.columns], typed_rows, table)
    if staged.bad_rows:
        found = pd.concat([found, V.ragged_errors(table, staged.bad_rows)], ignore_index=True)
    return V.settle(found, table, rules)


def _warnings(con, table: C.Table, raw: str, typed: str, books: dict[str, _Book], warn) -> None:
    for col in table.columns:
        if (table.name, col.name) in C.OPEN_LABELS and col.name in books:
            allowed = ", ".join(_literal(v) for v in C.ALLOWED_LABELS[(table.name, col.name)])
            counts = con.execute(f"SELECT {q(col.name)}, count(*) AS n FROM {typed} WHERE {q(col.name)} IS NOT NULL "
                                 f"AND {q(col.name)} NOT IN ({allowed}) GROUP BY ALL ORDER BY n DESC, min({ROW})"
                                 ).fetchall()
            if counts:
                warn.labels(col.name, {str(label): int(n) for label, n in counts})
    for col in table.columns:
        if col.name not in books or not books[col.name].formulas:
            continue
        n, first = con.execute(f"SELECT count(*), min(r.{ROW}) FROM {raw} r JOIN {books[col.name].relation} b "
                               f"ON r.{q(col.name)} = b.raw WHERE b.formula").fetchone()
        if n:
            value = con.execute(f"SELECT {q(col.name)} FROM {raw} WHERE {ROW} = ?", [first]).fetchone()[0]
            warn.formulas(col.name, n, first, value)
