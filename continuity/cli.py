"""The `continuity` command line: one verb per job of the product.

Heavy libraries are imported inside each command so that `continuity --help`
answers at once.
"""

from __future__ import annotations

import json
import logging
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Column, Table

from continuity.access import Role
from continuity.config import Settings
from continuity.flows.schedule import DEFAULT_CRON, SERVER_PORT, TIMEZONE

app = typer.Typer(help="Forecast which social workers are likely to leave and what it costs their clients.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
PIPED_WIDTH = 200


@app.callback()
def _fit_output() -> None:
    """Output into a pipe or a file has no width to fit: rich would squeeze tables into 80 columns
    (or the COLUMNS a parent process left behind) and cut ids short, so it gets room for the widest
    table."""
    if not console.is_terminal:
        console.width = max(console.width, PIPED_WIDTH)


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


class SynthWorld(str, Enum):
    """The hazard models of `continuity.synth.worlds.WORLDS`, named here so that `--help` needs no numpy."""

    proportional = "proportional"
    interactions = "interactions"


WORLD_HELP = ("Hazard model of voluntary leaving: proportional (one fixed hazard ratio per driver) or "
              "interactions (effects that change with tenure, interact, bend and wear off).")


@app.command()
def synth(
    out: Annotated[Optional[Path], typer.Option(
        help="Folder to write exports/, oracle/ and sector.json into; default HOME/sector, where `run` reads.")] = None,
    workers: Annotated[int, typer.Option(min=20, help="Number of positions in the sector.")] = 2000,
    years: Annotated[int, typer.Option(min=1, max=20, help="Years of weekly history.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives identical files.")] = 0,
    format: Annotated[ExportFormat, typer.Option("--format", help="Export file format.")] = ExportFormat.parquet,
    world: Annotated[SynthWorld, typer.Option(help=WORLD_HELP)] = SynthWorld.proportional,
) -> None:
    """Generate the synthetic Dutch social-work sector as data-contract export files."""
    from continuity.synth.generate import generate_sector
    from continuity.synth.report import print_sector

    summary = generate_sector(out or Settings().home / "sector", workers=workers, years=years, seed=seed,
                              fmt=format.value, world=world.value)
    print_sector(console, summary)


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(metavar="DIR", help="Folder with the export files listed above.")],
    mapping: Annotated[Optional[Path], typer.Option(
        help="YAML mapping of column names and labels; default CONTINUITY_EXPORT_MAPPING.")] = None,
    warehouse: Annotated[Optional[Path], typer.Option(help="DuckDB file; default from settings.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write the ingest report as JSON here.")] = None,
    rekey: Annotated[bool, typer.Option(
        "--rekey", help="Load with a pseudonym key other than the warehouse's (not supported yet: refused).")] = False,
) -> None:
    """Validate, pseudonymise and load an export; invalid rows are quarantined and reported.

    DIR holds one file per table, each .csv, .parquet or .xlsx:
      workers             one row per employment
      hr_events           pay steps, sick leave, team moves, appraisals ...
      assignments         which worker serves which client, from when
      contacts            contacts between client and worker (optional)
      funding_contracts   the municipal contracts of each organisation
      placements          children placed out of home, re-placements included (optional)
      teams               the municipality and domain each team works for (optional)

    Columns, labels, dates and the mapping file: docs/data-contract.md.

    Exit code 0: everything loaded; 1: some rows quarantined; 2: input unusable, nothing written.
    """
    from continuity.features.ingest import UnusableInput, ingest_dir
    from continuity.features.ingest_summary import print_ingest

    settings = Settings()
    try:
        result = ingest_dir(source, warehouse or settings.warehouse, mapping=mapping or settings.export_mapping,
                            pseudonym_key=settings.pseudonym_key.get_secret_value(), rekey=rekey)
    except UnusableInput as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    payload = result.to_json()
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(payload, indent=2, default=str))
    print_ingest(console, payload)
    raise typer.Exit(result.exit_code)


def _prefect_env(settings: Settings) -> None:
    """Prefect without a server keeps its own SQLite under PREFECT_HOME: give it ours, and no telemetry.

    Without a server Prefect starts a temporary one for the run and announces its start
    and stop; of Prefect's own logger only warnings are shown, while the flow and its tasks
    still log their progress. MLflow too keeps to warnings (no notes on creating its
    tables or on checking a model's input example).
    """
    from continuity.private import private_folder

    prefect_home = private_folder((settings.home / "prefect").resolve())
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server gets 20 s to start by default; on a busy 2-core machine it took longer.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "INFO")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")


@app.command()
def run(
    retrain: Annotated[bool, typer.Option(help="Retrain and re-register; --no-retrain scores with the current champion.")] = True,
    mapping: Annotated[Optional[Path], typer.Option(
        help="YAML mapping of the export, as for `ingest`; default CONTINUITY_EXPORT_MAPPING.")] = None,
    base_model: Annotated[Optional[str], typer.Option(
        metavar="NAME|models:/NAME/VERSION", help="Registered base model to recalibrate on this organisation's "
        "weeks (see `continuity base-model`); default CONTINUITY_BASE_MODEL.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="On failure, show the traceback too.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars or stage lines (rows, seconds) "
                                        "for ingest, features, each fit, evaluation and scoring.")] = False,
) -> None:
    """Run the weekly flow: ingest -> features -> train -> evaluate -> register -> score -> publish.

    Exit code 0: the week is published; 2: the run stopped, said why in one sentence (--debug: with the traceback).
    """
    given = {"export_mapping": mapping, "base_model": base_model}
    settings = Settings(**{key: value for key, value in given.items() if value is not None})
    _prefect_env(settings)
    from contextlib import nullcontext

    from continuity.flows.report import print_summary
    from continuity.flows.weekly import weekly_for
    from continuity.progress import quiet as silenced

    loggers = [] if debug else [logging.getLogger(name) for name in _PREFECT_LOGGERS]
    for logger in loggers:
        logger.addFilter(_drop_traceback)
    try:
        with silenced() if quiet else nullcontext():
            result = weekly_for(settings)(settings=settings, retrain=retrain)
    except Exception as exc:
        if debug:
            raise
        console.print(f"[red]error:[/red] {_in_one_sentence(exc)}")
        raise typer.Exit(2) from None
    finally:
        for logger in loggers:
            logger.removeFilter(_drop_traceback)
    print_summary(console, result, settings)


@app.command("base-model")
def base_model(
    workers: Annotated[int, typer.Option(min=20, help="Positions in the synthetic sector it is trained on.")] = 2000,
    years: Annotated[int, typer.Option(min=3, max=20, help="Years of synthetic history; from 3 its test weeks follow 26 weeks.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic sector.")] = 0,
) -> None:
    """Train a base model on the synthetic sector and register it, for an organisation too small to train its own.

    It takes this organisation's inputs (CONTINUITY_HEALTH_FEATURES as set for its export). `continuity run
    --base-model continuity-base` (or CONTINUITY_BASE_MODEL) then recalibrates it on the organisation's weeks.
    """
    settings = Settings()
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from continuity.models.sector_base import register_synthetic_base

    console.print(f"Training a base model on a synthetic sector of {workers} positions over {years} years ...")
    base = register_synthetic_base(settings, workers=workers, years=years, seed=seed)
    console.print(f"Registered {base.name} v{base.version} ({base.chosen}; on the synthetic test weeks C-index "
                  f"{base.test['c_index']:.3f}, ECE at 26 weeks {base.test['ece_26w']:.3f}) in {settings.tracking_uri}.\n"
                  f"Use it with `continuity run --base-model {base.name}` or CONTINUITY_BASE_MODEL={base.name}.")


_PREFECT_LOGGERS = ("prefect.task_runs", "prefect.flow_runs", "prefect.engine", "prefect")


def _drop_traceback(record: logging.LogRecord) -> bool:
    """Prefect logs a failed task's or flow's traceback; `run` says what failed in one sentence instead."""
    record.exc_info, record.exc_text = None, None
    return True


def _in_one_sentence(error: Exception) -> str:
    """What stopped the run, as a person can act on it: the data's and the registry's own errors say it
    themselves; anything else is named, with where to look."""
    from continuity.features.ingest import UnusableInput
    from continuity.models.registry import IncompatibleChampion

    text = " ".join(str(error).split())
    known = isinstance(error, (ValueError, LookupError, UnusableInput, IncompatibleChampion))
    if known and not isinstance(error, KeyError) and text:
        return text
    return (f"The weekly run stopped on an unexpected {type(error).__name__}: {text or 'no message'} "
            "(`continuity run --debug` shows where).")


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="Serve the API after the run until Ctrl-C.")] = True,
    workers: Annotated[int, typer.Option(min=20, help="Size of the synthetic sector if it must be generated.")] = 2000,
    years: Annotated[int, typer.Option(min=1, help="Years of history if the sector must be generated.")] = 5,
) -> None:
    """Generate the synthetic sector if absent, run the weekly flow, summarise, then serve the API."""
    settings = Settings()
    _prefect_env(settings)
    from continuity.flows.report import print_summary
    from continuity.flows.weekly import weekly_for
    from continuity.synth.generate import generate_sector

    if not (settings.exports / "workers.parquet").exists() and not (settings.exports / "workers.csv").exists():
        console.print(f"Generating the synthetic sector ({workers} positions, {years} years) into {settings.exports.parent}")
        generate_sector(settings.exports.parent, workers=workers, years=years, seed=0, fmt="parquet")
    result = weekly_for(settings)(settings=settings, retrain=True)
    print_summary(console, result, settings)
    if serve:
        from continuity.access import create_token
        from continuity.serving.app import serve as serve_api

        token = create_token(settings, "admin")
        address = f"http://{settings.api_host}:{settings.api_port}"
        console.print(f"A demo admin token (shown once; revoke with `continuity token revoke`):\n  {token}\n"
                      f"Log in at {address}/ui or send `Authorization: Bearer <token>` to the API at {address} "
                      "(docs at /docs).")
        serve_api(settings.api_host, settings.api_port, settings)


# A command taking `--drop A B C` or `--team A B`: click gives an option one value per flag and
# leaves B and C over as extra arguments, which `_option_values` takes as further values.
SEVERAL_VALUES = {"allow_extra_args": True}


def _option_values(ctx: typer.Context, option: str, given: Optional[list[str]]) -> list[str]:
    """The values of `option`, with the extra arguments after it; extra arguments without it are refused
    (exit code 2), not silently taken."""
    if ctx.args and not given:
        raise typer.BadParameter(f"unexpected {' '.join(ctx.args)!r} (several values go after {option})", ctx=ctx)
    return [*(given or ()), *ctx.args]


class TabularMetric(str, Enum):
    c_index = "c-index"
    auc = "auc"


@app.command("evaluate-csv", context_settings=SEVERAL_VALUES)
def evaluate_csv(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE",
                                         help="One row per employee: a tenure column, a left flag, other attributes.")],
    duration: Annotated[str, typer.Option(help="Column with the time in the organisation (tenure).")],
    event: Annotated[str, typer.Option(help="Column saying whether the person left (yes/no, 1/0, true/false).")],
    drop: Annotated[Optional[list[str]], typer.Option(
        metavar="COLUMN ...", help="Columns to leave out (ids, constants): --drop A B C, or --drop A --drop B.")] = None,
    protected: Annotated[Optional[list[str]], typer.Option(
        metavar="COLUMN ...", help="Protected attributes (gender, age, ...): kept out of every model, audited by "
        "instead. With --drop too, give each flag one column: --protected A --protected B.")] = None,
    folds: Annotated[int, typer.Option(min=2, help="Folds of the stratified cross-validation.")] = 5,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats of the cross-validation.")] = 3,
    metric: Annotated[TabularMetric, typer.Option(
        help="What tuning and the choice maximise: Harrell's C-index of the duration, or the ROC AUC of the event "
        "(for files whose columns are derived from tenure, which inflates any C-index).")] = TabularMetric.c_index,
    time_budget: Annotated[float, typer.Option(
        min=0, metavar="SECONDS", help="Seconds of hyperparameter search, shared equally over outer folds and "
        "candidates; each share scores the defaults, then random configurations until it is spent (0: defaults "
        "only).")] = 120.0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Run survival models on any single-table HR file: nested, repeated stratified cross-validation."""
    from continuity.features.readers import UnreadableFile
    from continuity.features.tabular_file import TabularFileError
    from continuity.models.tabular import evaluate_csv as evaluate, print_evaluation

    if drop and protected and ctx.args:
        raise typer.BadParameter(f"unexpected {' '.join(ctx.args)!r}: with both --drop and --protected, give each "
                                 "flag one column", ctx=ctx)
    protected = _option_values(ctx, "--protected", protected) if protected else []
    drop = _option_values(ctx, "--drop", drop) if drop or not protected else []
    try:
        result = evaluate(file, duration, event, drop=drop, folds=folds, repeats=repeats, protected=protected,
                          metric=metric.value, time_budget=time_budget)
    except (UnreadableFile, TabularFileError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print_evaluation(console, result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str))


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(
        help="Interface to listen on; default CONTINUITY_API_HOST, else 127.0.0.1.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on; default CONTINUITY_API_PORT, else 8000.")] = None,
) -> None:
    """Serve the API (docs at /docs) on the published scores."""
    from continuity.serving.app import serve as serve_api

    settings = Settings()
    serve_api(settings.api_host if host is None else host, settings.api_port if port is None else port, settings)


@app.command()
def schedule(
    cron: Annotated[str, typer.Option(help="When the weekly flow runs, as a cron expression (minute hour day month "
                                      "weekday); default Monday 06:00.")] = DEFAULT_CRON,
    timezone: Annotated[str, typer.Option(help="Time zone of --cron (IANA name).")] = TIMEZONE,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the embedded Prefect server and its UI, "
                                      "when PREFECT_API_URL is not set.")] = SERVER_PORT,
) -> None:
    """Run the weekly flow by itself: serve it as a Prefect deployment on a schedule, until Ctrl-C.

    With PREFECT_API_URL set, the deployment lives on that (self-hosted) Prefect server; without it, on a Prefect
    server this command starts for as long as it runs (its database under HOME/prefect-server). The runs, with
    their task states and logs, appear in the Prefect UI; the web page and /health say when the last one ended
    and whether it succeeded.

    Exit code 2: the schedule is not one Prefect accepts, or the embedded server did not start.
    """
    settings = Settings()
    _prefect_env(settings)
    from continuity.flows.schedule import ServerDidNotStart, serve_weekly

    try:
        serve_weekly(settings.home / "prefect-server", cron, timezone, port, announce=console.print)
    except (ValueError, ServerDidNotStart) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


bench_app = typer.Typer(help="Benchmarks that print and record figures (never timed tests).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("quality")
def bench_quality(
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the figures as JSON here; default HOME/quality.json (quality-WORLD.json for "
        "another world).")] = None,
    world: Annotated[SynthWorld, typer.Option(help=WORLD_HELP)] = SynthWorld.proportional,
) -> None:
    """Rolling backtest on a synthetic sector, next to the oracle, and the IBM file by cross-validation."""
    from continuity.benchmarks.quality import quality_benchmark

    settings = Settings()
    default_out = "quality.json" if world is SynthWorld.proportional else f"quality-{world.value}.json"
    result = quality_benchmark(json_out or settings.home / default_out, settings, world.value)
    console.print_json(json.dumps(result, default=str))


@bench_app.command("handovers")
def bench_handovers(
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the figures as JSON here; default HOME/handovers.json.")] = None,
) -> None:
    """Clients' expected handovers in 26 weeks against what happened, per decile, over the backtest's origins."""
    from continuity.benchmarks.handovers import handovers_benchmark

    settings = Settings()
    result = handovers_benchmark(json_out or settings.home / "handovers.json", settings)
    low, high = result["targets"]["observed_expected"]
    for source in ("model", "oracle"):
        table = Table("decile", "clients", "predicted", "realised", "O/E", "90% interval", f"within {low}-{high}",
                      "workers left / p_leave",
                      title=f"{source}: expected handovers in {result['horizon_weeks']} weeks per decile of clients")
        for d in result[source]["deciles"]:
            verdict = ("yes" if d["within_target"] else "no") if d["reported"] else "too few"
            table.add_row(str(d["decile"]), str(d["clients"]), f"{d['predicted']:.1f}", str(d["realised"]),
                          f"{d['oe']:.2f}", f"{d['oe_low']:.2f}-{d['oe_high']:.2f}", verdict,
                          f"{d['workers_left'] / d['p_leave']:.2f}")
        console.print(table)
    console.print(f"origins and chosen models: {result['origins']}")


@bench_app.command("plans")
def bench_plans(
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the figures as JSON here; default HOME/handover-plans.json.")] = None,
) -> None:
    """The handover planner against the naive plan for the demo week's 30 highest-risk workers."""
    from continuity.benchmarks.planning import planning_benchmark

    settings = Settings()
    _prefect_env(settings)
    result = planning_benchmark(json_out or settings.home / "handover-plans.json", settings)
    table = Table("figure", "planner", "naive",
                  title=f"{result['leavers']} highest-risk workers, week of {result['score_date']}")
    for figure, value in result["planner"].items():
        table.add_row(figure, str(value), str(result["naive"][figure]))
    console.print(table)


@bench_app.command("survival-files")
def bench_survival_files(
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the figures as JSON here; default HOME/survival-files.json.")] = None,
    time_budget: Annotated[float, typer.Option(
        min=0, metavar="SECONDS", help="Tuning seconds per data set (as evaluate-csv's --time-budget).")] = 120.0,
    folds: Annotated[int, typer.Option(min=2, help="Outer folds.")] = 5,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats of the outer cross-validation.")] = 1,
) -> None:
    """evaluate-csv on the IBM file and public survival data sets (lifelines, scikit-survival), timed, with the
    goal: the nested selection beats the best of Cox, random survival forest and XGBoost AFT by one fold's sd."""
    from continuity.benchmarks.survival_files import survival_files_benchmark

    settings = Settings()
    result = survival_files_benchmark(json_out or settings.home / "survival-files.json", settings,
                                      time_budget=time_budget, folds=folds, repeats=repeats)
    table = Table("data set", "rows", "metric", "chosen", "nested selection", "best baseline", "goal met", "seconds")
    for name, r in result.items():
        g = r["goal"]
        table.add_row(name, str(r["rows"]), g["metric"], r["chosen"], f"{g['selection']:.3f}",
                      f"{g['best_baseline']} {g['baseline']:.3f} ± {g['baseline_std']:.3f}", str(g["met"]),
                      f"{r['seconds']:.0f}")
    console.print(table)


@bench_app.command("api")
def bench_api(
    rate: Annotated[int, typer.Option(min=1, help="Requests per second, sent open-loop on loopback.")] = 500,
    duration: Annotated[float, typer.Option(min=0.5, help="Seconds of load.")] = 20.0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Load a locally started API on 127.0.0.1 and report p50, p99 and errors per endpoint."""
    from continuity.benchmarks.api import run_api_bench

    result = run_api_bench(rate, duration, Settings())
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))
    console.print_json(json.dumps(result))


@bench_app.command("scale")
def bench_scale(
    workers: Annotated[int, typer.Option(min=20, help="Positions in the synthetic sector.")] = 2000,
    years: Annotated[int, typer.Option(min=3, max=20, help="Years of synthetic history (3 at least: the run "
                                       "needs training, calibration and test weeks).")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic sector.")] = 0,
    sample_curve: Annotated[bool, typer.Option(
        "--sample-curve", help="Also fit both models on growing worker samples (validation C-index and fit "
        "time per sample size and seed), as the default training sample was chosen.")] = False,
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the figures as JSON here; default HOME/scale-NxY.json.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars or stage lines.")] = False,
) -> None:
    """Time the weekly flow stage by stage on a generated sector (cached under HOME/bench/), with peak memory."""
    from contextlib import nullcontext

    from continuity.benchmarks.scale import scale_benchmark, write_json
    from continuity.progress import quiet as silenced

    settings = Settings()
    _prefect_env(settings)
    with silenced() if quiet else nullcontext():
        result = scale_benchmark(settings, workers, years, seed, sample_curve)
    write_json(result, json_out or settings.home / f"scale-{workers}x{years}.json")
    console.print_json(json.dumps(result, default=str))


token_app = typer.Typer(help="Bearer tokens for the API and the web page.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create", context_settings=SEVERAL_VALUES)
def token_create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(
        metavar="ROLE", help="hr (one organisation), manager (its teams), sector (aggregates only), admin (everything) "
        "or worker (their own record at /me).")],
    organisation: Annotated[Optional[str], typer.Option(metavar="ID", help="The organisation an hr token sees.")] = None,
    team: Annotated[Optional[list[str]], typer.Option(
        metavar="ID ...", help="The teams a manager token sees: --team A B, or --team A --team B.")] = None,
    worker: Annotated[Optional[str], typer.Option(
        metavar="ID", help="The worker a worker token belongs to: they read their own record at /me.")] = None,
    region: Annotated[Optional[list[str]], typer.Option(
        metavar="ID ...", help="Limit a sector token to regions, by municipality code (GM0363 ...): --region A B, "
        "or --region A --region B. Without it, a sector token sees the whole sector.")] = None,
) -> None:
    """Print a new token; it is stored only as a hash, so this is the one time it is shown."""
    from continuity.access import ScopeError, create_token

    # Extra values after a several-valued option belong to --region when it alone is given, else to --team.
    regions_take_extras = bool(region) and not team
    teams = list(team or ()) if regions_take_extras else _option_values(ctx, "--team", team)
    regions = _option_values(ctx, "--region", region) if regions_take_extras else list(region or ())
    try:
        print(create_token(Settings(), role, organisation=organisation, teams=teams, worker=worker, regions=regions))
    except ScopeError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@token_app.command("revoke")
def token_revoke(token: Annotated[str, typer.Argument(metavar="TOKEN", help="The token itself or its id (tok_..., as `token list` shows it).")]) -> None:
    """Revoke a token at once; requests carrying it get 401 from then on."""
    from continuity.access import revoke_token

    if not revoke_token(Settings(), token):
        console.print("[red]error:[/red] no active token matches")
        raise typer.Exit(1)
    console.print("revoked")


@token_app.command("list")
def token_list() -> None:
    """List tokens (ids, roles, scopes, dates); never the tokens themselves."""
    from continuity.access import list_tokens

    table = Table(Column("token_id", no_wrap=True), "role", "organisation", "teams", "regions", "worker", "created",
                  "revoked")
    for t in list_tokens(Settings()):
        table.add_row(t["token_id"], t["role"], t["organisation_id"] or "", ", ".join(t["teams"] or []),
                      ", ".join(t["regions"]), t["worker_id"] or "", str(t["created_at"]), str(t["revoked_at"] or ""))
    console.print(table)


case_numbers_app = typer.Typer(help="The organisation's own case numbers for its clients, shown to hr and managers.",
                               no_args_is_help=True)
app.add_typer(case_numbers_app, name="case-numbers")


@case_numbers_app.command("load")
def case_numbers_load(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV, Parquet or Excel with columns client_id and "
                                         "case_number, client_id as in the assignments export.")],
) -> None:
    """Load (or replace) the lookup from client to case number. The client id is pseudonymised with the ingest's key
    and the lookup kept owner-only under HOME/private, apart from the warehouse and the published weeks; only hr
    and manager tokens see it, on the clients in their scope, each showing audited.

    Exit code 0: loaded; 2: the file is unusable (nothing changed)."""
    from continuity.features.case_numbers import UnusableLookup, load_case_numbers

    settings = Settings()
    try:
        clients = load_case_numbers(file, settings.case_numbers, settings.pseudonym_key.get_secret_value(),
                                    settings.warehouse)
    except UnusableLookup as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"loaded case numbers for {clients} clients into {settings.case_numbers} (replacing any before)")


audit_app = typer.Typer(help="The audit log of individual reads and refused attempts.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain. Exit code 0: every entry follows from the one before;
    1: the first that does not is named (edited, or an entry before it removed or slipped in)."""
    from continuity.access import verify_audit

    check = verify_audit(Settings())
    if check.broken_at is not None:
        console.print(f"[red]broken:[/red] audit entry {check.broken_at} does not follow from the entries before it "
                      f"({check.intact} intact before it)")
        raise typer.Exit(1)
    purged = "" if check.purged_through is None else f" (entries up to {check.purged_through} purged under retention)"
    console.print(f"intact: {check.intact} audit entries{purged}; last hash {check.head}")


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be removed; remove nothing.")] = False,
) -> None:
    """Remove what retention no longer covers: audit entries and reviews older than CONTINUITY_AUDIT_RETENTION_DAYS
    (default 365, at least 183), score history older than CONTINUITY_SCORE_RETENTION_WEEKS (default 104) score
    weeks. The weekly run does this after publishing."""
    from continuity.retention import purge as purge_expired

    report = purge_expired(Settings(), dry_run=dry_run)
    console.print(f"{'would remove' if dry_run else 'removed'} (audit and reviews kept from "
                  f"{report.audit_kept_from:%Y-%m-%d %H:%M} UTC, score weeks from {report.scores_kept_from or '-'}):")
    for name, rows in report.removed.items():
        console.print(f"  {name}: {rows} rows")


if __name__ == "__main__":
    app()
