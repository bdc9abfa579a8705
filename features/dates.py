"""Reading a date cell as HR systems write it: ISO text, day and month in either order, Excel serial numbers.

- ISO dates (2021-04-03, 2021/04/03, with or without a time) are unambiguous and always read.
- Excel serial numbers are always read: a number with five digits before any decimal point
  (45123, 45123.5) counts days from 1899-12-30 (Excel's 1900 date system). Such numbers
  arrive when a date column lost its date format, in an .xlsx cell or a CSV made from one;
  no other way of writing a date has five digits, so they cannot be mistaken.
- Dates with day and month as numbers (03-04-2021, 3/4/2021, 03.04.2021) need an order.
  The mapping's ``date_format`` (a ``strptime`` format such as ``"%d-%m-%Y"``) decides it
  for every file of the export. Without one, each file settles its order from its own
  dates: a date whose first number exceeds 12 (25-04-2021) can only be day-first, one whose
  second does (04/25/2021) only month-first. When a file shows exactly one order, its
  ambiguous dates are read in that order. When it shows neither (or both), an ambiguous date
  is quarantined with a reason that says how to choose: guessing would move a start or a
  leaving date by up to eleven months without a trace. A date whose day equals its month
  reads the same either way and is never ambiguous.

Per file, not per column: one system writes all of a file's dates the same way, and a column
of a few dates (a termination date) rarely settles anything on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import pandas as pd

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = re.compile(rf"^(\d{{4}})[-/](\d{{1,2}})[-/](\d{{1,2}}){_TIME}$")
_NUMERIC = re.compile(rf"^(\d{{1,2}})([-/.])(\d{{1,2}})\2(\d{{4}}){_TIME}$")
_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_TRAILING_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
EXCEL_EPOCH = date(1899, 12, 30)
YEARS = (1800, 2200)

DAY_FIRST, MONTH_FIRST = "dmy", "mdy"
NOT_A_DATE = "not a valid date (expected YYYY-MM-DD, DD-MM-YYYY or an Excel date number)"


def orders_shown(texts: Iterable[str]) -> frozenset[str]:
    """The orders of day and month that a file's unambiguous dates show (``DAY_FIRST``, ``MONTH_FIRST``)."""
    seen = set()
    for text in texts:
        m = _NUMERIC.match(text)
        if m:
            first, second = int(m.group(1)), int(m.group(3))
            if first > 12 >= second:
                seen.add(DAY_FIRST)
            elif second > 12 >= first:
                seen.add(MONTH_FIRST)
    return frozenset(seen)


def _ambiguous(first: int, second: int, year: int, orders: frozenset[str]) -> str:
    as_dmy, as_mdy = date(year, second, first), date(year, first, second)
    why = ("this file has dates in both orders" if orders
           else "no date in this file has a day above 12 to settle the order")
    return (f"ambiguous date: {as_dmy.day} {as_dmy:%B %Y} or {as_mdy.day} {as_mdy:%B %Y}; {why}; set "
            "date_format in the mapping (\"%d-%m-%Y\" for day first, \"%m-%d-%Y\" for month first)")


def parse(text: str, orders: frozenset[str], date_format: str | None) -> tuple[pd.Timestamp | None, str | None]:
    """One cell's date, or None and the reason it is not one; ``orders`` is ``orders_shown`` of its file."""
    if date_format:
        try:
            day = datetime.strptime(_TRAILING_TIME.sub("", text), date_format)
        except ValueError:
            pass
        else:
            return _checked(day.year, day.month, day.day, date_format)
    m = _ISO.match(text)
    if m:
        return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)), date_format)
    m = _SERIAL.match(text)
    if m:
        return pd.Timestamp(EXCEL_EPOCH + timedelta(days=int(m.group(1)))), None
    m = _NUMERIC.match(text)
    if not m or date_format:
        return None, _not_a_date(date_format)
    first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    dmy_ok, mdy_ok = _valid(year, second, first), _valid(year, first, second)
    if dmy_ok and mdy_ok and first != second:
        if orders == {DAY_FIRST}:
            return _checked(year, second, first, None)
        if orders == {MONTH_FIRST}:
            return _checked(year, first, second, None)
        return None, _ambiguous(first, second, year, orders)
    if dmy_ok:
        return _checked(year, second, first, None)
    if mdy_ok:
        return _checked(year, first, second, None)
    return None, _not_a_date(None)


def _not_a_date(date_format: str | None) -> str:
    if date_format is None:
        return NOT_A_DATE
    example = date(2024, 12, 31).strftime(date_format)
    return f"not a valid date (expected {example} as the mapping's date_format {date_format!r} says, or YYYY-MM-DD)"


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return YEARS[0] <= year <= YEARS[1]


def _checked(year: int, month: int, day: int, date_format: str | None) -> tuple[pd.Timestamp | None, str | None]:
    if _valid(year, month, day):
        return pd.Timestamp(date(year, month, day)), None
    return None, _not_a_date(date_format)
