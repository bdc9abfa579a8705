"""Continuity indices on hand-made histories whose answers are worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from continuity.features.continuity_indices import INDEX_COLUMNS, continuity_indices

from contract_frames import assignment, contact, load

T = date(2021, 3, 1)


def weeks_before(n: int) -> date:
    return T - timedelta(weeks=n)


def row_of(con, client_id: str, **kwargs):
    indices = continuity_indices(con, T, **kwargs).set_index("client_id")
    return indices.loc[client_id]


def test_contacts_a_a_b_a(con):
    load(con, assignments=[assignment("c", "A", weeks_before(80)), assignment("c", "B", weeks_before(80))],
         contacts=[contact("c", w, weeks_before(k)) for w, k in (("A", 8), ("A", 6), ("B", 4), ("A", 2))])
    row = row_of(con, "c")
    assert row.encounters == 4 and row.source == "contacts"
    assert row.upc == 0.75
    assert row.coc == pytest.approx((9 + 1 - 4) / (4 * 3))
    assert row.secon == pytest.approx(1 / 3)
    assert row.mmci == pytest.approx((1 - 2 / 4.1) / (1 - 1 / 4.1))
    assert row.distinct_workers_12m == 2


def test_coc_and_secon_are_null_below_two_encounters(con):
    load(con, assignments=[assignment("c", "A", weeks_before(80))], contacts=[contact("c", "A", weeks_before(3))])
    row = row_of(con, "c")
    assert row.upc == 1.0 and row.mmci == pytest.approx(1.0)
    assert row.coc != row.coc and row.secon != row.secon  # NaN: undefined, not zero


def test_kpc_counts_contacts_with_workers_seen_in_the_year_before_the_window(con):
    load(con, assignments=[assignment("c", "A", weeks_before(80), end_date=weeks_before(30)),
                           assignment("c", "B", weeks_before(20)),
                           assignment("new", "A", weeks_before(10))],
         contacts=[contact("c", "A", weeks_before(12)), contact("c", "A", weeks_before(11)),
                   contact("c", "B", weeks_before(5)), contact("c", "C", weeks_before(4)),
                   contact("c", "C", weeks_before(30))])  # C seen before the 26-week window
    # 26-week window: A (assigned then) and C (a contact then) were known, B was not
    assert row_of(con, "c", window_weeks=26).kpc == pytest.approx(3 / 4)
    # 13-week window: B's assignment began before the window, so B was known too
    assert row_of(con, "c", window_weeks=13).kpc == pytest.approx(4 / 4)
    assert row_of(con, "new").kpc != row_of(con, "new").kpc  # a new client knew nobody: undefined


def test_assignment_weeks_stand_in_for_missing_contacts(con):
    load(con, assignments=[assignment("c", "A", weeks_before(10), end_date=weeks_before(4), end_reason="handover"),
                           assignment("c", "B", weeks_before(4) + timedelta(days=1))])
    row = row_of(con, "c")
    # A ran in the weeks starting 10..4 weeks before t (7), B in the last 4 weeks
    assert (row.encounters, row.source) == (11, "assignment_weeks")
    assert row.upc == pytest.approx(7 / 11)
    assert row.secon == pytest.approx(9 / 10)
    assert row.handovers_12m == 1 and row.distinct_workers_12m == 2


def test_only_clients_with_an_open_assignment_and_only_the_past(con):
    load(con, assignments=[assignment("open", "A", weeks_before(5), end_date=T, end_reason="worker_left"),
                           assignment("closed", "A", weeks_before(5), end_date=T - timedelta(days=1)),
                           assignment("future", "A", T)],
         contacts=[contact("open", "A", weeks_before(1)), contact("open", "B", T)])
    indices = continuity_indices(con, T)
    assert tuple(indices.columns) == INDEX_COLUMNS
    assert list(indices.client_id) == ["open"]
    assert indices.iloc[0].encounters == 1  # the contact at t is not yet known
    assert indices.iloc[0].handovers_12m == 0  # the hand-over at t is not yet known


def _transferred_team(person_key: str | None):
    """Client c was cared for by A at org1 until a lost tender; A went on at org2 under employee number A2
    the next day. With a person key both numbers are one person."""
    from contract_frames import worker

    ended = weeks_before(20)
    return {
        "workers": [worker("A", weeks_before(200), person_key=person_key),
                    worker("A2", ended + timedelta(days=1), person_key=person_key, organisation_id="org2")],
        "assignments": [assignment("c", "A", weeks_before(80), end_date=ended, end_reason="worker_left"),
                        assignment("c", "A2", ended + timedelta(days=1))],
        "contacts": [contact("c", "A", weeks_before(k)) for k in (30, 25, 22)]
                    + [contact("c", "A2", weeks_before(k)) for k in (15, 10, 5)],
    }


def test_a_team_that_follows_its_work_under_new_employee_numbers_is_no_new_face_and_no_handover(con):
    load(con, **_transferred_team("P1"))
    row = row_of(con, "c")
    assert row.distinct_workers_12m == 1 and row.handovers_12m == 0 and row.new_faces_12m == 0
    assert row.upc == 1.0 and row.secon == 1.0 and row.kpc == 1.0


def test_without_a_person_key_each_employment_counts_as_a_worker(con):
    load(con, **_transferred_team(None))
    row = row_of(con, "c")
    assert row.distinct_workers_12m == 2 and row.handovers_12m == 1 and row.new_faces_12m == 1
    assert row.upc == 0.5 and row.secon == pytest.approx(4 / 5)


def test_care_by_a_small_stable_team_scores_as_team_continuity(con):
    """A and B of team1 take turns with client "team": poor per-person continuity, full team continuity.
    "crowd" sees four colleagues of team1: only its three most-seen count as its team. "spread" sees
    workers of two teams: team continuity is then the usual provider's share, as UPC."""
    from contract_frames import worker

    load(con, workers=[worker(w, weeks_before(300)) for w in ("A", "B", "C", "D")]
         + [worker("X", weeks_before(300), team_id="team2"), worker("Y", weeks_before(300), team_id="team3")],
         assignments=[assignment(c, "A", weeks_before(60)) for c in ("team", "crowd")]
         + [assignment("spread", "X", weeks_before(60))],
         contacts=[contact("team", w, weeks_before(k)) for k, w in enumerate("ABABAB", start=1)]
         + [contact("crowd", w, weeks_before(k)) for k, w in enumerate("AABBCCDX", start=1)]
         + [contact("spread", w, weeks_before(k)) for k, w in enumerate("XXXY", start=1)])
    indices = continuity_indices(con, T).set_index("client_id")
    team = indices.loc["team"]
    assert (team.upc, team.secon, team.team_continuity) == (0.5, 0.0, 1.0)
    assert team.coc == pytest.approx((9 + 9 - 6) / 30)
    # D, C, B (most recent first among equals) are the three faces of team1; A and X fall outside
    assert indices.loc["crowd"].team_continuity == pytest.approx(6 / 8)
    assert indices.loc["spread"].team_continuity == indices.loc["spread"].upc == 0.75


def test_a_carers_team_follows_their_team_moves_before_t_and_their_person_key(con):
    """B moved into team1 before t and counts with E; C's move falls at t and is not yet known. A2 is A's
    later employment (person key P1) in another organisation: one carer, whose team is the latest one's."""
    from contract_frames import hr_event, worker

    load(con, workers=[worker("A", weeks_before(300), person_key="P1"),
                       worker("A2", weeks_before(10), person_key="P1", team_id="team9", organisation_id="org2"),
                       worker("B", weeks_before(300), team_id="team2"), worker("C", weeks_before(300), team_id="team3"),
                       worker("D", weeks_before(300), team_id="team9"), worker("E", weeks_before(300))],
         hr_events=[hr_event("B", "team_move", weeks_before(20), detail="team1"),
                    hr_event("C", "team_move", T, detail="team1")],
         assignments=[assignment(c, "A", weeks_before(60)) for c in ("moved", "transferred")],
         contacts=[contact("moved", w, weeks_before(k)) for k, w in enumerate("EEBBC", start=1)]
         + [contact("transferred", w, weeks_before(k)) for k, w in ((30, "A"), (25, "A"), (5, "A2"), (3, "D"))])
    indices = continuity_indices(con, T).set_index("client_id")
    assert indices.loc["moved"].team_continuity == pytest.approx(4 / 5)  # E and B in team1; C still in team3
    assert indices.loc["transferred"].team_continuity == 1.0  # P1 and D, both of team9 now


def test_distinct_workers_of_two_years_count_people_seen_before_the_last_year(con):
    load(con, assignments=[assignment("c", "A", weeks_before(120), end_date=weeks_before(80), end_reason="handover"),
                           assignment("c", "B", weeks_before(80), end_date=weeks_before(30), end_reason="handover"),
                           assignment("c", "C", weeks_before(30)),
                           assignment("c", "old", weeks_before(200), end_date=weeks_before(110), end_reason="closed")],
         contacts=[contact("c", "D", weeks_before(90)), contact("c", "E", weeks_before(105))])
    row = row_of(con, "c")
    assert (row.distinct_workers_12m, row.distinct_workers_24m) == (2, 4)  # B, C; and A, D (E and old before)
