"""The suppression search's shortcuts against the brute force they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from continuity.forecasts.suppression import _Count, atoms

GROUPINGS = ["region", "organisation_id", "domain", "occupation"]
SCOPES = ["organisation_id", "team_id"]


def workers(seed: int, n: int = 300) -> pd.DataFrame:
    """A sector of six organisations in eight regions, where a few regions, domains or occupations are rare."""
    rng = np.random.default_rng(seed)
    organisation = rng.integers(0, 6, n)
    return pd.DataFrame({"region": [f"R{(o * 3 + r) % 8}" for o, r in zip(organisation, rng.integers(0, 2, n))],
                         "organisation_id": [f"O{o}" for o in organisation],
                         "domain": [f"D{d}" for d in rng.integers(0, 3, n)],
                         "occupation": [f"X{x}" for x in rng.integers(0, 4, n)],
                         "team_id": [f"T{o}-{t}" for o, t in zip(organisation, rng.integers(0, 4, n))]})


def with_rare_cells(seed: int) -> pd.DataFrame:
    frame = workers(seed)
    region, occupation = frame.sample(6, random_state=seed), frame.sample(6, random_state=seed + 100)
    return pd.concat([frame, region.assign(region="R9"), occupation.assign(occupation="X9")], ignore_index=True)


def count_of(frame: pd.DataFrame) -> tuple[_Count, list[tuple[str, str]]]:
    cells = [(g, key) for g in GROUPINGS for key in sorted(frame[g].unique())]
    counted = atoms(frame, None, list(dict.fromkeys([*GROUPINGS, *SCOPES])))
    people = counted.workers.to_numpy(float)
    return _Count.of(counted, cells, SCOPES, people, people, 10), cells


@pytest.mark.parametrize("seed", range(6))
def test_the_cell_breaking_an_exposure_is_the_first_whose_hiding_leaves_it_uncomputable(seed):
    count, cells = count_of(with_rare_cells(seed))
    hidden = count.small(np.eye(len(cells)))  # rule 1 alone: small cells, which sums and differences still reveal
    checked = 0
    while (exposure := count.exposed(hidden)) is not None:
        reader, target = exposure
        candidates = [i for i in np.argsort(count.sizes, kind="stable") if not hidden[i]]
        if not candidates:
            break
        brute = next((c for c in candidates if count.exposed(hidden | (np.arange(len(cells)) == c), [reader],
                                                             [target]) is None), None)
        assert count.breaking(hidden, reader, target, candidates) == brute
        checked += 1
        hidden = hidden | (np.arange(len(cells)) == (candidates[0] if brute is None else brute))
    assert checked >= 2, "several exposures in a row, as the search meets them"


def test_an_insiders_own_columns_are_the_signatures_all_within_their_scope():
    frame = pd.DataFrame({"region": ["R1"] * 12 + ["R2"] * 12, "organisation_id": ["A"] * 12 + ["A"] * 6 + ["B"] * 6,
                          "domain": "D", "occupation": "X",
                          "team_id": ["A1"] * 12 + ["A2"] * 6 + ["B1"] * 6})
    count, _ = count_of(frame)
    # signatures: (R1, A) all in team A1; (R2, A) all in team A2; (R2, B) all in team B1. Readers: A, B, A1, A2, B1
    assert [len(own) for own in count.own] == [2, 1, 1, 1, 1]
    assert count.sets.shape[1] == 3, "one column per signature, not per atom"
