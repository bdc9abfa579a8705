"""Handover plans on hand-built teams: capacity, familiarity, pins, exclusions and the naive baseline."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from continuity.benchmarks.planning import compare_plans
from continuity.handover.planner import (
    HOUSEHOLD_KEPT, NO_ROOM, STARTER_COMPLEX, naive_plan, plan_handover, situation)

from contract_frames import assignment, contact, load, with_households, worker
from published_frames import publish_contract_week

T = date(2021, 3, 1)
HIRED = date(2018, 1, 1)
SINCE = T - timedelta(weeks=20)


def caseload(worker_id: str, n: int, domain: str = "wmo") -> list[dict]:
    """n open primary cases of other clients: the worker's load at T."""
    return [assignment(f"{worker_id}-own{i}", worker_id, SINCE, domain=domain) for i in range(n)]


def risk(**p_26w: float) -> pd.DataFrame:
    return pd.DataFrame({"worker_id": list(p_26w), "p_13w": [p / 2 for p in p_26w.values()],
                         "p_26w": list(p_26w.values())})


@pytest.fixture
def publish(con, tmp_path):
    """Publish the week at T of the hand-built tables with the given risk; each call a new publication."""
    return lambda p: publish_contract_week(con, T, p, tmp_path / "published")


def plan_for(publish, p: pd.DataFrame, leaver: str = "L", **options):
    return plan_handover(situation(publish(p), leaver, **options))


def naive_for(publish, p: pd.DataFrame, leaver: str = "L", **options):
    return naive_plan(situation(publish(p), leaver, **options))


def successors(plan) -> dict[str, str | None]:
    return {h.client_id: h.successor_id for h in plan.handovers}


def test_a_client_goes_to_the_secondary_worker_who_knows_them(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "S", "A")],
         assignments=[assignment("c1", "L", SINCE), assignment("c2", "L", SINCE),
                      assignment("c1", "S", SINCE, role="secondary"), *caseload("S", 6), *caseload("A", 2)])
    plan = plan_for(publish, risk(L=0.5, S=0.10, A=0.08))
    by_client = {h.client_id: h for h in plan.handovers}
    assert by_client["c1"].successor_id == "S"
    assert by_client["c1"].reasons[0] == "already knows the client (secondary worker)"
    assert "same team" in by_client["c1"].reasons and "works in the same domain" in by_client["c1"].reasons
    assert by_client["c1"].successor_p_leave == pytest.approx(1 - 0.9**2)  # the published 52-week probability
    assert plan.risk_assumption is None
    assert plan.expected_further_handovers == pytest.approx(sum(h.successor_p_leave for h in plan.handovers))


def test_room_under_the_norm_is_shared_and_clients_without_room_are_listed(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B")]
         + [worker("O", HIRED, team_id="team2"), worker("far", HIRED, team_id="team3", region="GM0014"),
            worker("other-org", HIRED, team_id="team4", organisation_id="org2")],
         assignments=[assignment(f"c{i}", "L", SINCE, complexity=1 + i) for i in range(5)]
         + caseload("A", 10) + caseload("B", 11) + caseload("O", 11))
    plan = plan_for(publish, risk(L=0.5, A=0.1, B=0.1, O=0.1, far=0.0, **{"other-org": 0.0}))
    placed = pd.Series([s for s in successors(plan).values() if s is not None]).value_counts()
    assert placed.to_dict() == {"A": 2, "B": 1, "O": 1}  # 12 per fte minus the caseload
    assert plan.unplaced == ("c0",)  # the least complex waits; nobody is dropped
    assert [h.reasons for h in plan.handovers if h.client_id == "c0"] == [(NO_ROOM,)]
    assert "same organisation and region" in next(h for h in plan.handovers if h.successor_id == "O").reasons
    assert naive_for(publish, risk(L=0.5, A=0.1, B=0.1, O=0.1)).unplaced == ("c4",)


def test_pins_are_placed_first_and_excluded_workers_never_chosen(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B", "C")],
         assignments=[assignment(f"c{i}", "L", SINCE) for i in range(3)]
         + [assignment("c0", "A", SINCE, role="secondary")]
         + caseload("A", 11) + caseload("B", 11) + caseload("C", 5))
    p = risk(L=0.5, A=0.01, B=0.01, C=0.3)
    free = plan_for(publish, p)
    assert successors(free)["c0"] == "A"

    plan = plan_for(publish, p, pinned={"c1": "A"}, excluded={"B"})
    assert successors(plan) == {"c0": "C", "c1": "A", "c2": "C"}  # A's only place went to the pin
    assert plan.handovers[1].reasons[0] == "pinned by the manager"
    naive = naive_for(publish, p, pinned={"c1": "A"}, excluded={"B"})
    assert successors(naive)["c1"] == "A" and "B" not in successors(naive).values()

    over = plan_for(publish, p, pinned={"c0": "B", "c1": "B"})
    assert "takes the caseload above the norm" in over.handovers[1].reasons
    for pins, excluded in (({"c0": "B"}, {"B"}), ({"c0": "L"}, set()), ({"elsewhere": "A"}, set()),
                           ({"c0": "nobody"}, set())):
        with pytest.raises(ValueError):
            plan_for(publish, p, pinned=pins, excluded=excluded)


def test_the_assignment_beats_serving_clients_one_by_one(con, publish):
    # c0 knows R and S, c1 only S; S is the steadier colleague. Serving c0 first gives it S
    # and leaves c1 with a stranger; the solver gives each client someone they know.
    load(con, workers=[worker(w, HIRED) for w in ("L", "R", "S")],
         assignments=[assignment("c0", "L", SINCE), assignment("c1", "L", SINCE)]
         + caseload("R", 11) + caseload("S", 11),
         contacts=[contact("c0", "R", T - timedelta(weeks=30)), contact("c0", "S", T - timedelta(weeks=40)),
                   contact("c1", "S", T - timedelta(weeks=10))])
    plan = plan_for(publish, risk(L=0.5, R=0.2, S=0.1))
    assert successors(plan) == {"c0": "R", "c1": "S"}
    assert all(h.reasons[0].startswith("already knows the client (1 contacts") for h in plan.handovers)


def test_the_plan_hands_over_fewer_clients_again_than_the_least_loaded_colleague(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "new", "steady")],
         assignments=[assignment(f"c{i}", "L", SINCE) for i in range(4)] + caseload("steady", 6))
    p = risk(L=0.5, new=0.6, steady=0.05)
    optimal, naive = plan_for(publish, p), naive_for(publish, p)
    assert set(successors(naive).values()) == {"new"}  # the empty caseload is the least loaded
    assert set(successors(optimal).values()) == {"steady"}
    assert naive.expected_further_handovers == pytest.approx(4 * (1 - 0.4**2))
    assert optimal.expected_further_handovers == pytest.approx(4 * (1 - 0.95**2))
    assert (optimal.method, naive.method) == ("optimal", "least-loaded")


def test_a_published_horizon_is_read_not_derived_and_output_is_deterministic(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B", "C")],
         assignments=[assignment(f"c{i}", "L", SINCE, domain=d) for i, d in enumerate(["wmo", "jeugd"] * 3)]
         + caseload("A", 4, "jeugd") + caseload("B", 4) + caseload("C", 4))
    p = risk(L=0.5, A=0.2, B=0.2, C=0.2).assign(p_52w=[0.9, 0.3, 0.3, 0.3])
    plan = plan_for(publish, p)
    assert plan.risk_assumption is None
    assert {h.successor_p_leave for h in plan.handovers} == {0.3}
    assert plan == plan_for(publish, p.sample(frac=1.0, random_state=3))
    jeugd = [h for h in plan.handovers if h.client_id in ("c1", "c3", "c5")]
    assert all(h.successor_id == "A" and "works in the same domain" in h.reasons for h in jeugd)


def test_a_leaver_who_is_not_scored_is_refused(con, publish):
    load(con, workers=[worker("L", HIRED, termination_date=T - timedelta(days=1), termination_reason="voluntary"),
                       worker("A", HIRED)])
    with pytest.raises(ValueError, match="not scored in the week"):
        plan_for(publish, risk(L=0.5))


def test_a_leaver_without_primary_clients_gets_an_empty_plan(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "A")], assignments=caseload("A", 3))
    plan, naive = plan_for(publish, risk(L=0.5, A=0.1)), naive_for(publish, risk(L=0.5, A=0.1))
    assert plan.handovers == naive.handovers == ()
    assert plan.expected_further_handovers == naive.expected_further_handovers == 0


STARTED = T - timedelta(weeks=30)  # a starter: under 2 years in post at T


def test_a_starter_gets_no_complex_case_while_an_experienced_colleague_has_room(con, publish):
    # The starter is the cheaper successor on every other count (lower risk, lighter load),
    # so only the starter rule keeps the complex case away from them; the easy case may go to them.
    load(con, workers=[worker("L", HIRED), worker("N", STARTED), worker("E", HIRED)],
         assignments=[assignment("hard", "L", SINCE, complexity=4), assignment("easy", "L", SINCE, complexity=2),
                      *caseload("N", 1), *caseload("E", 10)])
    plan = plan_for(publish, risk(L=0.5, N=0.02, E=0.30))
    by_client = {h.client_id: h for h in plan.handovers}
    assert by_client["hard"].successor_id == "E" and not by_client["hard"].starter_complex
    assert by_client["easy"].successor_id == "N"
    assert not any(STARTER_COMPLEX in h.reasons for h in plan.handovers)
    naive = naive_for(publish, risk(L=0.5, N=0.02, E=0.30))
    assert {h.client_id for h in naive.handovers if h.starter_complex} == {"hard"}  # least-loaded ignores it


def test_a_complex_case_goes_to_a_starter_with_a_flag_when_only_starters_have_room(con, publish):
    load(con, workers=[worker("L", HIRED), worker("N", STARTED), worker("E", HIRED)],
         assignments=[assignment("hard", "L", SINCE, complexity=5), assignment("easy", "L", SINCE, complexity=1),
                      *caseload("N", 2), *caseload("E", 11)])
    plan = plan_for(publish, risk(L=0.5, N=0.10, E=0.05))
    by_client = {h.client_id: h for h in plan.handovers}
    assert plan.unplaced == ()
    # E has one place: the complex case takes it, the starter gets the easy one and nobody is flagged.
    assert by_client["hard"].successor_id == "E" and by_client["easy"].successor_id == "N"
    assert not any(h.starter_complex for h in plan.handovers)

    load(con, workers=[worker("L", HIRED), worker("N", STARTED), worker("E", HIRED)],
         assignments=[assignment("hard", "L", SINCE, complexity=5), *caseload("N", 2), *caseload("E", 12)])
    full = plan_for(publish, risk(L=0.5, N=0.10, E=0.05))
    (only,) = full.handovers
    assert only.successor_id == "N" and only.starter_complex and only.reasons[0] == STARTER_COMPLEX
    assert full.to_frame().starter_complex.tolist() == [True]


def test_the_starter_rule_keeps_to_the_caseload_norm(con, publish):
    # Two complex cases, one experienced place: the second complex case goes to the starter, flagged,
    # rather than above the experienced colleague's norm.
    load(con, workers=[worker("L", HIRED), worker("N", STARTED), worker("E", HIRED)],
         assignments=[assignment("h1", "L", SINCE, complexity=4), assignment("h2", "L", SINCE, complexity=4),
                      *caseload("N", 0), *caseload("E", 11)])
    plan = plan_for(publish, risk(L=0.5, N=0.10, E=0.05))
    taken = pd.Series(successors(plan)).value_counts()
    assert taken["E"] == 1 and taken["N"] == 1
    assert [h.successor_id for h in plan.handovers if h.starter_complex] == ["N"]


def test_the_benchmark_counts_what_each_plan_gives_starters_and_known_successors(con, publish):
    load(con, workers=[worker("L", HIRED), worker("N", STARTED), worker("E", HIRED)],
         assignments=[assignment("hard", "L", SINCE, complexity=4), assignment("easy", "L", SINCE, complexity=2),
                      assignment("easy", "E", SINCE, role="secondary"), *caseload("N", 1), *caseload("E", 10)])
    figures = compare_plans(publish(risk(L=0.9, N=0.02, E=0.20)), leavers=1)
    assert figures["leavers"] == 1
    planner, naive = figures["planner"], figures["naive"]
    assert (planner["complex_to_starters"], naive["complex_to_starters"]) == (0, 1)
    assert naive["complex_to_starters_flagged"] == 1
    assert planner["clients"] == naive["clients"] == 2 and planner["unplaced"] == 0
    assert (planner["known_successor"], naive["known_successor"]) == (1, 0)  # "easy" knows E
    assert planner["households"] == 0 and planner["out_of_home_clients"] == 0  # none in this week


def test_a_household_stays_with_one_worker_where_room_allows(con, publish):
    # The siblings know different colleagues, but together go to one; when no colleague has room for the
    # three of them, the household is split rather than a member left without a successor.
    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B", "C")],
         assignments=[assignment(c, "L", SINCE) for c in ("sib1", "sib2", "parent", "alone")]
         + caseload("A", 9) + caseload("B", 9) + caseload("C", 11),
         contacts=[contact("sib1", "A", T - timedelta(weeks=10)), contact("sib2", "B", T - timedelta(weeks=10))])
    with_households(con, {"sib1": "h1", "sib2": "h1", "parent": "h1"})
    p = risk(L=0.5, A=0.1, B=0.1, C=0.1)
    plan = plan_for(publish, p)
    together = successors(plan)
    assert together["sib1"] == together["sib2"] == together["parent"] in ("A", "B")
    assert all(HOUSEHOLD_KEPT in h.reasons for h in plan.handovers if h.client_id != "alone")
    assert HOUSEHOLD_KEPT not in next(h for h in plan.handovers if h.client_id == "alone").reasons
    # without households, each sibling goes to the colleague they know
    con.execute("update assignments set household_id = null")
    apart = successors(plan_for(publish, p))
    assert (apart["sib1"], apart["sib2"]) == ("A", "B")

    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B")],
         assignments=[assignment(c, "L", SINCE) for c in ("sib1", "sib2", "parent")]
         + caseload("A", 10) + caseload("B", 11))
    with_households(con, {"sib1": "h1", "sib2": "h1", "parent": "h1"})
    tight = plan_for(publish, risk(L=0.5, A=0.1, B=0.1))
    assert tight.unplaced == () and pd.Series(successors(tight)).value_counts().to_dict() == {"A": 2, "B": 1}
    assert not any(HOUSEHOLD_KEPT in h.reasons for h in tight.handovers)


def test_a_pinned_member_draws_the_rest_of_the_household_to_the_same_successor(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B")],
         assignments=[assignment(c, "L", SINCE) for c in ("sib1", "sib2")] + caseload("A", 6) + caseload("B", 2))
    with_households(con, {"sib1": "h1", "sib2": "h1"})
    plan = plan_for(publish, risk(L=0.5, A=0.2, B=0.1), pinned={"sib1": "A"})
    assert successors(plan) == {"sib1": "A", "sib2": "A"}  # B is steadier and lighter, but the household stays
    assert successors(plan_for(publish, risk(L=0.5, A=0.2, B=0.1)))["sib2"] == "B"


def test_a_child_placed_out_of_home_keeps_a_known_face_before_anyone_else(con, publish):
    # K knows both children and has one place; S is a far steadier stranger. The placed child gets K, although
    # the other child knew K longer, and although for a child at home the steadier stranger would win.
    load(con, workers=[worker(w, HIRED) for w in ("L", "K", "S")],
         assignments=[assignment("placed", "L", SINCE, flag_out_of_home=True), assignment("home", "L", SINCE)]
         + caseload("K", 11) + caseload("S", 2),
         contacts=[contact("placed", "K", T - timedelta(weeks=5)), contact("home", "K", T - timedelta(weeks=8)),
                   contact("home", "K", T - timedelta(weeks=6))])
    p = risk(L=0.5, K=0.35, S=0.02)  # 52 weeks: K 0.58, S 0.04
    plan = plan_for(publish, p)
    assert successors(plan) == {"placed": "K", "home": "S"}
    load(con, workers=[worker(w, HIRED) for w in ("L", "K", "S")],
         assignments=[assignment("home", "L", SINCE)] + caseload("K", 11) + caseload("S", 2),
         contacts=[contact("home", "K", T - timedelta(weeks=8))])
    assert successors(plan_for(publish, p)) == {"home": "S"}  # a stranger 0.5 < 0.54 more risk of leaving


def test_the_benchmark_counts_households_kept_and_out_of_home_children_with_a_known_successor(con, publish):
    load(con, workers=[worker(w, HIRED) for w in ("L", "A", "B")],
         assignments=[assignment("sib1", "L", SINCE), assignment("sib2", "L", SINCE),
                      assignment("placed", "L", SINCE, flag_out_of_home=True)] + caseload("A", 9) + caseload("B", 10),
         contacts=[contact("placed", "B", T - timedelta(weeks=5))])
    with_households(con, {"sib1": "h1", "sib2": "h1"})
    figures = compare_plans(publish(risk(L=0.9, A=0.1, B=0.1)), leavers=1)
    planner, naive = figures["planner"], figures["naive"]
    assert planner["households"] == naive["households"] == 1
    assert (planner["households_kept_with_one_worker"], naive["households_kept_with_one_worker"]) == (1, 0)
    assert planner["out_of_home_clients"] == naive["out_of_home_clients"] == 1
    assert (planner["out_of_home_with_known_successor"], naive["out_of_home_with_known_successor"]) == (1, 0)
