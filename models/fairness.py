"""The fairness audit: how well a model's forecasts hold for each group of workers, on weeks it never saw.

Per horizon (13, 26, 52 weeks) and per group of gender, age band, contract type
and occupation: how many people and leavers, Harrell's C, the ROC AUC, observed
over expected leavers, and the weekly top-decile list's flag rate, recall and
false-flag rate. Every figure has the definition of `continuity.models.metrics`
(a row's status at h is known or it does not count; another exit is a "no"; the
list is each week's top 10% by the horizon's probability), so a group's figure
and the whole population's figure are the same number on fewer rows.

A worker appears in every weekly row they were active in, so rows are not
independent: the 90% intervals resample workers, not rows (a cluster bootstrap
with Poisson weights, every replicate at once as one matrix product). `n` and
`leavers` count people. A group with fewer than `MIN_LEAVERS` leavers is
`insufficient`: reported, never judged. A sufficient group whose O/E interval
lies wholly outside `OE_BAND` is `unreliable`: the model misstates its sizes, so
its members' published probabilities are withheld.

Protected attributes are audited, never used: `proxy_check` says how well the
model's inputs predict each of them anyway (a cross-validated logistic model's
AUC), because a model without gender can still learn it from correlates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from continuity.horizons import HORIZONS, horizons_in, risk_column
from continuity.models.encoding import FeatureEncoder
from continuity.models.metrics import held_out_outcomes, horizon_status, top_share_flags

ATTRIBUTES = ("gender", "age_band", "contract_type", "occupation")
PROTECTED_ATTRIBUTES = ("gender", "age_band")  # those the snapshots carry; never model inputs
MIN_LEAVERS = 20
OE_BAND = (0.8, 1.25)
N_BOOT = 200
INTERVAL = 0.90
OK, INSUFFICIENT, UNRELIABLE = "ok", "insufficient", "unreliable"
COLUMNS = ("attribute", "group", "horizon", "n", "leavers", "c_index", "auc", "auc_low", "auc_high",
           "observed_expected", "oe_low", "oe_high", "flag_rate", "recall", "false_flag_rate", "status")
FAIRNESS_FILE = "fairness.json"
LEVELS = 1000  # score levels of the bootstrap's AUC


def audit_groups(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Each snapshot row's group per audited attribute (contract type as the snapshot knows it)."""
    return pd.DataFrame({
        "gender": snapshots["gender"].astype(str),
        "age_band": snapshots["age_band"].astype(str),
        "contract_type": np.where(snapshots["is_temporary"].astype(bool), "temporary or flex", "permanent"),
        "occupation": snapshots["occupation"].astype(str),
    }, index=snapshots.index)


def audit_forecaster(forecaster, snapshots: pd.DataFrame, labels: pd.DataFrame,
                     horizons: Sequence[int] = HORIZONS, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """The audit of a fitted forecaster on held-out snapshot rows followed as far as the labels reach."""
    return fairness_audit(held_out_outcomes(snapshots, labels), forecaster.predict_risk(snapshots, horizons),
                          audit_groups(snapshots), snapshots["worker_id"], n_boot, seed)


def fairness_audit(outcomes: pd.DataFrame, risk: pd.DataFrame, groups: pd.DataFrame, people: pd.Series,
                   n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """One row per (attribute, group, horizon): `COLUMNS`; a horizon nobody's status is known at is left out.

    `outcomes` as in `models.metrics`, `risk` with a `p_<h>w` column per horizon,
    `groups` one column per attribute and `people` the person of each row (the
    bootstrap's unit), all on the same index. The C-index ranks on the longest
    horizon's risk over all rows, as `models.metrics.concordance` does.
    """
    person = pd.factorize(people.to_numpy())[0]
    replicates = np.random.default_rng(seed).poisson(1.0, size=(n_boot, person.max() + 1)).astype(float)
    horizons = horizons_in(risk.columns)
    c_index = {attribute: _harrell_by_group(outcomes, risk[risk_column(max(horizons))], groups[attribute])
               for attribute in groups.columns}
    parts = []
    for h in horizons:
        known, left = horizon_status(outcomes, h)
        if not known.any():  # held-out weeks too recent to know anyone's status at h
            continue
        rows = pd.DataFrame({"person": person, "left": left.to_numpy(), "p": risk[risk_column(h)].to_numpy(),
                             "flagged": top_share_flags(risk[risk_column(h)], outcomes["snapshot_date"]).to_numpy()}
                            )[known.to_numpy()]
        for attribute in groups.columns:
            by_group = rows.groupby(groups[attribute].to_numpy()[known.to_numpy()])
            table = by_group.apply(_point_figures, include_groups=False)
            table[["auc_low", "auc_high", "oe_low", "oe_high"]] = [_intervals(replicates, g) for _, g in by_group]
            parts.append(table.join(c_index[attribute]).reset_index(names="group").assign(attribute=attribute,
                                                                                         horizon=h))
    audit = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(COLUMNS))
    audit[["n", "leavers"]] = audit[["n", "leavers"]].astype(int)
    audit["status"] = _status(audit)
    return audit[list(COLUMNS)]


def _point_figures(rows: pd.DataFrame) -> pd.Series:
    """One group's people, leavers and figures at one horizon (`rows`: person, left, p, flagged)."""
    left, flagged = rows["left"].to_numpy(bool), rows["flagged"].to_numpy(bool)
    return pd.Series({
        "n": rows["person"].nunique(),
        "leavers": rows.loc[left, "person"].nunique(),
        "auc": roc_auc_score(left, rows["p"]) if 0 < left.sum() < len(left) else np.nan,
        "observed_expected": left.sum() / rows["p"].sum(),
        "flag_rate": flagged.mean(),
        "recall": flagged[left].mean() if left.any() else np.nan,
        "false_flag_rate": flagged[~left].mean() if (~left).any() else np.nan,
    })


def _intervals(replicates: np.ndarray, rows: pd.DataFrame) -> tuple[float, float, float, float]:
    """(AUC low, high, O/E low, high): the central `INTERVAL` of the replicates (person weights, one row each).

    Each replicate reweights whole people, so a group's figure is recomputed from
    per-person sums: of leaving and predicted incidence for O/E, and of leavers
    and stayers per score level for the AUC. The levels are the group's score
    quantiles (`LEVELS`), which leaves the AUC within about 1/LEVELS of the exact one.
    """
    people, person = np.unique(rows["person"].to_numpy(), return_inverse=True)
    left, p = rows["left"].to_numpy(float), rows["p"].to_numpy()
    cuts = np.unique(np.quantile(p, np.linspace(0, 1, LEVELS + 1)[1:-1]))
    level = np.searchsorted(cuts, p, side="right")
    shape = (len(people), len(cuts) + 1)
    leavers = sparse.csr_matrix((left, (person, level)), shape=shape)
    stayers = sparse.csr_matrix((1 - left, (person, level)), shape=shape)
    weights = replicates[:, people]
    with np.errstate(invalid="ignore", divide="ignore"):  # a replicate that drew nobody of a small group
        oe = (weights @ np.bincount(person, left, len(people))) / (weights @ np.bincount(person, p, len(people)))
    auc = weighted_auc((leavers.T @ weights.T).T, (stayers.T @ weights.T).T)
    tail = (1 - INTERVAL) / 2
    return (*_quantiles(auc, tail), *_quantiles(oe, tail))


def weighted_auc(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """ROC AUC per row from the (weighted) leavers and stayers at each score level, levels ascending.

    The Mann-Whitney form: the share of (leaver, stayer) pairs the score orders
    right, a tie counting half; with every row its own level and unit weights it is `roc_auc_score`.
    """
    below = np.cumsum(negative, axis=1) - negative
    pairs = positive.sum(axis=1) * negative.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positive * (below + 0.5 * negative)).sum(axis=1) / pairs


def _quantiles(values: np.ndarray, tail: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return np.nan, np.nan
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def _harrell_by_group(outcomes: pd.DataFrame, risk: pd.Series, group: pd.Series) -> pd.Series:
    """Harrell's C per group over all its rows (lifelines, as `models.metrics.concordance`)."""
    def harrell(rows: pd.Index) -> float:
        event = outcomes.loc[rows, "event"]
        if not event.any():
            return np.nan
        return float(concordance_index(outcomes.loc[rows, "duration"], -risk[rows].to_numpy(), event))

    return pd.Series({name: harrell(rows) for name, rows in group.groupby(group).groups.items()}, name="c_index")


def _status(audit: pd.DataFrame) -> pd.Series:
    low, high = OE_BAND
    outside = (audit["oe_low"] > high) | (audit["oe_high"] < low)
    return pd.Series(np.select([audit["leavers"] < MIN_LEAVERS, outside], [INSUFFICIENT, UNRELIABLE], OK),
                     index=audit.index)


def proxy_check(snapshots: pd.DataFrame, features: Sequence[str],
                attributes: Sequence[str] = PROTECTED_ATTRIBUTES, folds: int = 3, seed: int = 0) -> dict[str, float]:
    """Per protected attribute, the cross-validated AUC with which a logistic model on `features` predicts it.

    0.5 means the inputs carry nothing of it; a two-group attribute is plain ROC
    AUC, more groups the mean one-against-rest AUC. One row per person (their
    latest), so the folds do not share anyone.
    """
    latest = snapshots.sort_values("snapshot_date").drop_duplicates("worker_id", keep="last")
    design = FeatureEncoder(features, standardise=True).fit(latest).transform(latest)
    result = {}
    for attribute in attributes:
        target = latest[attribute].astype(str).to_numpy()
        classes, counts = np.unique(target, return_counts=True)
        if len(classes) < 2 or counts.min() < folds:
            result[attribute] = np.nan
            continue
        proba = cross_val_predict(LogisticRegression(max_iter=2000), design, target, method="predict_proba",
                                  cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
        result[attribute] = float(roc_auc_score(target, proba[:, 1]) if len(classes) == 2
                                  else roc_auc_score(target, proba, multi_class="ovr"))
    return result


def fairness_metrics(audit: pd.DataFrame) -> dict[str, float]:
    """The audit's key figures for MLflow, per attribute and horizon over the groups with enough leavers:
    the AUC gap between groups and the lowest and highest O/E."""
    judged = audit[audit["status"].ne(INSUFFICIENT)]
    figures = {}
    for (attribute, h), groups in judged.groupby(["attribute", "horizon"]):
        figures |= {f"fairness_auc_gap_{attribute}_{h}w": float(groups["auc"].max() - groups["auc"].min()),
                    f"fairness_oe_min_{attribute}_{h}w": float(groups["observed_expected"].min()),
                    f"fairness_oe_max_{attribute}_{h}w": float(groups["observed_expected"].max())}
    return figures


def log_audit(settings, run_id: str, audit: pd.DataFrame) -> None:
    """Keep the audit with the version's run as `FAIRNESS_FILE` (records), where the card and the week read it."""
    from continuity.models.registry import log_text

    log_text(settings, run_id, FAIRNESS_FILE, audit.to_json(orient="records"))


def logged_audit(settings, model) -> pd.DataFrame:
    """The scoring version's audit as its run logged it, as the published `fairness` table (empty when none was)."""
    from continuity.models.registry import logged_text

    text = logged_text(settings, model.run_id, FAIRNESS_FILE)
    audit = pd.DataFrame(json.loads(text) if text else [], columns=list(COLUMNS))
    return audit.assign(model_version=str(model.version))
