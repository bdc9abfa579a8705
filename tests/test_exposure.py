"""Relational exposure: exact small cases and the directions the design asks for."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from continuity.features.exposure import (
    CLIENT_EXPOSURE_COLUMNS, WORKER_EXPOSURE_COLUMNS, pair_exposure, relational_exposure)

from contract_frames import assignment, contact, load, with_households, with_placements

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
    assert a.distinct_workers_24m == 2  # one more worker than A to get used to: +0.1
    assert a.exposure == pytest.approx(0.75 * 1.5 * bond * 1.0 * (1 + 0.5 + 0.1))
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
            vulnerable=False, flag_out_of_home=False, replacements_24m=0, coc_drop=0.2, handovers_12m=0,
            distinct_workers_24m=1)


@pytest.mark.parametrize("column, low, high", [
    ("contact_share", 0.3, 0.6),
    ("usual_provider", False, True),
    ("n_cw", 2, 8),
    ("relationship_weeks", 4.0, 40.0),
    ("complexity", 2, 5),
    ("vulnerable", False, True),
    ("coc_drop", 0.1, 0.6),
    ("handovers_12m", 0, 2),
    ("flag_out_of_home", False, True),
    ("replacements_24m", 0, 2),
    ("distinct_workers_24m", 2, 6),
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
                           assignment("crisis", "A", weeks_before(20), flag_crisis=True),
                           assignment("placed", "A", weeks_before(20), flag_out_of_home=True)])
    _, clients = relational_exposure(con, T, risk(A=0.2))
    exposure = clients.set_index("client_id").exposure
    assert exposure["crisis"] == pytest.approx(1.5 * exposure["plain"])
    assert exposure["placed"] == pytest.approx(2.0 * exposure["plain"])  # out of home weighs above crisis


def test_placements_open_at_t_and_re_placements_in_two_years_raise_the_need(con):
    load(con, assignments=[assignment(c, "A", weeks_before(20)) for c in ("home", "placed", "moved", "back", "late")])
    with_placements(con, [
        ("placed", weeks_before(30), None),
        ("moved", weeks_before(150), weeks_before(60)), ("moved", weeks_before(60), weeks_before(10)),
        ("moved", weeks_before(10), T),  # ends at t: still open
        ("back", weeks_before(200), weeks_before(120)), ("back", weeks_before(120), weeks_before(50)),  # home again
        ("late", T, None),  # dated at t: not yet known
    ])
    _, clients = relational_exposure(con, T, risk(A=0.2))
    rows = clients.set_index("client_id")
    assert rows.flag_out_of_home.to_dict() == {"back": False, "home": False, "late": False, "moved": True,
                                               "placed": True}
    # moved: two re-placements in 104 weeks (the first placement is none); back's re-placement is older
    assert rows.replacements_24m.to_dict() == {"back": 0, "home": 0, "late": 0, "moved": 2, "placed": 0}
    assert rows.vulnerable["placed"] and not rows.vulnerable["back"]
    assert rows.need.to_dict() == pytest.approx({"home": 1.0, "late": 1.0, "back": 1.0, "placed": 2.0, "moved": 2.5})
    assert rows.exposure["moved"] == pytest.approx(2.5 * rows.exposure["home"])


def test_without_placements_or_households_the_exposure_is_as_before(con):
    load(con, assignments=[assignment("c", "A", weeks_before(20), flag_youth=True)])
    con.execute("alter table assignments drop column if exists household_id")
    con.execute("drop table if exists placements")
    _, clients = relational_exposure(con, T, risk(A=0.2))
    row = clients.iloc[0]
    assert row.household_id is None and not row.flag_out_of_home and row.replacements_24m == 0
    assert row.need == pytest.approx(1.5)


def test_a_household_loses_its_worker_once_for_all_its_members(con):
    load(con, assignments=[assignment("child1", "A", weeks_before(20), complexity=4, flag_out_of_home=True),
                           assignment("child2", "A", weeks_before(20)),
                           assignment("parent", "A", weeks_before(20)),
                           assignment("alone", "A", weeks_before(20)),
                           assignment("child2", "B", weeks_before(20))])
    unshared = relational_exposure(con, T, risk(A=0.2, B=0.1))[1].set_index(["worker_id", "client_id"]).exposure
    with_households(con, {"child1": "h1", "child2": "h1", "parent": "h1"})
    workers, clients = relational_exposure(con, T, risk(A=0.2, B=0.1))
    shared = clients.set_index(["worker_id", "client_id"]).exposure
    members = [("A", "child1"), ("A", "child2"), ("A", "parent")]
    assert shared[members].sum() == pytest.approx(unshared[members].max())  # one loss, the largest member's
    assert shared[("A", "child1")] / shared[("A", "child2")] == pytest.approx(
        unshared[("A", "child1")] / unshared[("A", "child2")])  # shared in proportion
    assert shared[("A", "alone")] == unshared[("A", "alone")]
    assert shared[("B", "child2")] == unshared[("B", "child2")]  # B holds one member only: nothing to share
    a = workers.set_index("worker_id").loc["A"]
    assert a.active_clients == 4  # people, not households
    assert a.weighted_clients == pytest.approx(shared[[*members, ("A", "alone")]].sum())
    assert set(clients.household_id.dropna()) == {"h1"}


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
