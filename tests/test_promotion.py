"""The champion gate on metric dicts: rank and calibration, missing figures handled on purpose."""

from __future__ import annotations

import math

import pytest

from continuity.models.promotion import promotion_allowed

CURRENT = {"c_index": 0.64, "ece_26w": 0.015}


def test_a_first_model_is_always_promoted():
    assert promotion_allowed({"c_index": 0.5, "ece_26w": 0.3}, None)


@pytest.mark.parametrize(("candidate", "allowed"), [
    ({"c_index": 0.64, "ece_26w": 0.015}, True),   # equal: a refit may replace
    ({"c_index": 0.66, "ece_26w": 0.010}, True),
    ({"c_index": 0.66, "ece_26w": 0.020}, False),  # ranks better, states sizes worse
    ({"c_index": 0.63, "ece_26w": 0.010}, False),  # states sizes better, ranks worse
    ({"c_index": 0.66, "ece_26w": math.nan}, False),  # calibration unknown cannot beat a known one
    ({"c_index": 0.66}, False),
])
def test_the_candidate_must_be_no_worse_in_rank_and_size(candidate, allowed):
    assert promotion_allowed(candidate, CURRENT) is allowed


def test_a_figure_the_incumbent_lacks_does_not_block():
    assert promotion_allowed({"c_index": 0.65, "ece_26w": 0.05}, {"c_index": 0.64, "ece_26w": math.nan})
    assert not promotion_allowed({"c_index": 0.63, "ece_26w": 0.01}, {"c_index": 0.64, "ece_26w": math.nan})


def test_the_horizon_picks_the_calibration_figure():
    candidate = {"c_index": 0.65, "ece_13w": 0.01, "ece_26w": 0.05}
    incumbent = {"c_index": 0.64, "ece_13w": 0.02, "ece_26w": 0.02}
    assert promotion_allowed(candidate, incumbent, horizon=13)
    assert not promotion_allowed(candidate, incumbent, horizon=26)
