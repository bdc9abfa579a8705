"""The published client_continuity table on a hand-made history: new faces are workers first met in the year,
not every worker seen; handovers and distinct workers count as the continuity indices count them."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from continuity.features.continuity_indices import continuity_indices
from continuity.features.situation import client_continuity

from contract_frames import assignment, contact, load

T = date(2021, 3, 1)


def weeks_before(n: int) -> date:
    return T - timedelta(weeks=n)


def test_new_faces_count_only_workers_first_met_in_the_year(con):
    load(con, assignments=[
        assignment("c", "A", weeks_before(80), end_date=weeks_before(30), end_reason="handover"),  # known, left
        assignment("c", "B", weeks_before(30), end_date=weeks_before(10), end_reason="worker_left"),  # new
        assignment("c", "C", weeks_before(10)),  # new, open
        assignment("c", "D", weeks_before(70), role="secondary"),  # known for long
        assignment("other", "X", weeks_before(5)),  # X is not scored: not a client of the scored workers
    ], contacts=[contact("c", "E", weeks_before(60)), contact("c", "E", weeks_before(3)),  # met before the year
                 contact("c", "F", weeks_before(2)),  # a first contact in the year: a new face
                 contact("c", "G", T)])  # at t: not yet known
    table = client_continuity(con, T, pd.Series(["C", "D"]))
    assert table.client_id.tolist() == ["c"]
    row = table.iloc[0]
    assert (row.new_faces_12m, row.handovers_12m) == (3, 2)  # B, C, F; A at 30 weeks and B at 10
    indices = continuity_indices(con, T).set_index("client_id").loc["c"]
    assert row.distinct_workers_12m == indices.distinct_workers_12m == 6  # A..F
    assert row.handovers_12m == indices.handovers_12m


def test_a_client_of_long_known_workers_has_no_new_face(con):
    load(con, assignments=[assignment("c", "A", weeks_before(60)), assignment("c", "B", weeks_before(53),
                                                                              role="secondary")])
    row = client_continuity(con, T, pd.Series(["A"])).iloc[0]
    assert (row.new_faces_12m, row.distinct_workers_12m, row.handovers_12m) == (0, 2, 0)


def test_the_team_continuity_of_the_window_is_published_with_the_year(con):
    from contract_frames import worker

    load(con, workers=[worker("A", weeks_before(300)), worker("B", weeks_before(300))],
         assignments=[assignment("team", "A", weeks_before(60)), assignment("quiet", "A", weeks_before(60))],
         contacts=[contact("team", w, weeks_before(k)) for k, w in enumerate("ABAB", start=1)])
    table = client_continuity(con, T, pd.Series(["A"])).set_index("client_id")
    assert table.loc["team", "team_continuity"] == 1.0  # A and B of one team: poor per person, full as a team
    # quiet has no contacts: one encounter per assignment-week, all with A
    assert table.loc["quiet", "team_continuity"] == 1.0
    assert continuity_indices(con, T).set_index("client_id").loc["team", "upc"] == 0.5
