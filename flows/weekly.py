"""The weekly early-warning run, read top to bottom like the pipeline it is:

ingest -> features -> train -> evaluate -> register -> score -> publish -> promote (if no worse) -> purge

The version that scores the week is the candidate when it passed the gate, else the
champion; the `champion` alias moves only after that week is published, so the alias
and the published week agree after every run, also one stopped halfway (a run that
stopped after publishing and before moving the alias moves it at its start).

Task logic lives in `features/` and `models/` (tested without Prefect); the tasks
here only move data between them. I/O tasks retry, unless the data or the registry's state is at
fault (that fails the same way every time); pure steps do not. Caching is
off: every run recomputes from the warehouse, which is the single source of truth.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from continuity.config import Settings
from continuity.progress import stage
from continuity.warehouse import connect, large_build, open_warehouse, transaction


def _may_pass(task, task_run, state) -> bool:
    """Whether a failed I/O task is worth retrying: not when the data or the registry's state is at fault
    (a ValueError and its kin, an unusable export), which fails the same way on every try."""
    from continuity.features.ingest import UnusableInput
    from continuity.models.registry import IncompatibleChampion

    error = state.result(raise_on_failure=False)
    return not isinstance(error, (ValueError, LookupError, TypeError, UnusableInput, IncompatibleChampion))


IO = dict(retries=2, retry_delay_seconds=3, retry_condition_fn=_may_pass, cache_policy=NO_CACHE, persist_result=False)
PURE = dict(cache_policy=NO_CACHE, persist_result=False)


class NoChampion(LookupError):
    """Scoring without retraining before any model has become the champion."""


@dataclass
class WeeklyResult:
    score_date: date
    ingest: dict
    snapshot_rows: int
    scored_workers: int
    model_name: str
    model_version: str
    metrics: dict = field(default_factory=dict)  # model name -> held-out metrics; "oracle", "incumbent" when known
    chosen: str | None = None
    source: str | None = None  # what the chosen candidate was fitted on (own data, or a base model recalibrated)
    reason: str = ""  # why that source, in figures (empty without a base model)
    promoted: bool | None = None  # whether the chosen candidate became the champion (None: no retraining)
    alerts: list[str] = field(default_factory=list)  # the week's drift alerts (continuity.models.drift)
    purged: dict = field(default_factory=dict)  # rows removed under retention, per table (continuity.retention)


@task(**IO)
def ingest_exports(settings: Settings) -> dict:
    from continuity.features.ingest_summary import summary_lines

    with stage("ingest") as ingested:
        report = ingest_settings(settings)
        payload = report.to_json()
        ingested.rows = sum(t["read"] for t in payload["tables"].values())
    logger = get_run_logger()
    if report.exit_code:
        logger.warning("ingest quarantined %d rows; see the quarantine table",
                       sum(t["quarantined"] for t in payload["tables"].values()))
    for line in summary_lines(payload):
        logger.warning("ingest: %s", line)
    return payload


def ingest_settings(settings: Settings):
    """The ingest of the weekly run, as `continuity ingest` does it: same mapping (CONTINUITY_EXPORT_MAPPING
    or `run --mapping`), same key; plain function, so it is tested without Prefect."""
    from continuity.features.ingest import ingest_dir

    return ingest_dir(settings.exports, settings.warehouse, mapping=settings.export_mapping,
                      export_date=_export_date(settings), pseudonym_key=settings.pseudonym_key.get_secret_value())


def _export_date(settings: Settings) -> date | None:
    """The synthetic sector says when its export was made; a real export is dated today."""
    meta = settings.exports.parent / "sector.json"
    return date.fromisoformat(json.loads(meta.read_text())["export_date"]) if meta.exists() else None


@task(**IO)
def load_oracle(settings: Settings) -> bool:
    """The synthetic sector's true hazards, kept beside (never inside) the contract tables."""
    path = settings.exports.parent / "oracle" / "oracle_hazard.parquet"
    if not path.exists():
        return False
    with open_warehouse(settings) as con, large_build(con), transaction(con):
        # read by DuckDB itself: at sector scale the file holds a row per worker-week
        con.execute("create or replace table oracle_hazard as select * from read_parquet(?)", [str(path)])
    return True


@task(**PURE)
def build_features(settings: Settings) -> tuple[int, date]:
    from continuity.features.snapshots import build_snapshots, score_date

    with stage("features") as built, open_warehouse(settings) as con:
        rows = built.rows = build_snapshots(con)
        return rows, score_date(con)


def _training_frames(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The sampled, thinned rows training and evaluation share (``snapshots.training_rows``), never whole tables."""
    from continuity.features.feature_spec import MODEL_FEATURES
    from continuity.features.snapshots import training_rows

    with open_warehouse(settings, read_only=True) as con:
        return training_rows(con, MODEL_FEATURES, oracle=True)


def _snapshot_weeks(settings: Settings) -> int:
    with open_warehouse(settings, read_only=True) as con:
        return con.execute("select count(distinct snapshot_date) from snapshots").fetchone()[0]


@task(**PURE)
def train(settings: Settings):
    """Fit every candidate and choose the champion on a validation period inside the training weeks."""
    with stage("train") as trained:
        snapshots, labels, _ = _training_frames(settings)
        selection = train_or_recalibrate(settings, snapshots, labels, weeks=_snapshot_weeks(settings))
        fitted = selection.forecaster
        trained.rows = getattr(fitted, "n_training_rows_", None)
        trained.facts = {"sample": int(snapshots["worker_id"].nunique()), "rows": trained.rows,
                         "events": getattr(fitted, "n_events_", None)}
    return selection


def train_or_recalibrate(settings: Settings, snapshots: pd.DataFrame, labels: pd.DataFrame,
                         weeks: int | None = None):
    """Train on the organisation's own weeks, with the base model (CONTINUITY_BASE_MODEL) recalibrated beside them
    when there is one; a history too short to train on is recalibrated on alone, or, without a base model,
    stops with the sentence saying what is missing (`split.InsufficientHistory`). `weeks`: the export's
    snapshot weeks, which thinned rows may understate by one (`split.plan_windows`)."""
    from continuity.features.feature_spec import model_features
    from continuity.models.registry import load_base_model
    from continuity.models.sector_base import same_contract
    from continuity.models.split import InsufficientHistory, plan_recalibration, plan_windows
    from continuity.models.training import default_candidates, train as train_candidates

    features = model_features(settings.health_inputs)
    base = load_base_model(settings, settings.base_model) if settings.base_model else None
    if base is not None:
        same_contract(base.forecaster, features, f"{base.name} v{base.version}")
    try:
        windows = plan_windows(snapshots, labels, weeks=weeks)
        candidates = default_candidates(features, distributed=settings.task_runner == "dask")
    except InsufficientHistory:
        if base is None:
            raise
        windows, candidates = plan_recalibration(snapshots, labels, weeks=weeks), ()
    return train_candidates(snapshots, labels, candidates=candidates, windows=windows, base=base)


@task(**PURE)
def evaluate(selection, settings: Settings):
    """Report every candidate, the current champion and the oracle's ceiling on the same held-out weeks."""
    from continuity.models.registry import comparable_champion
    from continuity.models.training import evaluate_held_out

    with stage("evaluate") as evaluated:
        snapshots, labels, oracle = _training_frames(settings)
        incumbent = comparable_champion(settings)
        evaluated.rows = len(snapshots)
        return evaluate_held_out(selection, snapshots, labels, selection.holdout_weeks, oracle=oracle,
                                 incumbent=None if incumbent is None else incumbent.forecaster)


@task(**IO)
def register(selection, settings: Settings) -> tuple[str, bool]:
    """Log and register the chosen candidate, its fairness audit and the gate's verdict: whether it is no worse
    than the champion in rank, calibration and fairness (a first model has nothing to be compared with)."""
    from continuity.models.fairness import fairness_metrics, log_audit
    from continuity.models.promotion import refusals
    from continuity.models.registry import SOURCE_TAG, champion_version, log_forecaster, register_version

    test = selection.test.get(selection.chosen)
    metrics = {f"test_{k}": v for k, v in (test or {}).items()}
    metrics |= {f"validation_{k}": v for k, v in selection.validation[selection.chosen].items()}
    for source, figures in (("oracle", selection.oracle), ("incumbent", selection.incumbent)):
        metrics |= {f"{source}_{k}": v for k, v in (figures or {}).items()}
    metrics |= fairness_metrics(selection.fairness) if selection.fairness is not None else {}
    metrics |= {f"proxy_auc_{attribute}": auc for attribute, auc in (selection.proxies or {}).items()}
    params = {"validation_from": str(selection.validation_date.date())}
    params |= {"test_from": str(selection.test_date.date())} if test is not None else {}
    run_id = log_forecaster(selection.forecaster, metrics, params, settings, tags={SOURCE_TAG: selection.source})
    if selection.fairness is not None:
        log_audit(settings, run_id, selection.fairness)
    if test is not None:
        found = refusals(test, selection.incumbent, fairness=selection.fairness,
                         incumbent_fairness=selection.incumbent_fairness)
    else:  # too short a history for test weeks of its own: nothing to hold against a champion
        found = [] if champion_version(settings) is None else ["no test weeks of its own to compare with the champion"]
    passed = not found or (selection.incumbent is None and test is not None)
    if found:
        verdict = "is held back and the champion stays" if not passed else "becomes the first champion, although"
        get_run_logger().warning("candidate %s %s: %s", selection.chosen, verdict, "; ".join(found))
    return register_version(run_id, settings, passed, found), passed


@task(**IO)
def document(settings: Settings, version: str) -> None:
    """Keep a registered version's model card and drift reference with it, from what its run logged."""
    from continuity.models.card import card_texts
    from continuity.models.drift import logged_reference
    from continuity.models.registry import load_version

    model = load_version(settings, version)
    card_texts(settings, model)
    logged_reference(settings, model)


@task(**IO)
def require_champion(settings: Settings) -> None:
    """Scoring without retraining needs a champion: say so before ingesting anything."""
    from continuity.models.registry import champion_version

    if champion_version(settings) is None:
        raise NoChampion("There is no champion model yet to score with: run `continuity run` without "
                         "--no-retrain first.")


@task(**IO)
def finish_promotion(settings: Settings) -> None:
    """A run stopped between publishing and moving the alias left them apart: bring the alias along."""
    from continuity.models.registry import finish_promotion as finish
    from continuity.publication import NothingPublished, Publications

    try:
        published = Publications(settings.published).current()
    except NothingPublished:
        return
    finish(settings, published.model_version)


@task(**IO)
def score(settings: Settings, score_date: date, version: str | None) -> tuple[object, dict[str, pd.DataFrame]]:
    """Score every active worker with the version (None: the champion) and gather the week to publish."""
    from continuity.features.case_survival import with_handover_weight
    from continuity.features.continuity_indices import continuity_indices
    from continuity.features.destinations import destination_tables
    from continuity.features.exposure import relational_exposure
    from continuity.features.feature_spec import in_words
    from continuity.features.funding_calendar import tender_calendar
    from continuity.features.inflow import inflow_history
    from continuity.forecasts.inflow_table import inflow_table
    from continuity.forecasts.sector_history import sector_history
    from continuity.features.situation import situation
    from continuity.forecasts.dispersion import frailty_table
    from continuity.features.snapshots import data_end, score_snapshot
    from continuity.models.card import card_table, card_texts
    from continuity.models.drift import logged_reference, monitoring
    from continuity.models.fairness import audit_groups, logged_audit
    from continuity.models.registry import load_champion, load_version
    from continuity.models.scoring import score_week, withhold

    with stage("score") as scored:
        model = load_champion(settings) if version is None else load_version(settings, version)
        reference, card = logged_reference(settings, model), card_table(card_texts(settings, model))
        with connect(settings.warehouse, read_only=True) as con:
            with stage("scoring") as scoring:  # the week's list itself: snapshot, probabilities, drivers, curves
                snapshot = score_snapshot(con, score_date)
                risk, curves = score_week(model.forecaster, snapshot, score_date, model.name, model.version)
                scored.rows = scoring.rows = len(risk)
            # the clients' continuity at the score week, which the situation tables and the exposure both read
            indices = continuity_indices(con, score_date)
            week = situation(con, score_date, snapshot, indices)
            # the tender calendar: running funding contracts, their workers, and what the approaching end adds
            week |= tender_calendar(con, score_date, model.forecaster, snapshot, week["worker_snapshot"], risk)
            # where voluntary leavers go: the share that moves to another employer (person_key), per worker
            week |= destination_tables(con, data_end(con) + timedelta(days=1), snapshot)
            # sector inflow: hires, exits, net change, moves, leavers of the sector and clients without a steady
            # worker, 1-3 years ahead
            history = inflow_history(con, data_end(con) + timedelta(days=1))
            week |= {"sector_inflow": inflow_table(**history),  # and the past years they follow, for the page's charts
                     "sector_history": sector_history(history["end"], history["first"], history["events"])}
            checks = monitoring(reference, model.forecaster.encoder_.raw(snapshot), con, data_end(con))
            frailty = frailty_table(con, data_end(con))  # from past published weeks, for the aggregates' intervals
    with stage("exposure") as exposed, connect(settings.warehouse, read_only=True) as con:
        workers, clients = relational_exposure(con, score_date, risk, indices)
        clients = with_handover_weight(con, score_date, clients, curves)
        exposed.rows = len(clients)
    week = week | {"risk_scores": risk, "survival_curves": curves,
                   "worker_exposure": workers, "client_exposure": clients,
                   "model_card": card, "monitoring": checks, "fairness": logged_audit(settings, model),
                   "model_inputs": pd.DataFrame(in_words(model.forecaster.features)), "interval_frailty": frailty}
    # Once the week is gathered: the scoring model's fairness audit decides whose probabilities are shown.
    groups = audit_groups(snapshot).assign(worker_id=snapshot["worker_id"])
    return model, week | {"risk_scores": withhold(risk, groups, week.get("fairness"))}


@task(**IO)
def publish(settings: Settings, score_date: date, model, week: dict[str, pd.DataFrame]) -> None:
    """Publish the week with the last day its data records, which the page shows beside the score week."""
    from continuity.features.snapshots import data_end
    from continuity.forecasts.aggregates import pattern_table
    from continuity.forecasts.frame import grouped_workers
    from continuity.publication import publish_week

    with connect(settings.warehouse, read_only=True) as con:
        last_day = data_end(con)
    with stage("suppression"):  # decided once here, not by every service that loads the week
        suppression = pattern_table(grouped_workers(week["risk_scores"], week["worker_snapshot"]),
                                    week["voluntary_leavers"])
    publish_week(settings, score_date, model.name, model.version, week | {"suppression": suppression},
                 data_end=last_day)


@task(**IO)
def purge_expired(settings: Settings) -> dict[str, int]:
    """Last, once the week is served: remove what retention no longer covers (``continuity purge``)."""
    from continuity.retention import purge

    report = purge(settings)
    get_run_logger().info("retention: removed %s (audit kept from %s, score weeks from %s)",
                          report.removed, report.audit_kept_from.date(), report.scores_kept_from)
    return report.removed


@task(**IO)
def promote(settings: Settings, version: str) -> None:
    from continuity.models.registry import promote as move_alias

    move_alias(settings, version)


@flow(name="weekly", validate_parameters=False, log_prints=True)
def weekly(settings: Settings | None = None, retrain: bool = True) -> WeeklyResult:
    """The week's run, recorded beside the published weeks (``continuity.run_record``): started, then ended
    and whether it succeeded, so that the page and ``/health`` say when a week failed or is late."""
    from prefect.runtime import flow_run

    from continuity.run_record import recorded_run

    settings = settings or Settings()
    with recorded_run(settings.published, flow_run.id):
        return _week(settings, retrain)


def weekly_for(settings: Settings):
    """The weekly flow on the task runner the settings choose (``Settings.task_runner``): as it is, its tasks in
    this process, or on prefect-dask's DaskTaskRunner, at ``dask_address`` or on a LocalCluster of this
    machine (one single-threaded worker per core: XGBoost and DuckDB bring their own threads)."""
    if settings.task_runner != "dask":
        return weekly
    from prefect_dask import DaskTaskRunner

    runner = (DaskTaskRunner(address=settings.dask_address) if settings.dask_address else
              DaskTaskRunner(cluster_kwargs={"n_workers": os.cpu_count() or 1, "threads_per_worker": 1}))
    return weekly.with_options(task_runner=runner)


def _heavy(settings: Settings, step, *args):
    """Run a heavy task: on the Dask runner submitted to a worker (a task called directly runs in the flow's
    process); otherwise called as it is. Its inputs are settings and dates (the warehouse holds the data), bar
    the fitted candidates evaluation gets and the week's frames publishing gets."""
    return step.submit(*args).result() if settings.task_runner == "dask" else step(*args)


def _week(settings: Settings, retrain: bool) -> WeeklyResult:
    from continuity.models.drift import alerts

    if not retrain:
        require_champion(settings)
    finish_promotion(settings)
    ingest_report = _heavy(settings, ingest_exports, settings)
    load_oracle(settings)
    snapshot_rows, score_date = _heavy(settings, build_features, settings)
    metrics, chosen, promoted, candidate, source, reason = {}, None, None, None, None, ""
    if retrain:
        selection = _heavy(settings, evaluate, _heavy(settings, train, settings), settings)
        metrics = dict(selection.test)
        metrics |= {source: figures for source, figures in
                    (("incumbent", selection.incumbent), ("oracle", selection.oracle)) if figures}
        chosen, source, reason = selection.chosen, selection.source, selection.reason
        with stage("register"):
            version, promoted = register(selection, settings)
            document(settings, version)
        candidate = version if promoted else None
    model, week = _heavy(settings, score, settings, score_date, candidate)
    with stage("publish", rows=len(week["risk_scores"])):
        publish(settings, score_date, model, week)
    if candidate is not None:
        promote(settings, candidate)
    purged = purge_expired(settings)
    return WeeklyResult(score_date=score_date, ingest=ingest_report, snapshot_rows=snapshot_rows,
                        scored_workers=len(week["risk_scores"]), model_name=model.name,
                        model_version=str(model.version), metrics=metrics, chosen=chosen, source=source,
                        reason=reason, promoted=promoted,
                        alerts=alerts(week["monitoring"]), purged=purged)
