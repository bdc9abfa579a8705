"""The generator at sector scale: handovers run on small foci of the caseload, with the same result as
one by one on the whole of it, and the work per leaver does not grow with the sector (issue 11).

The per-leaver equality is checked on hand-made caseloads (no simulation); the growth on two tiny
sectors of 1 year, by counting the assignments each handover sees rather than timing it.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from datetime import date

import numpy as np
import pandas as pd
import pytest

from continuity.synth import generate_sector
from continuity.synth.caseload import HANDOVER, WORKER_LEFT, Caseload
from continuity.synth.organisations import MUNICIPALITIES, build_sector, municipalities

N_SLOTS = 12
ROW = 100  # employment rows are the slot plus this, so that a row is never taken for a slot


def _caseload(seed: int) -> Caseload:
    """60 clients with a primary worker each among 12 positions, half of them with a secondary one too."""
    rng = np.random.default_rng(seed)
    c = Caseload()
    n = 60
    clients, complexity = c.new_clients(rng, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool))
    slot = rng.integers(0, N_SLOTS, n)
    c.start(clients, slot + ROW, slot, True, rng.integers(0, 50, n), complexity)
    second = rng.random(n) < 0.5
    other = (slot[second] + rng.integers(1, N_SLOTS, second.sum())) % N_SLOTS
    c.start(clients[second], other + ROW, other, False, 60, complexity[second])
    return c


def _assert_same(a: Caseload, b: Caseload) -> None:
    left, right = a.all_assignments(), b.all_assignments()
    for f in fields(left):
        np.testing.assert_array_equal(getattr(left, f.name), getattr(right, f.name), err_msg=f.name)
    assert a.next_id == b.next_id


@pytest.mark.parametrize("seed", range(5))
def test_a_weeks_leavers_handed_over_on_foci_give_what_one_by_one_on_the_whole_caseload_gives(seed):
    whole = _caseload(seed)
    batched = copy.deepcopy(whole)
    leavers, transferred = np.array([0, 1, 2]), 3
    staying = np.arange(4, N_SLOTS)
    rows = np.arange(N_SLOTS) + ROW
    capacity = np.full(N_SLOTS, 10.0)
    load_whole = whole.caseload(N_SLOTS)[0]
    load_batched = load_whole.copy()

    for s in leavers:
        whole.hand_over(int(s), 70 + int(s), WORKER_LEFT, staying, rows, load_whole, capacity)
    whole.rebind(transferred, 500, 72, 73)

    foci = batched.foci(np.array([*leavers, transferred]), N_SLOTS)
    for s in leavers:
        foci[int(s)].hand_over(int(s), 70 + int(s), WORKER_LEFT, staying, rows, load_batched, capacity)
    foci[transferred].rebind(transferred, 500, 72, 73)
    batched.merge([foci[int(s)] for s in (*leavers, transferred)])

    _assert_same(whole, batched)
    np.testing.assert_array_equal(load_whole, load_batched)
    assert not np.isin(batched.open.slot, leavers).any()


@pytest.mark.parametrize("seed", range(5))
def test_team_moves_in_sequence_on_one_focus_give_what_they_give_on_the_whole_caseload(seed):
    """The second mover can hold clients the first handed over: both are colleagues of one team."""
    whole = _caseload(seed)
    focused = copy.deepcopy(whole)
    rows = np.arange(N_SLOTS) + ROW
    capacity = np.full(N_SLOTS, 10.0)
    load = whole.caseload(N_SLOTS)[0]
    focus = focused.focus(np.array([0, 1]), N_SLOTS)
    for cases in (whole, focus):
        counts = load.copy()
        cases.hand_over(0, 70, HANDOVER, np.arange(1, 6), rows, counts, capacity)
        counts[0] = 0
        cases.hand_over(1, max(71, cases.latest_start(1) + 1), HANDOVER, np.arange(2, 6), rows, counts, capacity)
    focused.merge([focus])
    _assert_same(whole, focused)


def test_the_work_per_leaver_does_not_grow_with_the_sector(tmp_path, monkeypatch):
    """Each handover sees only its leaver's cases and their clients', and the whole caseload is passed
    over a fixed number of times a week: with a pass per leaver, a sector four times the size would
    show each handover four times as many assignments."""
    seen: list[int] = []
    passes: list[int] = []
    hand_over, touched = Caseload.hand_over, Caseload._touched

    def counting_hand_over(self, *args, **kwargs):
        seen.append(len(self.open.id))
        return hand_over(self, *args, **kwargs)

    def counting_touched(self, *args, **kwargs):
        passes.append(1)
        return touched(self, *args, **kwargs)

    monkeypatch.setattr(Caseload, "hand_over", counting_hand_over)
    monkeypatch.setattr(Caseload, "_touched", counting_touched)
    mean_seen = {}
    for workers in (200, 800):
        seen.clear()
        passes.clear()
        generate_sector(tmp_path / str(workers), workers=workers, years=1, seed=0, start=date(2020, 1, 6))
        mean_seen[workers] = np.mean(seen)
        assert len(passes) <= 2 * 52  # the week's leavers, then its team moves
        assert len(seen) > 20
    assert mean_seen[800] < 1.5 * mean_seen[200], mean_seen


def test_organisations_and_municipalities_grow_with_the_sector_and_small_sectors_keep_theirs():
    rng = np.random.default_rng
    small = build_sector(rng(0), 2000, 18_267, 52)
    assert len(small.org_ids) == 5 and set(small.market_region) <= set(MUNICIPALITIES)
    large = build_sector(rng(0), 40_000, 18_267, 52)
    assert len(large.org_ids) == 100
    assert len(set(large.market_region)) > len(MUNICIPALITIES)
    assert set(large.market_region) <= set(municipalities(100))
    # every employer holds teams, and none holds more than a few times its even share
    teams_per_org = np.bincount(large.teams.org[np.unique(large.slot_team)], minlength=100)
    assert teams_per_org.min() > 0 and teams_per_org.max() <= 3 * teams_per_org.mean()
    assert not set(municipalities(100)[len(MUNICIPALITIES):]) & set(MUNICIPALITIES)
    # a lost tender moves one market's teams: a few hundred people, not an eighth of the sector
    people = np.bincount(large.slot_team, minlength=len(large.teams.team_id))
    moved: dict[tuple[int, int], int] = {}
    for tr in large.transfers:
        key = (tr.week, int(large.teams.market[tr.old_team]))
        moved[key] = moved.get(key, 0) + int(people[tr.old_team])
    assert moved and max(moved.values()) <= 0.025 * 40_000


def test_contacts_streamed_by_month_are_one_file_in_date_order_inside_their_assignments(tmp_path):
    generate_sector(tmp_path, workers=150, years=1, seed=0, fmt="csv", start=date(2020, 1, 6))
    contacts = pd.read_csv(tmp_path / "exports" / "contacts.csv", parse_dates=["contact_date"])
    assert contacts.columns.tolist() == ["client_id", "worker_id", "contact_date", "minutes"]  # one header
    assert contacts["contact_date"].is_monotonic_increasing
    assert not contacts.duplicated(["client_id", "worker_id", "contact_date"]).any()
    assert contacts["contact_date"].dt.to_period("M").nunique() >= 12
    a = pd.read_csv(tmp_path / "exports" / "assignments.csv", parse_dates=["start_date", "end_date"])
    a["end_date"] = a["end_date"].fillna(pd.Timestamp("2021-01-04") - pd.Timedelta(days=1))
    pairs = contacts.merge(a, on=["client_id", "worker_id"])
    inside = (pairs["start_date"] <= pairs["contact_date"]) & (pairs["contact_date"] <= pairs["end_date"])
    assert inside.groupby([pairs["client_id"], pairs["worker_id"], pairs["contact_date"]]).any().all()
