"""A worker's drivers: sentences with their own figure and a reference, each with its hazard ratio.

Both forecasters explain on the log-hazard scale against the model's *reference worker*:
for the Cox model the training means (its log hazard is centred there), for gradient
boosting XGBoost's expected margin over the training rows (the bias of its own
per-feature contributions). Contributions are summed per driver, the way a manager
thinks of them (caseload, caseload ratio and "caseload above the norm" are one driver),
so exp(sum) is the driver's hazard ratio and the ratios of all drivers multiply to the
worker's relative hazard exp(f(x) - f(reference)).

A worker is shown the three strongest drivers the organisation can act on and up to two
others, each changing the hazard by at least ``MATERIAL``; everything not shown is one
"other factors" ratio, so the shown ratios times the other factors equal the relative
hazard exactly. Sick leave is health data (GDPR art. 9): its driver says so (``health``),
and the service shows it only to hr and to the worker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from continuity.features.feature_spec import BY_NAME
from continuity.models.encoding import FeatureEncoder
from continuity.vocabulary import CASELOAD_NORM_PER_FTE

# A driver that moves the hazard by less than 5% either way is folded into "other factors".
MATERIAL = 1.05
WEEKS_CAP = 520  # features/snapshot_sql.py: "weeks since" an event that never happened
FUNDING_MONTHS_CAP = 120

Words = Callable[[Mapping[str, object], Mapping[str, object]], str]


@dataclass(frozen=True)
class DriverSpec:
    """One driver: the features whose contributions it sums, and how to say it (row, reference) -> words."""

    name: str
    features: tuple[str, ...]
    actionable: bool  # whether the organisation can act on it
    words: Words
    health: bool = False


@dataclass(frozen=True)
class Explanation:
    """One worker's shown drivers, strongest actionable first, and the ratio of everything not shown."""

    drivers: list[dict]
    other_factors: float
    relative_hazard: float


def _duration(weeks: float) -> str:
    if weeks < 9:
        return f"{weeks:.0f} week{'s' if round(weeks) != 1 else ''}"
    if weeks < 104:
        return f"{weeks / (365.25 / 7 / 12):.0f} months"
    return f"{weeks / (365.25 / 7):.1f} years"


def _count(n: float, thing: str) -> str:
    return f"{n:.0f} {thing}{'' if round(n) == 1 else 's'}"


def _caseload(row, ref) -> str:
    ratio, norm = float(row["caseload_ratio"]), f"the norm of {CASELOAD_NORM_PER_FTE:g} per fte"
    own = f"({_count(float(row['caseload']), 'client')} at {float(row['fte']):g} fte)"
    if math.isclose(ratio, 1.0):
        return f"caseload at {norm} {own}"
    side = "above" if ratio > 1 else "below"
    return f"caseload {abs(ratio - 1):.0%} {side} {norm} {own}"


def _scale_step(row, ref) -> str:
    weeks = float(row["weeks_since_scale_step"])
    mark = "over" if weeks > 156 else "within"
    return f"no pay-scale step for {_duration(weeks)} ({mark} the 3 years after which it weighs)"


def _manager(row, ref) -> str:
    weeks, changes = float(row["weeks_since_manager_change"]), float(row["manager_changes_52w"])
    if weeks >= WEEKS_CAP:
        return "no change of manager on record"
    window = "the first 13 weeks weigh most" if weeks <= 13 else "the first 26 weeks weigh"
    said = f"a new manager {_duration(weeks)} ago ({window})" if weeks <= 26 else \
        f"the manager changed {_duration(weeks)} ago (after the 26 weeks that weigh)"
    return said + (f"; {_count(changes, 'change')} of manager in the last year" if changes > 1 else "")


def _contract(row, ref) -> str:
    if not row["is_temporary"]:
        return "a permanent contract"
    weeks = float(row["weeks_to_contract_end"])
    return "a temporary contract" + ("" if weeks >= WEEKS_CAP else f" that ends in {_duration(weeks)}")


def _sick_leave(row, ref) -> str:
    recent, year = float(row["sick_weeks_13w"]), float(row["sick_weeks_52w"])
    if recent > 0:
        return f"{recent:.1f} weeks of sick leave in the last 13 weeks ({year:.1f} in the last year)"
    return "no sick leave in the last 13 weeks" + (f" ({year:.1f} weeks in the last year)" if year > 0 else "")


def _funding(row, ref) -> str:
    months = float(row["months_to_funding_end"])
    if math.isnan(months) or months >= FUNDING_MONTHS_CAP:
        said = "no end of the funding contract known"
    elif months <= 0:
        said = "no running funding contract"
    else:
        said = f"the funding contract ends in {months:.0f} months ({'within' if months <= 6 else 'beyond'} the 6 that weigh)"
    return said + ("; the organisation lost a tender" if row["lost_tender"] else "")


def _team_leavers(row, ref) -> str:
    n = float(row["team_leavers_26w"])
    return f"{_count(n, 'colleague')} left the team in the last 26 weeks (2 or more weigh)"


def _tenure(row, ref) -> str:
    return f"{_duration(float(row['tenure_weeks']))} in the organisation (leaving peaks in the first 2 years)"


def _starter_complexity(row, ref) -> str:
    if float(row["tenure_weeks"]) >= 104:
        return "past the first 2 years of service, when complex cases weigh most"
    return f"{float(row['complex_share_starter']):.0%} complex cases in the first 2 years of service (half or more weighs)"


def _against_average(feature: str, template: str) -> Words:
    """Words from a template of the worker's figure ({0}) and the training average ({1})."""
    return lambda row, ref: template.format(float(row[feature]), float(ref[feature]))


DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("caseload", ("caseload", "caseload_ratio", "caseload_above_norm"), True, _caseload),
    DriverSpec("scale_step", ("weeks_since_scale_step", "scale_step_overdue"), True, _scale_step),
    DriverSpec("manager", ("weeks_since_manager_change", "manager_changes_52w", "manager_changed_13w",
                           "manager_changed_26w"), True, _manager),
    DriverSpec("contract", ("is_temporary", "weeks_to_contract_end"), True, _contract),
    DriverSpec("starter_complexity", ("complex_share_starter", "starter_complex_cases"), True, _starter_complexity),
    DriverSpec("overtime", ("overtime_hours_13w",), True,
               _against_average("overtime_hours_13w", "{0:.0f} overtime hours in the last 13 weeks (average {1:.0f})")),
    DriverSpec("complexity", ("mean_complexity",), True, _against_average("mean_complexity", "case complexity {0:.1f} (average {1:.1f})")),
    DriverSpec("vulnerable_clients", ("vulnerable_clients",), True,
               _against_average("vulnerable_clients", "{0:.0f} vulnerable clients (average {1:.1f})")),
    DriverSpec("team_moves", ("team_moves_52w",), True,
               _against_average("team_moves_52w", "{0:.0f} team moves in the last year (average {1:.2f})")),
    DriverSpec("sick_leave", ("sick_weeks_13w", "sick_weeks_52w", "sick_spells_52w", "sick_leave_13w", "sick_long_13w"),
               False, _sick_leave, health=True),
    DriverSpec("funding", ("months_to_funding_end", "lost_tender", "funding_ends_6m"), False, _funding),
    DriverSpec("team_leavers", ("team_leavers_26w", "team_leavers_2plus"), False, _team_leavers),
    DriverSpec("tenure", ("tenure_weeks", "tenure_under_13w", "starter", "tenure_under_5y", "tenure_under_10y"),
               False, _tenure),
    DriverSpec("fte", ("fte",), False, _against_average("fte", "working {0:.2f} fte (average {1:.2f})")),
    DriverSpec("pay_scale", ("pay_scale",), False, _against_average("pay_scale", "pay scale {0:.0f} (average {1:.1f})")),
    DriverSpec("occupation", ("occupation",), False, lambda row, ref: f"occupation {row['occupation']}" + (
        " (the most common)" if row["occupation"] == ref["occupation"] else f" (most common: {ref['occupation']})")),
)
BY_DRIVER: dict[str, DriverSpec] = {d.name: d for d in DRIVERS}
HEALTH_FEATURES: frozenset[str] = frozenset(f for d in DRIVERS if d.health for f in d.features)


def describe(feature: str, value: object, encoder: FeatureEncoder) -> str:
    """A feature outside the drivers above (any HR file's column): its label with the worker's side of it."""
    label = BY_NAME[feature].label if feature in BY_NAME else feature
    if feature in encoder.categorical:
        return f"{label}: {value}"
    if pd.isna(value):
        return f"{label}: not recorded"
    if feature in encoder.binary_:
        return f"{label}: {'yes' if value else 'no'}"
    return f"{label}: {value:.3g} (average {encoder.reference_[feature]:.3g})"


def driver_specs(features: list[str], encoder: FeatureEncoder) -> list[DriverSpec]:
    """The drivers a model with these features has: the known ones whose features it all has, and one
    driver per remaining feature, worded generically (not actionable: nothing says so)."""
    present = set(features)
    specs = [d for d in DRIVERS if set(d.features) <= present]
    covered = {f for d in specs for f in d.features}
    return specs + [
        DriverSpec(f, (f,), False, lambda row, ref, f=f: describe(f, row[f], encoder), health=f in HEALTH_FEATURES)
        for f in features if f not in covered
    ]


def explain_rows(
    contributions: pd.DataFrame, log_relative_hazard: np.ndarray, raw: pd.DataFrame, encoder: FeatureEncoder,
    actionable: int = 3, others: int = 2,
) -> list[Explanation]:
    """Per row: the `actionable` strongest actionable drivers and `others` strongest other ones, each material.

    `contributions` (rows x features) are log-hazard contributions against the reference
    worker and `log_relative_hazard` is f(x) - f(reference) as the model computes it; the
    difference between it and the contributions' sum (floating-point, in XGBoost's single
    precision) goes to the other factors, so the published product is exact.
    """
    specs = driver_specs(list(contributions.columns), encoder)
    summed = np.column_stack([contributions[list(s.features)].to_numpy(dtype="float64").sum(axis=1) for s in specs])
    material = np.abs(summed) >= math.log(MATERIAL)
    reference = encoder.reference_.to_dict()
    records = raw.to_dict("records")
    explanations = []
    for i, row in enumerate(records):
        order = np.argsort(-np.abs(summed[i]), kind="stable")
        chosen = [j for j in order if material[i, j] and specs[j].actionable][:actionable] + \
                 [j for j in order if material[i, j] and not specs[j].actionable][:others]
        drivers = [_driver(specs[j], float(summed[i, j]), row, reference) for j in chosen]
        shown = sum(float(summed[i, j]) for j in chosen)
        explanations.append(Explanation(
            drivers=drivers,
            other_factors=math.exp(float(log_relative_hazard[i]) - shown),
            relative_hazard=math.exp(float(log_relative_hazard[i])),
        ))
    return explanations


def _driver(spec: DriverSpec, contribution: float, row: Mapping, reference: Mapping) -> dict:
    return {
        "feature": spec.name,
        "label": spec.words(row, reference),
        "direction": "raises" if contribution > 0 else "lowers",
        "contribution": contribution,
        "hazard_ratio": math.exp(contribution),
        "actionable": spec.actionable,
        "health": spec.health,
    }
