"""The risk list as a CSV or Excel file for HR, safe to open in a spreadsheet.

Every text cell goes through continuity.spreadsheet_safety: worker, team and organisation ids and
occupation come from outside, and a value such as '=HYPERLINK(...)' must open as text, not run.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from continuity.spreadsheet_safety import neutralise_frame
from continuity.serving.deps import RiskSelection

ADVISORY = (
    "Advisory figures: model probabilities of leaving voluntarily, meant to support retention "
    "conversations and handover planning. They decide nothing about a person."
)
DRIVERS = 3


def risk_frame(selection: RiskSelection) -> pd.DataFrame:
    """One row per worker in list order, drivers in plain words, the trend at the chosen horizon."""
    week, change = selection.week, f"p_{selection.horizon}w_change"
    rows: list[dict[str, Any]] = []
    for position, record in enumerate(selection.workers, start=1):
        drivers = record["drivers"] + [None] * DRIVERS
        rows.append({
            "position": position, "sector_rank": record["rank"], "worker_id": record["worker_id"],
            "organisation_id": record["organisation_id"], "team_id": record["team_id"], "occupation": record["occupation"],
            "p_13w": record["p_13w"], "p_26w": record["p_26w"], f"change_{selection.horizon}w": record[change],
            **{
                f"driver_{k + 1}": f"{driver['label']} ({driver['direction']} risk)" if driver else None
                for k, driver in enumerate(drivers[:DRIVERS])
            },
            "week": week.score_date, "model": f"{week.model_name} v{week.model_version}",
        })
    return neutralise_frame(pd.DataFrame(rows, columns=_columns(selection.horizon)))


def _columns(horizon: int) -> list[str]:
    return [
        "position", "sector_rank", "worker_id", "organisation_id", "team_id", "occupation", "p_13w", "p_26w",
        f"change_{horizon}w", *(f"driver_{k + 1}" for k in range(DRIVERS)), "week", "model",
    ]


def to_csv(frame: pd.DataFrame) -> bytes:
    # utf-8-sig: Excel reads the byte-order mark and shows accented occupations correctly.
    return frame.to_csv(index=False).encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="risk list", index=False)
        pd.DataFrame({"about": [ADVISORY]}).to_excel(writer, sheet_name="about", index=False)
    return buffer.getvalue()
