"""The snapshot's feature columns, with the words a manager reads in an explanation.

Models import this list so that training, scoring and explanation always agree on
the columns; protected attributes are carried in snapshots for the fairness audit
but are not model features by default (docs/definitions.md#protected-attributes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    label: str  # plain words for a manager; "high"/"low" is added by the explainer
    protected: bool = False
    categorical: bool = False


FEATURES: tuple[Feature, ...] = (
    Feature("tenure_weeks", "time in the organisation"),
    Feature("age_band", "age band", protected=True, categorical=True),
    Feature("gender", "gender", protected=True, categorical=True),
    Feature("occupation", "occupation", categorical=True),
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
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
MODEL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if not f.protected)
BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
