"""Reading export files as people really produce them: CSV, Parquet or Excel.

CSV: ``;``, ``,``, tab or ``|`` delimiters (sniffed from the header line), UTF-8 with
or without BOM, UTF-16 with BOM (Excel's "Unicode text"), otherwise cp1252.
Every CSV/Excel cell is read as text so that nothing is lost before validation;
typing (decimal commas, dd-mm-yyyy dates) is done by ``validation.coerce``.
Parquet keeps its own types.

The frame's index is the row number a person sees in the file (header = row 1,
first data row = row 2); blank lines are skipped but keep the numbering. A large CSV is
read in frames (``csv_chunks``), its encoding checked block by block: never whole in memory.
"""

from __future__ import annotations

import codecs
import csv
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SUFFIXES = (".csv", ".parquet", ".xlsx")
DELIMITERS = (";", ",", "\t", "|")


class UnreadableFile(Exception):
    """A file cannot be read at all; the message is one line naming the problem."""


@dataclass
class ReadResult:
    frame: pd.DataFrame  # index = row number in the file
    encoding: str | None = None
    delimiter: str | None = None
    # rows that could not be split into the header's fields: (row, raw line, reason)
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)


_PROBE = 1 << 16
_BLOCK = 1 << 24


def _encoding(path: Path, name: str) -> str:
    """The file's encoding, checked over every byte in blocks, so a large file is never held whole."""
    with path.open("rb") as f:
        head = f.read(_PROBE)
    if head.startswith(b"\xef\xbb\xbf"):
        candidates = [("utf-8-sig", "starts with a UTF-8 BOM but is not valid UTF-8 (byte {start})")]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = [("utf-16", "starts with a UTF-16 BOM but is not valid UTF-16")]
    elif b"\x00" in head:
        raise UnreadableFile(f"{name}: unreadable encoding (binary data or UTF-16 without BOM); save it as UTF-8 CSV")
    else:
        candidates = [("utf-8", None), ("cp1252", "unreadable encoding (neither UTF-8 nor cp1252; byte 0x{byte:02x} "
                                                  "at offset {start})")]
    for encoding, failure in candidates:
        decoder, offset = codecs.getincrementaldecoder(encoding)(), 0
        try:
            with path.open("rb") as f:
                for block in iter(lambda: f.read(_BLOCK), b""):
                    decoder.decode(block)
                    offset += len(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as e:
            if failure is not None:
                with path.open("rb") as f:
                    f.seek(offset + max(e.start, 0))
                    byte = (f.read(1) or b"\x00")[0]
                raise UnreadableFile(f"{name}: " + failure.format(start=offset + e.start, byte=byte)) from e
    raise AssertionError("cp1252 decoding reports its own failure")


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the order of DELIMITERS (";" first)
    return best if counts[best] > 0 else ";"


def _check_text(text: str, name: str) -> None:
    sample = text[:65536]
    if not sample.strip():
        raise UnreadableFile(f"{name}: empty file (no header row)")
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if control > max(5, len(sample) // 100):
        raise UnreadableFile(f"{name}: unreadable (binary content, not a text export)")


@dataclass
class CsvSource:
    """A CSV file that passed the checks that need no parsing: its encoding and delimiter."""
    path: Path
    encoding: str
    delimiter: str


def open_csv(path: Path) -> CsvSource:
    name = path.name
    if path.stat().st_size == 0:
        raise UnreadableFile(f"{name}: empty file (no header row)")
    encoding = _encoding(path, name)
    with path.open(encoding=encoding, newline="") as f:
        text = f.read(_PROBE)
    if not text.strip():
        raise UnreadableFile(f"{name}: empty file (no header row)")
    _check_text(text, name)
    # Leading blank lines before the header would shift every row number; refuse them clearly.
    first_line_end = text.find("\n")
    header = text if first_line_end < 0 else text[:first_line_end]
    if not header.strip():
        raise UnreadableFile(f"{name}: the first line is blank; the header must be on row 1")
    return CsvSource(path, encoding, _sniff_delimiter(header))


def csv_chunks(source: CsvSource, rows: int | None = None) -> Iterator[ReadResult]:
    """The file's rows in frames of at most ``rows`` (all at once when None), each indexed by file row number
    and without its blank rows; the first frame carries the header even when the file has no data rows.

    In frames, rows go through pyarrow when every line has the header's number of fields (and none is empty),
    otherwise through the ``csv`` module; never through pandas' chunked parser, which takes a row longer than
    the header at the start of a chunk for one with an index, and would lose its fields without a word."""
    if rows is not None:
        yield from _arrow_chunks(source, rows) if _arrow_parses(source) else _csv_module_chunks(source, rows)
        return
    try:
        with warnings.catch_warnings(), source.path.open(encoding=source.encoding, newline="") as f:
            # a first data row longer than the header would silently become an index or lose fields
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                f, sep=source.delimiter, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
                engine="c", quotechar='"', skipinitialspace=False, index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        yield from _csv_module_chunks(source, None)
        return
    except pd.errors.EmptyDataError as e:
        raise UnreadableFile(f"{source.path.name}: empty file (no header row)") from e
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    yield ReadResult(_drop_blank_rows(frame), source.encoding, source.delimiter)


def read_csv(path: Path) -> ReadResult:
    return next(csv_chunks(open_csv(path)))


def csv_header(source: CsvSource) -> list[str]:
    """The column names, as pandas names them."""
    with source.path.open(encoding=source.encoding, newline="") as f:
        return _header_names(next(csv.reader(f, delimiter=source.delimiter, quotechar='"')))


def _arrow_options(source: CsvSource):
    """pyarrow's reading of the file, every cell as text; a line that is blank or has another number of
    fields than the header is an error to it."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = csv_header(source)
    read = pacsv.ReadOptions(encoding=source.encoding.replace("utf-8-sig", "utf8"), skip_rows=1,
                             column_names=header, block_size=1 << 24)
    parse = pacsv.ParseOptions(delimiter=source.delimiter, quote_char='"', double_quote=True, escape_char=False,
                               newlines_in_values=True, ignore_empty_lines=False)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in header}, strings_can_be_null=False,
                                   quoted_strings_can_be_null=False)
    return header, {"read_options": read, "parse_options": parse, "convert_options": convert}


def _arrow_parses(source: CsvSource) -> bool:
    """Whether every line has the header's number of fields: then a row's number is its place in the file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    _, options = _arrow_options(source)
    try:
        for _ in pacsv.open_csv(source.path, **options):
            pass
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return False
    return True


def _arrow_chunks(source: CsvSource, rows: int) -> Iterator[ReadResult]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header, options = _arrow_options(source)
    start, pending = 2, []
    batches = pacsv.open_csv(source.path, **options)
    for batch in [*batches, None]:
        if batch is not None:
            pending.append(batch)
        if pending and (batch is None or sum(len(b) for b in pending) >= rows):
            frame = pa.Table.from_batches(pending).to_pandas()
            frame.columns = header
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            pending = []
            yield ReadResult(_drop_blank_rows(frame), source.encoding, source.delimiter)
    if start == 2:
        yield ReadResult(pd.DataFrame({c: pd.Series(dtype=object) for c in header}), source.encoding,
                         source.delimiter)


def _csv_module_chunks(source: CsvSource, rows: int | None) -> Iterator[ReadResult]:
    """Rows split by the ``csv`` module: a row with more fields than the header is reported (row, raw line,
    reason) with the frame that would have held it; a shorter one is padded with empty cells."""
    with source.path.open(encoding=source.encoding, newline="") as f:
        reader = csv.reader(f, delimiter=source.delimiter, quotechar='"')
        header = next(reader)
        width = len(header)
        kept: list[list[str]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str, str]] = []
        row_no, yielded = 1, False
        for record in reader:
            row_no += 1
            if not any(record):
                pass  # a blank line keeps its number and nothing else
            elif len(record) > width:
                bad.append((row_no, source.delimiter.join(record),
                            f"row has {len(record)} fields where the header has {width} (unquoted delimiter?)"))
            else:
                kept.append(record if len(record) == width else record + [""] * (width - len(record)))
                numbers.append(row_no)
            if rows and len(kept) >= rows:
                yield _frame(kept, numbers, bad, header, source)
                kept, numbers, bad, yielded = [], [], [], True
        if kept or bad or not yielded:
            yield _frame(kept, numbers, bad, header, source)


def _frame(kept: list[list[str]], numbers: list[int], bad, header: list[str], source: CsvSource) -> ReadResult:
    columns = list(zip(*kept)) if kept else [()] * len(header)
    frame = pd.DataFrame({i: pd.Series(c, dtype=object) for i, c in enumerate(columns)})
    frame.columns = _header_names(header)
    frame.index = pd.Index(numbers, dtype="int64")
    return ReadResult(_drop_blank_rows(frame), source.encoding, source.delimiter, bad)


def _header_names(header: list[str]) -> list[str]:
    """Column names as pandas gives them: an empty one is ``Unnamed: i``, a repeated one gets ``.1``, ``.2``."""
    names: list[str] = []
    for i, name in enumerate(header):
        name = name or f"Unnamed: {i}"
        candidate, n = name, 0
        while candidate in names:
            n += 1
            candidate = f"{name}.{n}"
        names.append(candidate)
    return names


def _drop_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose every cell is empty (blank lines); the index keeps the file's row numbers."""
    if frame.empty or frame.shape[1] == 0:
        return frame
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        v = frame[col].to_numpy(dtype=object)
        blank &= pd.isna(v) | (v == "")
        if not blank.any():
            return frame
    return frame.loc[~blank]


def read_parquet(path: Path) -> ReadResult:
    try:
        import pyarrow.parquet as pq

        frame = pq.read_table(path).to_pandas(date_as_object=False)  # dates as datetime64, not Python objects
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise UnreadableFile(f"{path.name}: not a readable Parquet file ({type(e).__name__})") from e
    if frame.shape[1] == 0:
        raise UnreadableFile(f"{path.name}: empty file (no columns)")
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return ReadResult(frame)


def read_xlsx(path: Path) -> ReadResult:
    if not zipfile.is_zipfile(path):
        raise UnreadableFile(f"{path.name}: not a valid Excel (.xlsx) file")
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=object, header=None, engine="openpyxl")
    except Exception as e:
        raise UnreadableFile(f"{path.name}: not a readable Excel file ({type(e).__name__}: {e})") from e
    if frame.empty:
        raise UnreadableFile(f"{path.name}: empty file (no header row)")
    frame.index = pd.RangeIndex(1, 1 + len(frame))  # Excel row numbers
    header = frame.iloc[0]
    if header.isna().all():
        raise UnreadableFile(f"{path.name}: the first row is blank; the header must be on row 1")
    names = [str(v).strip() if not pd.isna(v) else f"Unnamed: {i}" for i, v in enumerate(header)]
    body = frame.iloc[1:].copy()
    body.columns = names
    # Cells become text exactly as shown, except real dates and numbers, which keep their value.
    for col in body.columns:
        body[col] = body[col].map(_excel_cell)
    return ReadResult(_drop_blank_rows(body))


def _excel_cell(v: object) -> object:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.isoformat()
    if hasattr(v, "isoformat") and hasattr(v, "year"):
        return v.isoformat()[:10] if getattr(v, "hour", 0) == 0 and getattr(v, "minute", 0) == 0 else v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_file(path: Path) -> ReadResult:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return read_csv(path)
        if suffix == ".parquet":
            return read_parquet(path)
        if suffix == ".xlsx":
            return read_xlsx(path)
    except OSError as e:
        raise UnreadableFile(f"{path.name}: cannot be opened ({e.strerror or e})") from e
    raise UnreadableFile(f"{path.name}: unsupported file type {suffix!r}; use .csv, .parquet or .xlsx")
