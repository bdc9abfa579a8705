"""The ingest mapping: how an organisation's export names its files, columns and labels.

A YAML file, every part optional (docs/data-contract.md#worked-example-a-dutch-export shows a whole one)::

    files:                      # file name (or stem) per contract table, when it differs
      workers: personeel.xlsx
    columns:                    # per table: column in the file -> contract column
      workers:
        Personeelsnummer: worker_id
        Soort contract: contract_type
    values:                     # label translation; key "column" (every table) or "table.column"
      contract_type:
        vast: permanent
        tijdelijk: temporary
      workers.gender: {vrouw: f, man: m}
      occupation: {ambulant begeleider: maatschappelijk werker}
    ignore:                     # rows left out on purpose: "table.column" -> labels, as in the file
      hr_events.event_type: [verlof, ouderschapsverlof]
    date_format: "%d-%m-%Y"     # the order of day, month and year in dates that are not ISO
    organisations: [ORG-17]     # organisations that exist although no funding contract names them

Without a mapping the file names are the table names and the column names are the
contract's (compared ignoring case, surrounding spaces and space/underscore).
Labels are always compared ignoring case, surrounding spaces and ``_``/space, and
a few common Dutch labels (``DEFAULT_VALUES``) are understood out of the box;
the mapping's ``values`` take precedence.

``ignore`` is for rows the export holds but the product has no use for (an event type such
as leave): they are counted in the ingest report, neither loaded nor quarantined. Only label
columns (``contract.ALLOWED_LABELS``) can be ignored by, so that a typing slip cannot drop
rows by id. ``date_format`` is a ``strptime`` format; without it each file settles the order
of day and month from its own dates (``dates.py``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml

from continuity.features.contract import ALLOWED_LABELS, TABLES

DEFAULT_VALUES: dict[str, dict[str, str]] = {
    "contract_type": {
        "vast": "permanent", "onbepaalde tijd": "permanent", "vast contract": "permanent",
        "tijdelijk": "temporary", "bepaalde tijd": "temporary", "tijdelijk contract": "temporary",
        "flexibel": "flex", "oproep": "flex", "oproepkracht": "flex", "nul-uren": "flex",
        "uitzend": "flex", "min-max": "flex",
    },
    "gender": {"v": "f", "vrouw": "f", "female": "f", "man": "m", "male": "m", "anders": "x", "non-binair": "x"},
    "termination_reason": {
        "vrijwillig": "voluntary", "eigen verzoek": "voluntary", "op eigen verzoek": "voluntary",
        "onvrijwillig": "involuntary", "ontslag": "involuntary", "ontslag werkgever": "involuntary",
        "pensioen": "retirement", "einde tijdelijk contract": "end_of_temporary_contract",
        "einde contract": "end_of_temporary_contract",
    },
    "role": {"primair": "primary", "hoofd": "primary", "secundair": "secondary", "tweede": "secondary"},
    "end_reason": {
        "afgesloten": "closed", "beeindigd": "closed", "beëindigd": "closed", "overdracht": "handover",
        "overgedragen": "handover", "medewerker vertrokken": "worker_left", "vertrek medewerker": "worker_left",
    },
    "domain": {"jeugdwet": "jeugd", "jeugdhulp": "jeugd", "wmo 2015": "wmo", "participatiewet": "participatie"},
    "event_type": {"opzegging": "notice", "ontslagname": "notice", "aanzegging": "notice"},
    "setting": {"pleeggezin": "foster_family", "pleegzorg": "foster_family", "residentieel": "residential_group",
                "leefgroep": "residential_group", "residentiele groep": "residential_group"},
}


def label_key(value: str) -> str:
    """The form in which labels are compared: case-folded, ``_`` as space, spaces collapsed."""
    return re.sub(r"\s+", " ", value.replace("_", " ")).strip().casefold()


def column_key(value: str) -> str:
    return re.sub(r"[\s_]+", "_", str(value).replace("\ufeff", "")).strip("_").casefold()


SECTIONS = frozenset({"files", "columns", "values", "ignore", "date_format", "organisations"})


class MappingError(Exception):
    """The mapping file itself is wrong; the message is one line."""


@dataclass
class Mapping:
    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    organisations: tuple[str, ...] = ()
    sha256: str | None = None
    ignore: dict[str, frozenset[str]] = field(default_factory=dict)  # "table.column" -> label_key of labels
    date_format: str | None = None

    def label_table(self, table: str, column: str) -> dict[str, str]:
        """label_key(raw label) -> canonical label, for one column (None when the column has no vocabulary)."""
        allowed = ALLOWED_LABELS.get((table, column))
        out: dict[str, str] = {}
        if allowed is not None:
            out.update({label_key(v): v for v in allowed})
        for source in (DEFAULT_VALUES.get(column, {}), self.values.get(column, {}),
                       self.values.get(f"{table}.{column}", {})):
            out.update({label_key(k): v for k, v in source.items()})
        return out

    def ignored_labels(self, table: str) -> dict[str, frozenset[str]]:
        """Column -> label_key of the labels whose rows this table leaves out."""
        return {key.split(".", 1)[1]: labels for key, labels in self.ignore.items() if key.split(".", 1)[0] == table}

    def rename_for(self, table: str, header: list[str]) -> dict[str, str]:
        """File column -> contract column, for the columns of ``header`` that the table knows."""
        contract = {column_key(c): c for c in TABLES[table].column_names}
        explicit = {column_key(k): v for k, v in self.columns.get(table, {}).items()}
        rename: dict[str, str] = {}
        for col in header:
            k = column_key(col)
            if k in explicit:
                rename[col] = explicit[k]
            elif k in contract:
                rename[col] = contract[k]
        return rename


def load_mapping(path: Path | None) -> Mapping:
    if path is None:
        return Mapping()
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise MappingError(f"mapping {path}: cannot be read ({e.strerror or e})") from e
    try:
        doc = yaml.safe_load(raw.decode("utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise MappingError(f"mapping {Path(path).name}: not valid YAML ({str(e).splitlines()[0]})") from e
    if not isinstance(doc, dict):
        raise MappingError(f"mapping {Path(path).name}: expected a mapping with {'/'.join(sorted(SECTIONS))}")
    unknown = set(doc) - SECTIONS
    if unknown:
        raise MappingError(f"mapping {Path(path).name}: unknown section(s) {sorted(unknown)}")
    name = Path(path).name
    files = _str_dict(doc.get("files") or {}, f"mapping {name}: files")
    for t in files:
        if t not in TABLES:
            raise MappingError(f"mapping {name}: files names unknown table {t!r}")
    columns: dict[str, dict[str, str]] = {}
    for t, cols in (doc.get("columns") or {}).items():
        if t not in TABLES:
            raise MappingError(f"mapping {name}: columns names unknown table {t!r}")
        cols = _str_dict(cols or {}, f"mapping {name}: columns.{t}")
        for src, dst in cols.items():
            if dst not in TABLES[t].column_names:
                raise MappingError(f"mapping {name}: columns.{t}.{src} -> {dst!r} is not a column of {t}")
        columns[t] = cols
    values: dict[str, dict[str, str]] = {}
    for k, v in (doc.get("values") or {}).items():
        values[str(k)] = _str_dict(v or {}, f"mapping {name}: values.{k}")
    orgs = doc.get("organisations") or []
    if not isinstance(orgs, list):
        raise MappingError(f"mapping {name}: organisations must be a list")
    return Mapping(files, columns, values, tuple(str(o).strip() for o in orgs), hashlib.sha256(raw).hexdigest(),
                   _ignore(doc.get("ignore") or {}, name), _date_format(doc.get("date_format"), name))


def _ignore(obj: object, name: str) -> dict[str, frozenset[str]]:
    if not isinstance(obj, dict):
        raise MappingError(f"mapping {name}: ignore must map table.column to a list of labels")
    out: dict[str, frozenset[str]] = {}
    for key, labels in obj.items():
        table, _, column = str(key).partition(".")
        if (table, column) not in ALLOWED_LABELS:
            columns = ", ".join(f"{t}.{c}" for t, c in ALLOWED_LABELS)
            raise MappingError(f"mapping {name}: ignore.{key}: rows can be ignored by a label column only ({columns})")
        if isinstance(labels, str):
            labels = [labels]
        if not isinstance(labels, list) or not labels:
            raise MappingError(f"mapping {name}: ignore.{key} must be a list of labels")
        out[f"{table}.{column}"] = frozenset(label_key(str(v)) for v in labels)
    return out


def _date_format(obj: object, name: str) -> str | None:
    """The format, once it is known to write and read back a day, a month and a year that cannot be confused."""
    if obj is None:
        return None
    fmt = str(obj)
    probe = date(2031, 12, 25)
    try:
        ok = datetime.strptime(probe.strftime(fmt), fmt).date() == probe
    except ValueError:
        ok = False
    if not ok:
        raise MappingError(f"mapping {name}: date_format {fmt!r} must name day, month and year, e.g. \"%d-%m-%Y\"")
    return fmt


def _str_dict(obj: object, where: str) -> dict[str, str]:
    if not isinstance(obj, dict):
        raise MappingError(f"{where} must be a mapping of name: name")
    return {str(k): str(v) for k, v in obj.items()}
