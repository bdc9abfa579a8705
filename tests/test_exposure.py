"""Relational exposure: exact small cases and the directions the design asks for."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from continuity.features.exposure import (
    CLIENT_EXPOSURE_COLUMNS, WORKER_EXPOSURE_COLUMNS, pair_exposure, relational_exposure)

from contract_frames import assignment, contact, load

T = date(2021, 3, 1)


def weeks_before(n: int) -> date:
    return T - timedelta(weeks=n)


def risk(**p_13w: float) -> pd.DataFrame:
    return pd.DataFrame({"worker_id": list(p_13w), "p_13w": list(p_13w.values()),
                         "p_26w": [min(1.0, 2 * p) for p in p_13w.values()]})


def test_a_a_b_a_client_exact(con):
    load(con, assignments=[assignment("c", "A", weeks_before(26)), assignment("c", "B", weeks_before(26), role="secondary")],
         contacts=[contact("c", w, weeks_before(k)) for w, k in (("A", 8), ("A", 6), ("B", 4), ("A", 2))])
    workers, clients = relational_exposure(con, T, risk(A=0.1, B=0.2, C=0.3))
    assert tuple(workers.columns) == (*WORKER_EXPOSURE_COLUMNS, "expected_exposure_13w", "expected_exposure_26w")
    assert tuple(clients.columns) == CLIENT_EXPOSURE_COLUMNS
    a, b = clients.set_index("worker_id").loc["A"], clients.set_index("worker_id").loc["B"]
    assert (a.contact_share, a.usual_provider, a.role) == (0.75, True, "primary")
    assert (b.contact_share, b.usual_provider, b.role) == (0.25, False, "secondary")
    assert a.coc_drop == pytest.approx(0.5)  # B alone is left: no continuity, COC .5 -> 0
    assert b.coc_drop == pytest.approx(-0.5)  # A, A, A is left: COC .5 -> 1
    assert a.relationship_weeks == 26.0
    bond = 1 - math.exp(-(3 / 6 + 26 / 26))
    assert a.exposure == pytest.approx(0.75 * 1.5 * bond * 1.0 * 1.5)
    by_worker = workers.set_index("worker_id")
    assert by_worker.loc["A"].weighted_clients == pytest.approx(a.exposure)
    assert by_worker.loc["A"].expected_exposure_13w == pytest.approx(0.1 * a.exposure)
    assert by_worker.loc["B"].expected_exposure_26w == pytest.approx(0.4 * b.exposure)
    assert tuple(by_worker.loc["C", ["active_clients", "weighted_clients"]]) == (0, 0.0)


def test_sums_per_worker_match_the_client_rows(con):
    load(con, assignments=[assignment(f"c{i}", "A", weeks_before(10 + i), complexity=1 + i % 5,
                                      flag_crisis=i % 2 == 0) for i in range(6)]
         + [assignment("c0", "B", weeks_before(3)), assignment("gone", "A", weeks_before(9), end_date=T - timedelta(days=1))])
    workers, clients = relational_exposure(con, T, risk(A=0.5, B=0.1))
    a = workers.set_index("worker_id").loc["A"]
    mine = clients[clients.worker_id == "A"]
    assert a.active_clients == 6 and a.vulnerable_clients == 3
    assert a.weighted_clients == pytest.approx(mine.exposure.sum())
    assert a.mean_relationship_weeks == pytest.approx(mine.relationship_weeks.mean())
    assert "gone" not in set(clients.client_id)


BASE = dict(contact_share=0.5, usual_provider=False, n_cw=5, relationship_weeks=10.0, complexity=3,
            vulnerable=False, coc_drop=0.2, handovers_12m=0)


@pytest.mark.parametrize("column, low, high", [
    ("contact_share", 0.3, 0.6),
    ("usual_provider", False, True),
    ("n_cw", 2, 8),
    ("relationship_weeks", 4.0, 40.0),
    ("complexity", 2, 5),
    ("vulnerable", False, True),
    ("coc_drop", 0.1, 0.6),
    ("handovers_12m", 0, 2),
])
def test_exposure_grows_with_each_factor(column, low, high):
    pairs = pd.DataFrame([BASE | {column: low}, BASE | {column: high}])
    low_exposure, high_exposure = pair_exposure(pairs)
    assert high_exposure > low_exposure > 0


def test_a_young_intense_relationship_costs_more_than_a_long_thin_one():
    young = BASE | {"n_cw": 12, "relationship_weeks": 6.0}
    thin = BASE | {"n_cw": 2, "relationship_weeks": 20.0}
    young_exposure, thin_exposure = pair_exposure(pd.DataFrame([young, thin]))
    assert young_exposure > thin_exposure


def test_the_more_vulnerable_client_gets_the_larger_share_of_exposure(con):
    load(con, assignments=[assignment("plain", "A", weeks_before(20)),
                           assignment("fragile", "A", weeks_before(20), flag_out_of_home=True)])
    _, clients = relational_exposure(con, T, risk(A=0.2))
    exposure = clients.set_index("client_id").exposure
    assert exposure["fragile"] == pytest.approx(1.5 * exposure["plain"])


def test_a_transferred_workers_relationship_runs_on_under_the_new_employee_number(con):
    """The same person (person key P1) cared for c at org1 as A and goes on at org2 as A2: the bond
    counts from the first employment, and A2 holds all of the client's encounters as usual provider."""
    from contract_frames import worker

    moved = weeks_before(20)
    load(con, workers=[worker("A", weeks_before(200), person_key="P1"),
                       worker("A2", moved + timedelta(days=1), person_key="P1", organisation_id="org2")],
         assignments=[assignment("c", "A", weeks_before(80), end_date=moved, end_reason="worker_left"),
                      assignment("c", "A2", moved + timedelta(days=1))],
         contacts=[contact("c", "A", weeks_before(30)), contact("c", "A2", weeks_before(5))])
    _, clients = relational_exposure(con, T, risk(A2=0.2))
    row = clients.set_index("client_id").loc["c"]
    assert row.worker_id == "A2" and row.usual_provider and row.contact_share == 1.0
    assert row.relationship_weeks == pytest.approx(80.0)
    assert row.distinct_workers_12m == 1 and row.handovers_12m == 0
