"""The handover weight: the chance that a client's case is still open in the week its worker leaves."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from continuity.features.case_survival import leaving_by_week, with_handover_weight
from continuity.published import HANDOVER_WEIGHT

T = date(2024, 1, 1)


def _history() -> pd.DataFrame:
    """40 past jeugd cases that closed after 10 weeks; 40 past wmo cases that ended only when their worker left
    (censored: a case's end is what the curve counts, not the worker's leaving); one open case in each domain
    for each of workers E (leaves early) and L (leaves late), started 2 weeks before T."""
    rows = []
    for k in range(40):
        start = T - timedelta(weeks=60 + k)
        rows.append(("old-j%d" % k, "X", "jeugd", start, start + timedelta(weeks=10), "closed"))
        rows.append(("old-w%d" % k, "X", "wmo", start, start + timedelta(weeks=30), "worker_left"))
    for worker in ("E", "L"):
        for domain in ("jeugd", "wmo"):
            rows.append((f"{domain}-{worker}", worker, domain, T - timedelta(weeks=2), None, None))
    return pd.DataFrame(rows, columns=["client_id", "worker_id", "domain", "start_date", "end_date", "end_reason"])


def _curves() -> pd.DataFrame:
    """E's leaving all in week 1, L's all in week 20 (each P(leave within 26 weeks) 0.3)."""
    weeks = np.arange(53)
    return pd.concat([pd.DataFrame({"worker_id": w, "week": weeks, "survival": np.where(weeks >= at, 0.7, 1.0)})
                      for w, at in (("E", 1), ("L", 20))])


@pytest.fixture
def weights() -> pd.Series:
    con = duckdb.connect()
    history = _history()
    con.register("_history", history)
    con.execute("create table assignments as select * from _history")
    clients = history[history.end_date.isna()][["worker_id", "client_id"]].reset_index(drop=True)
    return with_handover_weight(con, T, clients, _curves()).set_index("client_id")[HANDOVER_WEIGHT]


def test_a_case_in_a_domain_where_cases_do_not_close_stays_open_until_its_worker_leaves(weights):
    assert weights["wmo-E"] == pytest.approx(1.0) and weights["wmo-L"] == pytest.approx(1.0)


def test_a_case_that_usually_closes_first_needs_a_handover_only_if_the_worker_leaves_before(weights):
    # jeugd cases close at 10 weeks: aged 2 weeks, one is still open in week 1 (E leaves) but not in week 20 (L).
    assert weights["jeugd-E"] == pytest.approx(1.0)
    assert weights["jeugd-L"] == pytest.approx(0.0)


def test_the_weeks_of_leaving_follow_the_curve_and_add_up_to_the_probability():
    incidence = np.array([[0.1, 0.1, 0.3, 0.4], [0.0, 0.0, 0.0, 0.0]])
    by_week = leaving_by_week(incidence, np.array([0.4, 0.2]))
    assert by_week.sum(axis=1) == pytest.approx([0.4, 0.2])
    assert by_week[0] == pytest.approx([0.1, 0.0, 0.2, 0.1])
    assert by_week[1] == pytest.approx([0.05] * 4)  # a flat curve: evenly over the weeks
