"""The snapshot's feature columns, with the words a manager reads in an explanation.

Models import this list so that training, scoring and explanation always agree on
the columns; protected attributes are carried in snapshots for the fairness audit
but are not model features by default (docs/definitions.md#protected-attributes).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from continuity.features.contract import OTHER_LABEL
from continuity.vocabulary import OCCUPATIONS


@dataclass(frozen=True)
class Threshold:
    """A yes/no feature read off another feature at the threshold where the evidence puts a step in the hazard.

    Steps ("a new manager in the last 13 weeks", "caseload above the norm") are what the
    sector's research names; as raw numbers (weeks since the change) a model spreads them
    over correlates, and explanations then name the correlate instead of the cause. Derived
    by the models from the snapshot column, never stored, so a scenario that changes the
    column changes the indicator with it.
    """

    source: str
    compare: Callable[[object, object], object]  # operator.gt, ge, lt or le
    value: float

    def of(self, values):
        """1.0 where the worker is exposed, else 0.0 (a missing value is not exposed)."""
        return self.compare(values, self.value).astype("float64")


@dataclass(frozen=True)
class Feature:
    name: str
    label: str  # plain words for a manager; "high"/"low" is added by the explainer
    protected: bool = False
    categorical: bool = False
    derived: Threshold | None = None  # an indicator the models compute from another feature
    # The categories a model may learn, where the export's vocabulary is open (contract.OPEN_LABELS): any
    # other label is grouped as OTHER_LABEL, so one organisation's own job titles share one effect and a
    # title first seen at scoring time meets a category the model knows.
    categories: tuple[str, ...] | None = None

    def grouped(self, values):
        """``values`` (text) with every label outside ``categories`` as OTHER_LABEL; missing stays missing."""
        if self.categories is None:
            return values
        return values.where(values.isna() | values.isin(self.categories), OTHER_LABEL)


FEATURES: tuple[Feature, ...] = (
    Feature("tenure_weeks", "time in the organisation"),
    Feature("age_band", "age band", protected=True, categorical=True),
    Feature("gender", "gender", protected=True, categorical=True),
    Feature("occupation", "occupation", categorical=True, categories=OCCUPATIONS),
    Feature("is_temporary", "temporary or flex contract"),
    Feature("weeks_to_contract_end", "weeks until the temporary contract ends"),
    Feature("fte", "working hours (fte)"),
    Feature("pay_scale", "pay scale"),
    Feature("caseload", "number of clients"),
    Feature("caseload_ratio", "caseload relative to the norm (12 per fte)"),
    Feature("mean_complexity", "average complexity of the cases"),
    Feature("complex_share_starter", "share of complex cases while under 2 years in service"),
    Feature("vulnerable_clients", "number of vulnerable clients"),
    Feature("sick_weeks_13w", "weeks of sick leave in the last 13 weeks"),
    Feature("sick_weeks_52w", "weeks of sick leave in the last 52 weeks"),
    Feature("sick_spells_52w", "sick-leave spells in the last 52 weeks"),
    Feature("overtime_hours_13w", "overtime hours in the last 13 weeks"),
    Feature("weeks_since_scale_step", "time since the last pay-scale step"),
    Feature("weeks_since_manager_change", "time since the manager changed"),
    Feature("manager_changes_52w", "manager changes in the last year"),
    Feature("team_moves_52w", "team moves in the last year"),
    Feature("team_leavers_26w", "colleagues in the team who left in the last 26 weeks"),
    Feature("months_to_funding_end", "months until the municipal funding contract ends"),
    Feature("lost_tender", "the organisation lost a tender"),
    # Indicators at the steps of docs/evidence.md#hazard-ratios-per-driver.
    Feature("manager_changed_13w", "a new manager in the last 13 weeks",
            derived=Threshold("weeks_since_manager_change", operator.le, 13)),
    Feature("manager_changed_26w", "a new manager in the last 26 weeks",
            derived=Threshold("weeks_since_manager_change", operator.le, 26)),
    Feature("caseload_above_norm", "caseload above the norm (12 per fte)",
            derived=Threshold("caseload_ratio", operator.gt, 1.0)),
    Feature("scale_step_overdue", "no pay-scale step for over 3 years",
            derived=Threshold("weeks_since_scale_step", operator.gt, 156)),
    Feature("sick_leave_13w", "sick leave in the last 13 weeks", derived=Threshold("sick_weeks_13w", operator.gt, 0)),
    Feature("sick_long_13w", "over 6 weeks of sick leave in the last 13 weeks",
            derived=Threshold("sick_weeks_13w", operator.gt, 6)),
    Feature("team_leavers_2plus", "2 or more colleagues left the team in the last 26 weeks",
            derived=Threshold("team_leavers_26w", operator.ge, 2)),
    Feature("funding_ends_6m", "the funding contract ends within 6 months",
            derived=Threshold("months_to_funding_end", operator.le, 6)),
    Feature("starter_complex_cases", "at least half complex cases while under 2 years in service",
            derived=Threshold("complex_share_starter", operator.ge, 0.5)),
    # Tenure's hazard is no straight line (it peaks in years 1-2): bands from cumulative steps.
    Feature("tenure_under_13w", "under 13 weeks in the organisation", derived=Threshold("tenure_weeks", operator.lt, 13)),
    Feature("starter", "under 2 years in the organisation", derived=Threshold("tenure_weeks", operator.lt, 104)),
    Feature("tenure_under_5y", "under 5 years in the organisation", derived=Threshold("tenure_weeks", operator.lt, 260)),
    Feature("tenure_under_10y", "under 10 years in the organisation",
            derived=Threshold("tenure_weeks", operator.lt, 520)),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
MODEL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if not f.protected)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
# The features a snapshot records; the derived ones are computed from these by the models.
RECORDED_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.derived is None)
DERIVED: dict[str, Threshold] = {f.name: f.derived for f in FEATURES if f.derived is not None}
# Never a model input, under any name a file may give them: the audit groups by them instead.
PROTECTED: frozenset[str] = frozenset({f.name for f in FEATURES if f.protected} | {"age", "birth_year"})
# Sickness absence is health data (GDPR art. 9): inputs only where CONTINUITY_HEALTH_FEATURES allows.
HEALTH_FEATURES: tuple[str, ...] = tuple(name for name in FEATURE_NAMES if name.startswith("sick_"))


def model_features(health: bool = True) -> tuple[str, ...]:
    """The model inputs, with or without the sick-leave features (`Settings.health_inputs`)."""
    return MODEL_FEATURES if health else tuple(f for f in MODEL_FEATURES if f not in HEALTH_FEATURES)


def in_words(names: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    """The named features with their labels: the model's inputs as the week publishes them, so that
    a worker's own view can say in words which data was used (``published.MODEL_INPUTS``)."""
    return [{"feature": name, "label": BY_NAME[name].label} for name in names]
