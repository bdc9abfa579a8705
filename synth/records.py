"""What the simulation writes down as it goes: employments, HR events and the oracle.

The logs are append-only in simulated time, like the HR systems they stand for; the
export turns them into contract tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from continuity.vocabulary import HR_EVENT_TYPES

EVENT = {name: i for i, name in enumerate(HR_EVENT_TYPES)}


@dataclass
class WorkerLog:
    """One row per employment (a person at one employer), values at hire."""

    person: list[int]
    team: list[int]
    occupation: list[int]
    birth_year: list[int]
    gender: list[int]
    contract_type: list[int]
    contract_end: list[int]  # day, -1 when permanent
    fte: list[float]
    pay_scale: list[int]
    pay_step: list[int]
    hire_day: list[int]
    termination_day: list[int]  # -1 while employed
    termination_reason: list[int]  # index into TERMINATION_REASONS, -1 while employed

    @classmethod
    def empty(cls) -> WorkerLog:
        return cls(*([] for _ in range(len(cls.__dataclass_fields__))))

    def __len__(self) -> int:
        return len(self.person)

    def append(self, **columns: np.ndarray) -> np.ndarray:
        """Add employments; returns their row numbers."""
        first = len(self)
        for name, values in columns.items():
            getattr(self, name).extend(np.asarray(values).tolist())
        n = len(self) - first
        self.termination_day.extend([-1] * n)
        self.termination_reason.extend([-1] * n)
        return np.arange(first, first + n)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class VacancyLog:
    """One row per vacancy: a post its holder left (a transfer leaves none), open until the next hire into it."""

    team: list[int]  # the post's team when it fell vacant
    occupation: list[int]  # the leaver's
    fte: list[float]  # the leaver's
    opened_day: list[int]  # the day after the leaver's last day
    vacated_row: list[int]  # the leaver's employment
    filled_day: list[int]  # the hire day of the next holder, -1 while open
    filled_row: list[int]  # the next holder's employment, -1 while open

    @classmethod
    def empty(cls) -> VacancyLog:
        return cls(*([] for _ in range(len(cls.__dataclass_fields__))))

    def __len__(self) -> int:
        return len(self.team)

    def open(self, team: int, occupation: int, fte: float, opened_day: int, vacated_row: int) -> int:
        """Record a vacancy; returns its number."""
        for name, value in (("team", team), ("occupation", occupation), ("fte", fte), ("opened_day", opened_day),
                            ("vacated_row", vacated_row), ("filled_day", -1), ("filled_row", -1)):
            getattr(self, name).append(value)
        return len(self) - 1

    def fill(self, numbers: np.ndarray, days: np.ndarray, rows: np.ndarray) -> None:
        for n, day, row in zip(numbers.tolist(), days.tolist(), rows.tolist()):
            self.filled_day[n], self.filled_row[n] = day, row

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name), dtype=float if name == "fte" else np.int64)
                for name in self.__dataclass_fields__}


class EventLog:
    """HR events as chunks of arrays; `detail` is a string or None per event."""

    def __init__(self) -> None:
        self._chunks: list[tuple[np.ndarray, ...]] = []

    def add(self, rows: np.ndarray, days: np.ndarray | int, event_type: str, *,
            end: np.ndarray | int = -1, value: np.ndarray | float = np.nan,
            detail: np.ndarray | None = None) -> None:
        n = len(rows)
        if n == 0:
            return
        self._chunks.append((
            np.asarray(rows, dtype=np.int64),
            np.broadcast_to(np.asarray(days, dtype=np.int64), n).copy(),
            np.full(n, EVENT[event_type]),
            np.broadcast_to(np.asarray(end, dtype=np.int64), n).copy(),
            np.broadcast_to(np.asarray(value, dtype=float), n).copy(),
            np.full(n, None, dtype=object) if detail is None else np.asarray(detail, dtype=object),
        ))

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("row", "day", "event_type", "end", "value", "detail")
        if not self._chunks:
            return {name: np.empty(0) for name in names}
        return {name: np.concatenate([c[i] for c in self._chunks]) for i, name in enumerate(names)}


class OracleLog:
    """Per at-risk worker and week: the true weekly hazards without the personal frailty.

    The rows go to `sink` a calendar month at a time (by the month of the week's Monday), so the
    whole history is never held: at 150,000 positions x 5 years it is 34 million rows. Only the
    count and the last week, which the notices of the coming departures are drawn from, stay.
    """

    NAMES = ("row", "day", "hazard_voluntary", "hazard_other")

    def __init__(self, sink: Callable[[dict[str, np.ndarray]], None]) -> None:
        self._sink = sink
        self._month: list[tuple[np.ndarray, ...]] = []
        self.n_rows = 0
        self.last_week: dict[str, np.ndarray] = {}

    def add(self, rows: np.ndarray, week_day: int, voluntary: np.ndarray, other: np.ndarray) -> None:
        if self._month and _month(week_day) != _month(int(self._month[0][1][0])):
            self.flush()
        week = (rows, np.full(len(rows), week_day), voluntary, other)
        self._month.append(week)
        self.n_rows += len(rows)
        self.last_week = dict(zip(self.NAMES, week))

    def flush(self) -> None:
        """Hand the weeks held so far to the sink."""
        if self._month:
            self._sink({name: np.concatenate([c[i] for c in self._month]) for i, name in enumerate(self.NAMES)})
            self._month = []


def _month(day: int) -> np.datetime64:
    return np.datetime64(day, "D").astype("datetime64[M]")
