"""Re-simulating the synthetic sector under a policy: the same past, a changed future, the scenario's truth."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from continuity.features.contract import TABLES
from continuity.forecasts import scenarios
from continuity.synth import generate_sector
from continuity.synth.counterfactual import cohort_outflow
from continuity.synth.generate import EPOCH, _streams, sector_layout
from continuity.synth.policy import (CASELOAD_CAP, POLICY_SCENARIOS, SCALE_STEP_WEEKS, SECURE_FUNDING_YEARS, Policy,
                                     scenario_policy)
from continuity.synth.simulate import Simulation
from continuity.synth.worlds import WORLDS
from continuity.vocabulary import CASELOAD_NORM_PER_FTE

START = date(2020, 1, 6)
WORKERS, YEARS, SEED = 400, 3, 3
T = START + timedelta(weeks=101)
NAMES = ("baseline", *POLICY_SCENARIOS)
# Drawn after the simulation over the whole history (synth/generate.py's contacts, households, placements and
# notices streams), so a changed future reshuffles them before T as well; the simulation's own records are kept.
DRAWN_AFTERWARDS = {"contacts", "placements"}
COMPANIONS = {"termination_date": ["termination_reason"], "end_date": ["end_reason"], "filled_on": ["filled_by"]}


@pytest.fixture(scope="module")
def sectors(tmp_path_factory) -> dict[str, Path]:
    folders = {"none": tmp_path_factory.mktemp("no_policy")}
    generate_sector(folders["none"], workers=WORKERS, years=YEARS, seed=SEED, start=START)
    for name in NAMES:
        folders[name] = tmp_path_factory.mktemp(name)
        generate_sector(folders[name], workers=WORKERS, years=YEARS, seed=SEED, start=START,
                        policy=scenario_policy(name, T))
    return folders


def _known_before(folder: Path, day: date) -> dict[str, pd.DataFrame]:
    """Every row dated before `day`, with what it says of later days blanked (the snapshots' rule)."""
    out = {}
    for name, spec in TABLES.items():
        table = pd.read_parquet(folder / "exports" / f"{name}.parquet")
        if name in DRAWN_AFTERWARDS:
            continue
        if spec.dated_by is not None:
            table = table[pd.to_datetime(table[spec.dated_by]) < pd.Timestamp(day)].copy()
            for column in spec.also_dated:
                later = ~(pd.to_datetime(table[column]) < pd.Timestamp(day))
                for c in [column, *(c for c in COMPANIONS.get(column, []) if c in table)]:
                    table[c] = table[c].where(~later)
        if name == "hr_events":
            # notices are drawn from the exits afterwards; a month's overtime is dated on its first day
            month = pd.Timestamp(day).to_period("M").start_time
            table = table[(table.event_type != "notice")
                          & ~((table.event_type == "overtime") & (pd.to_datetime(table.event_date) >= month))]
        if name == "assignments":
            table = table.drop(columns=["household_id", "flag_out_of_home"])
        out[name] = table.sort_values(list(table.columns)).reset_index(drop=True)
    oracle = pd.read_parquet(folder / "oracle" / "oracle_hazard.parquet")
    out["oracle"] = oracle[pd.to_datetime(oracle.week_start) < pd.Timestamp(day)].reset_index(drop=True)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_records_before_the_policy_day_are_those_of_the_sector_without_it(sectors, name):
    without, with_policy = _known_before(sectors["none"], T), _known_before(sectors[name], T)
    for table in without:
        pd.testing.assert_frame_equal(without[table], with_policy[table], obj=table)
    assert len(without["oracle"]) > 0 and len(without["hr_events"]) > 0


def test_policies_change_the_future(sectors):
    later = {name: pd.read_parquet(sectors[name] / "oracle" / "oracle_hazard.parquet").query("week_start >= @T")
             for name in NAMES}
    means = {name: o.hazard_voluntary.mean() for name, o in later.items()}
    assert means["caseload_at_norm"] < means["baseline"]
    assert means["regular_scale_steps"] < means["baseline"]
    assert means["long_funding_contracts"] <= means["baseline"]


def test_with_long_funding_no_tender_is_lost_from_the_policy_day_and_contracts_run_six_years(sectors):
    funding = pd.read_parquet(sectors["long_funding_contracts"] / "exports" / "funding_contracts.parquet")
    drawn = pd.read_parquet(sectors["none"] / "exports" / "funding_contracts.parquet")
    assert len(funding) > len(drawn)  # renewals awarded on the policy day are known before the export
    for _, market in funding.sort_values("start_date").groupby(["municipality", "domain"]):
        after = market[pd.to_datetime(market.awarded_date) >= pd.Timestamp(T)]
        assert len(after) > 0
        before = market[pd.to_datetime(market.start_date) < pd.to_datetime(after.start_date).min()]
        assert (after.organisation_id == before.organisation_id.iloc[-1]).all()  # the holder keeps it
        years = pd.to_datetime(after.end_date).dt.year - pd.to_datetime(after.start_date).dt.year + 1
        assert (years >= SECURE_FUNDING_YEARS).all()
        assert pd.to_datetime(after.awarded_date).min() == pd.Timestamp(T)  # the running contract's renewal
    layout = sector_layout(workers=WORKERS, years=YEARS, seed=SEED, start=START,
                           policy=scenario_policy("long_funding_contracts", T))
    first = (T - START).days // 7
    assert all(tr.end_day < (T - EPOCH).days + 274 for tr in layout.transfers)  # only those decided before T
    assert not layout.insecure[:, first + 1:].any()


def test_a_lost_tender_decided_after_the_policy_day_is_not_lost_under_it():
    """On a sector that loses a tender at the end of 2022 (seed 1, 800 positions), a policy from December 2021,
    before the tender is decided, cancels the transfer of its teams."""
    day = START + timedelta(weeks=100)
    drawn = sector_layout(workers=800, years=3, seed=1, start=START)
    secured = sector_layout(workers=800, years=3, seed=1, start=START, policy=scenario_policy(
        "long_funding_contracts", day))
    policy_day = (day - EPOCH).days
    late = [tr for tr in drawn.transfers if tr.end_day >= policy_day + 274]
    assert late, "the drawn sector should lose a tender after the policy day"
    assert all(tr not in secured.transfers for tr in late)
    assert list(secured.teams.team_id) == list(drawn.teams.team_id)


def _weekly(policy: Policy | None, measure) -> dict[int, float]:
    """Run the simulation of the test sector, measuring each week's workers at risk with `measure(sim, slots, t)`."""
    start_day = (START - EPOCH).days
    layout = sector_layout(workers=WORKERS, years=YEARS, seed=SEED, start=START, policy=policy)
    seen = {}

    def watch(week):
        slots = np.flatnonzero(sim.pos.occupied & np.isin(sim.pos.row, week.rows))
        seen[week.week] = measure(sim, slots, start_day + 7 * week.week)

    sim = Simulation(layout, _streams(SEED)["weekly"], start_day, 52 * YEARS, WORLDS["proportional"],
                     lambda rows: None, policy, watch)
    sim.run()
    return seen


def _highest_caseload_ratio(sim, slots, t):
    counts, _ = sim.caseload.caseload(len(sim.pos.team))
    return float((counts[slots] / (CASELOAD_NORM_PER_FTE * sim.pos.fte[slots])).max())


def _longest_wait_for_a_step(sim, slots, t):
    return float(((t - sim.pos.last_step_day[slots]) / 7).max())


def test_under_the_caseload_policy_no_one_starts_a_week_above_the_norm():
    first = (T - START).days // 7
    without = _weekly(None, _highest_caseload_ratio)
    with_cap = _weekly(scenario_policy("caseload_at_norm", T), _highest_caseload_ratio)
    assert max(without[k] for k in range(first + 1, 52 * YEARS)) > 1.2
    assert max(with_cap[k] for k in range(first + 1, 52 * YEARS)) <= CASELOAD_CAP + 1e-9
    assert [with_cap[k] for k in range(first + 1)] == [without[k] for k in range(first + 1)]


def test_under_the_scale_step_policy_no_one_waits_longer_than_three_years_for_a_step():
    first = (T - START).days // 7
    without = _weekly(None, _longest_wait_for_a_step)
    with_steps = _weekly(scenario_policy("regular_scale_steps", T), _longest_wait_for_a_step)
    assert max(without[k] for k in range(first + 1, 52 * YEARS)) > SCALE_STEP_WEEKS
    assert max(with_steps[k] for k in range(first + 1, 52 * YEARS)) <= SCALE_STEP_WEEKS
    assert [with_steps[k] for k in range(first + 1)] == [without[k] for k in range(first + 1)]


def test_the_cohorts_outflow_is_the_same_workers_in_every_future_and_policies_lower_it():
    results = {name: cohort_outflow(scenario_policy(name, T), (26, 52), workers=WORKERS, years=YEARS, seed=SEED)
               for name in NAMES}
    assert len({r[0].workers for r in results.values()}) == 1
    base = results["baseline"]
    assert 0 < base[0].expected < base[1].expected < base[1].workers
    assert base[1].oracle_expected > 0 and base[1].realised > 0
    assert results["caseload_at_norm"][1].expected < base[1].expected
    assert results["regular_scale_steps"][1].expected < base[1].expected
    another = cohort_outflow(scenario_policy("baseline", T, replicate=1), (26, 52), workers=WORKERS, years=YEARS,
                             seed=SEED)
    assert another[1].expected != base[1].expected and another[1].workers == base[1].workers


def test_each_policy_says_what_its_scenario_says():
    assert set(POLICY_SCENARIOS) == set(scenarios.SCENARIOS)
    assert scenarios.LONG_CONTRACT_MONTHS == 12 * SECURE_FUNDING_YEARS
    assert scenarios.SCALE_STEP_EVERY_WEEKS == SCALE_STEP_WEEKS
    assert CASELOAD_CAP == 1.0 and "caseload_ratio <= 1" in scenarios.SCENARIOS["caseload_at_norm"].description


def test_a_policy_must_start_on_a_monday_inside_the_simulated_weeks(tmp_path):
    with pytest.raises(ValueError, match="Monday"):
        Policy(T + timedelta(days=1))
    with pytest.raises(ValueError, match="inside the simulated weeks"):
        generate_sector(tmp_path, workers=40, years=1, seed=0, start=START,
                        policy=scenario_policy("baseline", START + timedelta(weeks=60)))
