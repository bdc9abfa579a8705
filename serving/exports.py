"""The risk list as a CSV or Excel file for HR, safe to open in a spreadsheet.

Every text cell goes through continuity.spreadsheet_safety: worker, team and organisation ids and
occupation come from outside, and a value such as '=HYPERLINK(...)' must open as text, not run.

The advisory notice (``continuity.advisory.NOTICE``) is a last column, ``notice``, on every row rather
than a line above the header: the file stays one header and rows for any CSV reader, and a row copied
or filtered out of it still says what it is not for.

The CSV is for Dutch Excel: ``;`` between cells, a decimal comma, and probabilities (and the change
since last week, in percentage points) as percentages rounded to one decimal, their columns named
``..._pct``. The workbook keeps the probabilities as fractions. Both carry the clients at stake:
``active_clients`` (open assignments), ``weighted_clients`` (their relational exposure summed) and
``expected_exposure_<h>w`` at the list's horizon (probability x weighted clients, empty where withheld),
which orders the list when it is asked for by exposure; and a known departure, ``known_last_day`` with
``known_departure`` (notice or contract_end), empty where none is known.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from continuity.advisory import NOTICE
from continuity.spreadsheet_safety import neutralise_frame
from continuity.serving.deps import RiskSelection
from continuity.serving.schemas import RiskItem

DRIVERS = 3
PROBABILITIES = tuple(f"p_{h}w{end}" for h in (13, 26, 52) for end in ("", "_low", "_high"))
CLIENTS = ("active_clients", "weighted_clients")


def risk_frame(selection: RiskSelection) -> pd.DataFrame:
    """One row per worker in list order, drivers in plain words, the trend at the chosen horizon.

    Each probability with its 90% interval; a withheld one is empty, with the reason, as in the API
    (read through `RiskItem`, which empties them), and so are its position and rank: withheld rows
    come last, apart from the ranked ones (``PublishedWeek.ranking``).
    """
    week, change = selection.week, f"p_{selection.horizon}w_change"
    rows: list[dict[str, Any]] = []
    for position, record in enumerate(selection.workers, start=1):
        drivers = record["drivers"] + [None] * DRIVERS
        item = RiskItem.model_validate(record)
        rows.append({
            "position": None if item.withheld else position, "sector_rank": item.rank,
            "worker_id": record["worker_id"],
            "organisation_id": record["organisation_id"], "team_id": record["team_id"], "occupation": record["occupation"],
            **{column: getattr(item, column) for column in PROBABILITIES},
            f"change_{selection.horizon}w": getattr(item, change), "withheld": item.withheld,
            "known_last_day": item.known_departure.last_day if item.known_departure else None,
            "known_departure": item.known_departure.reason.value if item.known_departure else None,
            "active_clients": item.active_clients, "weighted_clients": item.weighted_clients,
            f"expected_exposure_{selection.horizon}w": getattr(item, f"expected_exposure_{selection.horizon}w"),
            **{
                f"driver_{k + 1}": f"{driver['label']} ({driver['direction']} risk)" if driver else None
                for k, driver in enumerate(drivers[:DRIVERS])
            },
            "week": week.score_date, "model": f"{week.model_name} v{week.model_version}", "notice": NOTICE,
        })
    frame = pd.DataFrame(rows, columns=_columns(selection.horizon))
    # Whole numbers, and an expected exposure, empty where withheld.
    frame = frame.astype({"position": "Int64", "sector_rank": "Int64",
                          f"expected_exposure_{selection.horizon}w": "float64"})
    return neutralise_frame(frame)


def _columns(horizon: int) -> list[str]:
    return [
        "position", "sector_rank", "worker_id", "organisation_id", "team_id", "occupation", *PROBABILITIES,
        f"change_{horizon}w", "withheld", "known_last_day", "known_departure", *CLIENTS,
        f"expected_exposure_{horizon}w",
        *(f"driver_{k + 1}" for k in range(DRIVERS)), "week", "model", "notice",
    ]


def to_csv(frame: pd.DataFrame) -> bytes:
    """Dutch Excel's CSV: ``;``, decimal comma, percentages rounded to one decimal (see the module docstring)."""
    out = frame.copy()
    percent = [c for c in out.columns if c.startswith(("p_", "change_"))]
    for column in percent:
        out[column] = (100 * pd.to_numeric(out[column], errors="coerce").astype(float)).round(1)
    out["weighted_clients"] = out["weighted_clients"].astype(float).round(1)
    out = out.rename(columns={c: f"{c}_pct" for c in percent})
    # utf-8-sig: Excel reads the byte-order mark and shows accented occupations correctly.
    return out.to_csv(index=False, sep=";", decimal=",", float_format="%.1f").encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="risk list", index=False)
        pd.DataFrame({"about": [NOTICE]}).to_excel(writer, sheet_name="about", index=False)
    return buffer.getvalue()
