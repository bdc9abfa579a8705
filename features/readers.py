"""Reading export files as people really produce them: CSV, Parquet or Excel.

CSV: ``;``, ``,``, tab or ``|`` delimiters (sniffed from the header line), UTF-8 with
or without BOM, UTF-16 with BOM (Excel's "Unicode text"), otherwise cp1252.
Every CSV/Excel cell is read as text so that nothing is lost before validation;
typing (decimal commas, dd-mm-yyyy dates) is done by ``validation.coerce``.
Parquet keeps its own types.

The frame's index is the row number a person sees in the file (header = row 1,
first data row = row 2); blank lines are skipped but keep the numbering.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
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


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise UnreadableFile(f"{name}: starts with a UTF-8 BOM but is not valid UTF-8 (byte {e.start})") from e
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise UnreadableFile(f"{name}: starts with a UTF-16 BOM but is not valid UTF-16") from e
    if b"\x00" in raw[:65536]:
        raise UnreadableFile(f"{name}: unreadable encoding (binary data or UTF-16 without BOM); save it as UTF-8 CSV")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as e:
        raise UnreadableFile(
            f"{name}: unreadable encoding (neither UTF-8 nor cp1252; byte 0x{raw[e.start]:02x} at offset {e.start})"
        ) from e


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


def read_csv(path: Path) -> ReadResult:
    name = path.name
    raw = path.read_bytes()
    if not raw.strip():
        raise UnreadableFile(f"{name}: empty file (no header row)")
    text, encoding = _decode(raw, name)
    _check_text(text, name)
    # Leading blank lines before the header would shift every row number; refuse them clearly.
    first_line_end = text.find("\n")
    header = text if first_line_end < 0 else text[:first_line_end]
    if not header.strip():
        raise UnreadableFile(f"{name}: the first line is blank; the header must be on row 1")
    delimiter = _sniff_delimiter(header)
    try:
        with warnings.catch_warnings():
            # a first data row longer than the header would silently become an index or lose fields
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, na_filter=False,
                skip_blank_lines=False, engine="c", quotechar='"', skipinitialspace=False, index_col=False,
            )
        bad: list[tuple[int, str, str]] = []
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        frame, bad = _read_ragged(text, delimiter)
    except pd.errors.EmptyDataError as e:
        raise UnreadableFile(f"{name}: empty file (no header row)") from e
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    frame = _drop_blank_rows(frame)
    return ReadResult(frame, encoding=encoding, delimiter=delimiter, bad_rows=bad)


def _read_ragged(text: str, delimiter: str) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Fallback when some rows have more fields than the header: keep the good rows with their row numbers."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    header = next(reader)
    width = len(header)
    rows: dict[int, list[str]] = {}
    bad: list[tuple[int, str, str]] = []
    row_no = 1
    for record in reader:
        row_no += 1
        if len(record) == width or not any(v.strip() for v in record):
            rows[row_no] = record if len(record) == width else [""] * width
        elif len(record) < width:
            rows[row_no] = record + [""] * (width - len(record))
        else:
            bad.append((row_no, delimiter.join(record),
                        f"row has {len(record)} fields where the header has {width} (unquoted delimiter?)"))
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=header, dtype=str) if rows else pd.DataFrame(columns=header, dtype=str)
    frame = frame.reindex(range(2, row_no + 1))
    return frame.fillna(""), bad


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
