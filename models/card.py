"""The model card and data sheet of one registered version: what it is for, what it is not for, what it
learnt from, how well it does per horizon and per group, and where it stops being trustworthy.

The people the model scores, their managers and their works council can only check a model they
can read about (AI Act art. 11 and 13, docs/ai-act.md). So every registered version gets a card,
written with skops (``skops.card.Card``) from what its MLflow run logged: the held-out metrics,
the parameters and the fairness audit (``fairness.json``). The card is logged with the model
(``model_card.md``, ``model_card.html``) and published with every week the version scores (table
``model_card``), so the card the service shows always belongs to the figures it serves.

Markdown is turned into HTML with markdown-it (already installed with rich), with raw HTML
switched off: group names come from an HR export and are shown as text, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from markdown_it import MarkdownIt
from skops.card import Card

from continuity.advisory import ADVISORY, OUT_OF_SCOPE, OUT_OF_SCOPE_USES
from continuity.config import Settings
from continuity.features.feature_spec import BY_NAME, FEATURES
from continuity.horizons import HORIZONS
from continuity.models.metrics import INTERVAL_SLACK
from continuity.models.registry import Champion, log_text, logged_text, tracking_client

INTENDED_USE = "Intended use"
OUT_OF_SCOPE_SECTION = "Uses out of scope"
DATA = "Data"
METRICS = "Metrics per horizon"
FAIRNESS = "Fairness"
INTERVALS = "Intervals"
DRIVERS = "Drivers"
LIMITS = "Limits"
OVERSIGHT = "Human oversight"
SECTIONS = (INTENDED_USE, OUT_OF_SCOPE_SECTION, DATA, METRICS, FAIRNESS, INTERVALS, DRIVERS, LIMITS, OVERSIGHT)

FAIRNESS_COLUMNS = ("attribute", "group", "horizon", "n", "leavers", "c_index", "auc", "auc_low", "auc_high",
                    "observed_expected", "oe_low", "oe_high", "flag_rate", "recall", "false_flag_rate", "status")
PER_HORIZON = {"auc": "AUC", "brier": "Brier", "ece": "ECE", "predicted": "mean predicted", "observed": "observed rate",
               "top_decile_precision": "top-decile precision", "top_decile_recall": "top-decile recall"}
OVERALL = {"c_index": "Harrell's C", "c_index_uno": "Uno's C", "ibs": "integrated Brier score",
           "n_rows": "held-out worker-weeks", "n_events": "voluntary leavers in them"}
FORMATS = ("markdown", "html")
FILES = {"markdown": "model_card.md", "html": "model_card.html"}
FAIRNESS_FILE = "fairness.json"  # the audit as the fairness step logged it (continuity.models.fairness)
_HTML = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True)
class CardFacts:
    """What a card says about one version, as its MLflow run logged it."""

    model_name: str
    model_version: str
    forecaster: str  # the forecaster's name, e.g. "cox" or "xgboost"
    features: tuple[str, ...]
    training_rows: int
    training_events: int
    params: Mapping[str, str]  # the run's parameters: validation_from, test_from, hyper-parameters
    metrics: Mapping[str, float]  # the run's metrics: test_*, validation_*, oracle_*, incumbent_*
    fairness: pd.DataFrame | None  # the fairness audit as logged, FAIRNESS_COLUMNS; None when none was


def model_card(facts: CardFacts) -> Card:
    card = Card(model=None, template=None)
    card.add(**{
        INTENDED_USE: (
            f"`{facts.model_name}` v{facts.model_version} ({facts.forecaster}) forecasts, each week, the probability "
            f"that a social worker leaves their organisation voluntarily within {_horizons()} weeks, other exits "
            "(dismissal, retirement, the end of a temporary contract) counted as competing events. It is meant "
            "for HR and team managers preparing retention conversations and handover plans for the clients "
            f"at stake, and for sector bodies reading aggregates. {ADVISORY}"),
        OUT_OF_SCOPE_SECTION: (
            f"{OUT_OF_SCOPE}\n\n" + "\n".join(f"- {use}" for use in OUT_OF_SCOPE_USES)
            + "\n\nNor is it for scoring anyone outside the organisations and period it was trained on "
              "(see Data), or for any decision that a person's probability alone would settle."),
        DATA: _data(facts),
    })
    _add_table(card, f"{DATA}/Model inputs", _inputs(facts.features))
    card.add(**{METRICS: (
        f"Held out: the weeks from {facts.params.get('test_from', 'the test cut')} on, which neither training "
        "nor the choice among candidates saw. Per horizon, rows whose status at the horizon is known; the "
        "oracle (synthetic sector only) is the true hazard's figure on the same rows, the ceiling.")})
    _add_table(card, f"{METRICS}/Overall", _overall(facts.metrics))
    _add_table(card, f"{METRICS}/Per horizon", _per_horizon(facts.metrics))
    card.add(**{FAIRNESS: _fairness_text(facts.fairness)})
    if facts.fairness is not None and len(facts.fairness):
        _add_table(card, f"{FAIRNESS}/Audit", _fairness_table(facts.fairness))
    card.add(**{
        INTERVALS: (
            "Every published probability has a 90% interval per horizon: the 5th to 95th percentile of the "
            "calibration map refitted on bootstrap resamples of the held-out workers, at the worker's own "
            "model probability (for a model refitted after its calibration, which publishes its own "
            "probabilities, the refitted maps' distances from the map, around the worker's own). It states how "
            "well the rate among workers scored alike is known, not how certain one person's future is. Where "
            "the fairness audit finds the model unreliable for a worker's group, the probability is withheld and "
            "the reason shown instead.\n\n"
            "Measured on the held-out weeks, per horizon: the median width of the interval, and in how many "
            "of the ten risk deciles the observed rate of leaving lies within the decile's mean interval, "
            f"widened by {INTERVAL_SLACK} for the decile's own sampling noise (at least 8 of 10 is the bar). "
            "'-': the horizon was not calibrated, or too few rows were followed that far."),
    })
    _add_table(card, f"{INTERVALS}/Measured", _intervals(facts.metrics))
    card.add(**{
        DRIVERS: (
            "Each worker's drivers are the groups of features that move their hazard of leaving most, relative "
            "to a reference worker with none of the known causes of leaving (caseload at the norm, a permanent "
            "contract, no new manager, no sick leave, a recent pay-scale step) and the training average otherwise: "
            "each group's exact Shapley value against that worker, for the Cox model its coefficients times the "
            "worker's distance from the reference, for gradient boosting computed from its trees. The model that "
            "scores is the model that explains. Each is shown as a sentence "
            "with the worker's own figure and a reference, its direction and hazard ratio, and whether the "
            "organisation can act on it. The ratios multiply to the worker's relative hazard; they describe "
            "the model, not proven causes. Health drivers (sick leave) are shown only to hr and the worker."),
        LIMITS: "\n".join(f"- {limit}" for limit in (
            "Protected attributes (gender, age, age band) are never inputs, yet inputs can stand in for them: "
            "the fairness audit and the proxy check measure how far they do.",
            "Age drives leaving in the synthetic sector without being an input: age bands are reported as "
            "measured and judged only against the previous champion.",
            "Groups with fewer than 20 leavers are reported as insufficient, not judged.",
            "The figures describe the organisations and weeks trained on; a reorganisation, a new collective "
            "agreement or a new export can make them stale. The weekly drift check (`GET /monitoring`) "
            "compares each week's inputs with the training weeks and realised with expected leavers.",
            "A probability is a rate among similar workers, not a prediction of what one person will do.",
        )),
        OVERSIGHT: (
            f"{ADVISORY} Every read of a worker's record is logged; hr and managers record whether they "
            "acknowledged, disputed or corrected a worker's figures (`POST /workers/{id}/reviews`), and "
            "disputes are listed for the administrator (`GET /reviews?action=disputed`). A worker sees their "
            "own figures, drivers, data and who read them (`/me`). A new version replaces the champion only "
            "when it is no worse in accuracy, calibration and fairness on the same held-out weeks. The works "
            "council consents before use (docs/works-council.md)."),
    })
    return card


def render(card: Card) -> dict[str, str]:
    """The card as Markdown and as HTML, by format."""
    markdown = card.render()
    return {"markdown": markdown, "html": _HTML.render(markdown)}


def card_texts(settings: Settings, model: Champion) -> dict[str, str]:
    """The version's card as logged with it; written from its run and logged first when it has none."""
    logged = {f: logged_text(settings, model.run_id, name) for f, name in FILES.items()}
    if all(text is not None for text in logged.values()):
        return logged
    run = tracking_client(settings).get_run(model.run_id).data
    fairness = logged_text(settings, model.run_id, FAIRNESS_FILE)
    forecaster = model.forecaster
    texts = render(model_card(CardFacts(
        model_name=model.name, model_version=model.version, forecaster=forecaster.name,
        features=tuple(forecaster.features), training_rows=forecaster.n_training_rows_,
        training_events=forecaster.n_events_, params=run.params, metrics=run.metrics,
        fairness=None if fairness is None else pd.DataFrame(json.loads(fairness)))))
    for f, name in FILES.items():
        log_text(settings, model.run_id, name, texts[f])
    return texts


def card_table(texts: Mapping[str, str]) -> pd.DataFrame:
    """The published table ``model_card``: one row per format."""
    return pd.DataFrame({"format": list(FORMATS), "text": [texts[f] for f in FORMATS]})


def _add_table(card: Card, path: str, table: pd.DataFrame) -> None:
    """A table as a subsection; skops titles a table with its whole path ("Data/Model inputs"), so retitle it."""
    card.add_table(**{path: table})
    card.select(path).title = path.rsplit("/", 1)[-1]


def _horizons() -> str:
    return ", ".join(map(str, HORIZONS[:-1])) + f" and {HORIZONS[-1]}"


def _data(facts: CardFacts) -> str:
    return (
        "Data sheet. Source: the organisations' HR, caseload and funding exports in the data contract "
        "(workers, HR events, assignments, contacts, funding contracts), client ids pseudonymised at ingest "
        "and no free text on sick leave kept. One snapshot per active worker per week, built only from facts "
        f"dated before that week. Training: {facts.training_rows:,} worker-weeks with {facts.training_events:,} "
        f"voluntary leavers, the weeks before {facts.params.get('test_from', 'the test cut')}; chosen, and its "
        f"intervals learnt, on the weeks from {facts.params.get('validation_from', 'the validation cut')} that the "
        "fit before them did not see. "
        "Sick-leave figures are health data (GDPR art. 9) and are inputs only where the deployment switched them "
        "on (docs/dpia.md). Protected attributes not used as inputs: "
        + ", ".join(f.label for f in FEATURES if f.protected) + ".")


def _inputs(features: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({"feature": list(features),
                         "meaning": [BY_NAME[f].label if f in BY_NAME else f for f in features]})


def _overall(metrics: Mapping[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"figure": list(OVERALL.values()),
                         "model": [_number(metrics.get(f"test_{k}")) for k in OVERALL],
                         "oracle": [_number(metrics.get(f"oracle_{k}")) for k in OVERALL]})


def _per_horizon(metrics: Mapping[str, float]) -> pd.DataFrame:
    table = {"horizon (weeks)": list(HORIZONS)}
    for key, label in PER_HORIZON.items():
        table[label] = [_number(metrics.get(f"test_{key}_{h}w")) for h in HORIZONS]
    table["oracle AUC"] = [_number(metrics.get(f"oracle_auc_{h}w")) for h in HORIZONS]
    return pd.DataFrame(table)


def _intervals(metrics: Mapping[str, float]) -> pd.DataFrame:
    """The held-out figures of the intervals, as ``metrics.interval_metrics`` measured and the run logged them."""
    coverage = [metrics.get(f"test_interval_coverage_{h}w") for h in HORIZONS]
    return pd.DataFrame({
        "horizon (weeks)": list(HORIZONS),
        "median width": [_number(metrics.get(f"test_interval_width_{h}w")) for h in HORIZONS],
        "deciles within": ["-" if c is None or pd.isna(c) else f"{c:.0f} of 10" for c in coverage],
    })


def _fairness_text(audit: pd.DataFrame | None) -> str:
    if audit is None or audit.empty:
        return "No fairness audit was logged for this version: its figures cannot be judged per group."
    return (
        "Per horizon and per group of gender, age band, contract type and occupation, on the held-out weeks: "
        "people and leavers, Harrell's C, the AUC with its 90% interval, observed over expected leavers (O/E) "
        "with its 90% interval, and the weekly top-decile list's flag rate, recall and false-flag rate. "
        "`insufficient`: fewer than 20 leavers, reported but not judged; `unreliable`: the O/E interval lies "
        "wholly outside 0.8-1.25, and the members' probabilities are withheld.")


def _fairness_table(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit as logged, every figure to three decimals and every text escaped for a Markdown table."""
    table = audit[list(FAIRNESS_COLUMNS)].copy()
    for column in table.columns:
        if pd.api.types.is_float_dtype(table[column]):
            table[column] = table[column].map(_number)
        else:
            table[column] = table[column].astype(str).str.replace("|", "\\|", regex=False)
    return table


def _number(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.3f}"

