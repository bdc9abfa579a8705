"""Policies the synthetic sector can be re-simulated under, from a given day: the truth for the scenarios.

`continuity.forecasts.scenarios` answers "what if" from a model that learnt associations. On the
synthetic sector the question has a true answer: simulate the same sector again from the same seed
with the policy in force from day T and compare the outflow. Each policy here is one of the scenarios,
saying the same thing (the constants agree with the scenario's, which a test checks; ``synth`` cannot
import ``forecasts``, which sits downstream).

Everything the simulation records before T is as in the sector generated without a policy: the layout's
draws are made as before and only the decisions from T on change. The policy acts during the week starting at
T, which still draws as without it, so that week's hazards are those of the old state (what the records dated
before T say) and the new state counts from T + 7. From then on the weekly simulation draws from *aligned*
streams, one per week and job, the leaving draw one per position, so that two futures under different
policies differ by the policy and as little as possible by chance. A run with a policy that changes nothing
(`Policy(from_day)`) is the baseline those futures are compared with: the same history, the same draws after T.
Not kept: what `generate_sector` draws afterwards over the whole history (contacts, households, placements,
notices), and the overtime of T's own month, dated on the month's first day but drawn at its end.
A loss of a tender decided before T still happens under the funding policy (it is on the record before T),
where the scenario sets every `lost_tender` to 0; the bench sector loses no tender after its origins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

# The scenario's figures (continuity.forecasts.scenarios): a contract of at least 6 years, a caseload no
# higher than the norm, a pay-scale step at least every 156 weeks (3 years).
SECURE_FUNDING_YEARS = 6
CASELOAD_CAP = 1.0
SCALE_STEP_WEEKS = 156


@dataclass(frozen=True)
class Policy:
    """What changes from `from_day` (a Monday) on; a policy with nothing set is the baseline future."""

    from_day: date
    # every funding contract awarded from then on goes to the market's holder for at least this many years, and
    # each running contract's renewal is awarded on `from_day`: no tender is lost, no contract nears its end unrenewed
    secure_funding_years: int | None = None
    # no worker holds more open primary cases than this multiple of the norm for their fte (1.0: the norm)
    caseload_cap: float | None = None
    # nobody goes longer than this without a pay-scale step: one is given, at the top of the scale too
    scale_step_weeks: int | None = None
    replicate: int = 0  # which of the aligned futures after `from_day`: the same history, other draws

    def __post_init__(self) -> None:
        if self.from_day.weekday() != 0:
            raise ValueError(f"a policy starts on a Monday, got {self.from_day:%A} {self.from_day}")


def scenario_policy(scenario: str, from_day: date, replicate: int = 0) -> Policy:
    """The policy that is the truth of the scenario of that name; `"baseline"` changes nothing."""
    changes = {
        "baseline": {},
        "long_funding_contracts": {"secure_funding_years": SECURE_FUNDING_YEARS},
        "caseload_at_norm": {"caseload_cap": CASELOAD_CAP},
        "regular_scale_steps": {"scale_step_weeks": SCALE_STEP_WEEKS},
    }
    if scenario not in changes:
        raise ValueError(f"no policy for scenario {scenario!r}; one of {', '.join(changes)}")
    return replace(Policy(from_day, replicate=replicate), **changes[scenario])


POLICY_SCENARIOS = ("long_funding_contracts", "caseload_at_norm", "regular_scale_steps")
