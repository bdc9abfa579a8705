"""The two worlds of the synthetic sector: the default stays as it was, the interactions world is
reproducible, differs, reaches the same leaving, and its hazard has the documented shapes.

The hazard properties are checked on hand-made drivers (no simulation); the sectors are tiny
(150 positions x 2 years) except the outflow comparison (600 x 3, as tests/test_synth.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from continuity.synth import generate_sector, hazard, interactions
from continuity.synth.hazard import Drivers
from continuity.synth.worlds import DEFAULT_WORLD, WORLDS

START = date(2020, 1, 6)
SETTLED, STARTER = 300.0, 52.0  # tenure in weeks: past the starter years, and in the first

# The default world of 150 positions x 2 years, seed 0, as generated before the interactions
# world existed: who was employed and left when (workers.csv) and the oracle's hazards. A change
# here changes every figure measured on the default sector; update only on purpose.
DEFAULT_WORKERS_CSV_SHA256 = "86a3105396df459c5b03985b1a1f6586d3335af8835f2dcfc02df30e337d68e8"
DEFAULT_ORACLE_SHA256 = "bf79a447fd3ece26d64b1d1ceb1b84df392e0431e42639ce763da1242c29bed9"


def _drivers(**given) -> Drivers:
    """A worker exposed to nothing but what is `given` (tenure 300 weeks, age 40, load at the U's bottom)."""
    values = dict(tenure_weeks=SETTLED, age=40, caseload_ratio=interactions.CASELOAD_BEST_RATIO, complex_share=0.0,
                  weeks_since_scale_step=10.0, weeks_since_manager_change=1e6, team_leavers_26w=0,
                  temporary=False, weeks_since_sick=1e6, last_spell_weeks=0, funding_insecure=False) | given
    n = max(np.size(v) for v in values.values())
    return Drivers(**{f.name: np.broadcast_to(np.asarray(values[f.name]), n).copy() for f in fields(Drivers)})


def _hr(world: str, exposed: dict, unexposed: dict, **common) -> np.ndarray:
    """The hazard ratio of `exposed` against `unexposed`, other drivers as in `common`."""
    ratio = WORLDS[world].ratio
    return ratio(_drivers(**common, **exposed)) / ratio(_drivers(**common, **unexposed))


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    runs = {}
    for name, world, seed in (("a", "interactions", 0), ("b", "interactions", 0), ("other_seed", "interactions", 1),
                              ("default", "proportional", 0)):
        runs[name] = tmp_path_factory.mktemp(f"world_{name}")
        generate_sector(runs[name], workers=150, years=2, seed=seed, fmt="csv", start=START, world=world)
    return runs


def test_the_default_world_is_the_sector_it_always_was(tiny):
    exports = tiny["default"] / "exports"
    header, *rows = (exports / "workers.csv").read_text().splitlines(keepends=True)
    assert header.startswith('"worker_id","person_key",')
    # The person key was added to the export after the hash was taken; without it the file is as it was.
    without_person_key = "".join(",".join(line.split(",", 2)[::2]) for line in (header, *rows))
    assert hashlib.sha256(without_person_key.encode()).hexdigest() == DEFAULT_WORKERS_CSV_SHA256
    oracle = pd.read_parquet(tiny["default"] / "oracle" / "oracle_hazard.parquet")
    assert hashlib.sha256(oracle["hazard_voluntary"].to_numpy().tobytes()).hexdigest() == DEFAULT_ORACLE_SHA256
    assert json.loads((tiny["default"] / "sector.json").read_text())["world"] == DEFAULT_WORLD == "proportional"


def test_the_interactions_world_is_reproducible_by_seed_and_differs_from_the_default(tiny):
    a, b, other, default = (_hashes(tiny[k]) for k in ("a", "b", "other_seed", "default"))
    assert a == b
    assert all(a[name] != other[name] for name in a)
    # same layout (organisations, funding contracts), other leavers
    assert a["exports/funding_contracts.csv"] == default["exports/funding_contracts.csv"]
    for name in ("exports/workers.csv", "oracle/oracle_hazard.parquet", "sector.json"):
        assert a[name] != default[name], name
    assert json.loads((tiny["a"] / "sector.json").read_text())["world"] == "interactions"


def test_an_unknown_world_is_refused(tmp_path):
    with pytest.raises(ValueError, match="world must be one of proportional, interactions"):
        generate_sector(tmp_path, workers=20, years=1, world="cubist")


@pytest.mark.parametrize("world", list(WORLDS))
def test_both_worlds_reach_the_same_leaving(world, tmp_path):
    summary = generate_sector(tmp_path, workers=600, years=3, seed=0, start=START, world=world)
    assert 0.18 <= summary.exit_rates["voluntary"] <= 0.25
    assert 0.24 <= summary.organisation_leaving_rate <= 0.32
    assert 0.6 <= summary.voluntary_share <= 0.8
    # the other exits are drawn the same way in both worlds
    assert 0.01 <= summary.exit_rates["involuntary"] <= 0.03


def test_caseload_above_the_norm_weighs_more_on_starters_only_in_the_interactions_world():
    high, best = dict(caseload_ratio=1.3), dict(caseload_ratio=interactions.CASELOAD_BEST_RATIO)
    starter, settled = _hr("interactions", high, best, tenure_weeks=np.array([STARTER, SETTLED]))
    assert starter > 1.5 and 1.0 < settled < 1.35
    assert starter > 1.3 * settled
    default = _hr("proportional", high, best, tenure_weeks=np.array([STARTER, SETTLED]))
    assert list(default) == pytest.approx([hazard.HR_CASELOAD_ABOVE_NORM] * 2)


def test_the_caseload_ratio_acts_as_a_u():
    ratios = np.array([0.3, 0.5, 0.7, interactions.CASELOAD_BEST_RATIO, 1.0, 1.2, 1.5])
    hr = interactions.voluntary_ratio(_drivers(caseload_ratio=ratios))
    bottom = int(np.argmin(hr))
    assert ratios[bottom] == interactions.CASELOAD_BEST_RATIO
    assert np.all(np.diff(hr[:bottom + 1]) < 0) and np.all(np.diff(hr[bottom:]) > 0)
    # a newcomer's low load is the build-up of a caseload, not under-loading
    building = _drivers(tenure_weeks=4.0, caseload_ratio=np.array([0.1, interactions.CASELOAD_BEST_RATIO]))
    assert interactions.voluntary_ratio(building)[0] == pytest.approx(interactions.voluntary_ratio(building)[1])


def test_a_new_managers_effect_wears_off_and_is_larger_in_a_team_losing_people():
    weeks = np.array([0.0, 4.0, 13.0, 26.0, 52.0])
    calm = _hr("interactions", dict(weeks_since_manager_change=weeks), dict(weeks_since_manager_change=1e6))
    turmoil = _hr("interactions", dict(weeks_since_manager_change=weeks), dict(weeks_since_manager_change=1e6),
                  team_leavers_26w=hazard.TEAM_LEAVERS_MIN)
    assert np.all(np.diff(calm) < 0) and np.all(np.diff(turmoil) < 0)
    assert calm[0] > 1.5 and calm[-1] < 1.02
    assert turmoil[0] - calm[0] == pytest.approx(interactions.MANAGER_PEAK_TURMOIL - interactions.MANAGER_PEAK)
    assert np.all(turmoil[:-1] > calm[:-1] + 0.05)
    # the default world steps down at 13 and 26 weeks instead, the same with or without turmoil
    default = _hr("proportional", dict(weeks_since_manager_change=weeks), dict(weeks_since_manager_change=1e6))
    assert list(default) == pytest.approx([hazard.HR_NEW_MANAGER_0_3M] * 3 + [hazard.HR_NEW_MANAGER_4_6M, 1.0])


@pytest.mark.parametrize("exposure", ["funding_insecure", "temporary"])
def test_insecurity_weighs_most_on_newcomers_and_fades_with_tenure(exposure):
    tenure = np.array([14.0, 52.0, 104.0, 260.0, 520.0])
    hr = _hr("interactions", {exposure: True}, {exposure: False}, tenure_weeks=tenure)
    assert np.all(np.diff(hr) < 0)
    assert hr[0] > 1.5 and hr[-1] < 1.1
    default = _hr("proportional", {exposure: True}, {exposure: False}, tenure_weeks=tenure)
    assert np.ptp(default) == pytest.approx(0.0)


def test_the_interactions_ratio_is_capped_like_the_default():
    worst = _drivers(tenure_weeks=STARTER, age=22, caseload_ratio=1.8, complex_share=1.0,
                     weeks_since_manager_change=0.0, team_leavers_26w=5, temporary=True, weeks_since_sick=1,
                     last_spell_weeks=10, funding_insecure=True)
    assert interactions.voluntary_ratio(worst)[0] == hazard.HR_CAP


def test_the_command_line_offers_exactly_the_worlds_there_are():
    from continuity.cli import SynthWorld

    assert [w.value for w in SynthWorld] == list(WORLDS)


def test_the_quality_benchmark_keeps_a_sector_per_world(tmp_path, monkeypatch):
    import continuity.synth.generate
    from continuity.benchmarks.quality import _bench_frames
    from continuity.config import Settings

    built = []

    def record(out_dir, **kwargs):
        built.append((out_dir, kwargs["world"]))
        raise LookupError("stop after recording")

    monkeypatch.setattr(continuity.synth.generate, "generate_sector", record)
    for world in WORLDS:
        with pytest.raises(LookupError):
            _bench_frames(Settings(home=tmp_path), world)
    assert built == [(tmp_path / "bench" / w / "sector", w) for w in WORLDS]
