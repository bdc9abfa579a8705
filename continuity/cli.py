"""The `continuity` command line: one verb per job of the product.

Heavy libraries are imported inside each command so that `continuity --help`
answers at once.
"""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from continuity.config import Settings

app = typer.Typer(help="Forecast which social workers are likely to leave and what it costs their clients.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write exports/, oracle/ and sector.json into.")] = Path("var/sector"),
    workers: Annotated[int, typer.Option(min=20, help="Number of positions in the sector.")] = 2000,
    years: Annotated[int, typer.Option(min=1, max=20, help="Years of weekly history.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives identical files.")] = 0,
    format: Annotated[ExportFormat, typer.Option("--format", help="Export file format.")] = ExportFormat.parquet,
) -> None:
    """Generate the synthetic Dutch social-work sector as data-contract export files."""
    from continuity.synth.generate import generate_sector

    summary = generate_sector(out, workers=workers, years=years, seed=seed, fmt=format.value)
    console.print(summary)


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="Folder with workers, hr_events, assignments, [contacts], funding_contracts files.")],
    mapping: Annotated[Optional[Path], typer.Option(help="YAML mapping of column names and labels.")] = None,
    warehouse: Annotated[Optional[Path], typer.Option(help="DuckDB file; default from settings.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write the ingest report as JSON here.")] = None,
) -> None:
    """Validate, pseudonymise and load an export; invalid rows are quarantined and reported.

    Exit code 0: everything loaded; 1: some rows quarantined; 2: input unusable, nothing written.
    """
    from continuity.features.ingest import UnusableInput, ingest_dir

    settings = Settings()
    try:
        result = ingest_dir(source, warehouse or settings.warehouse, mapping=mapping,
                            pseudonym_key=settings.pseudonym_key.get_secret_value())
    except UnusableInput as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    payload = result.to_json()
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(payload, indent=2, default=str))
    for name, counts in payload["tables"].items():
        console.print(f"{name}: read {counts['read']}, loaded {counts['loaded']}, quarantined {counts['quarantined']}")
    for error in payload["errors"][:20]:
        console.print(f"[yellow]{error['file']}[/yellow] row {error['row']} column {error['column']}: {error['reason']} ({error['value']!r})")
    if len(payload["errors"]) > 20:
        console.print(f"... and {len(payload['errors']) - 20} more errors (see --report)")
    raise typer.Exit(result.exit_code)


def _prefect_env(settings: Settings) -> None:
    """Prefect without a server keeps its own SQLite under PREFECT_HOME: give it ours, and no telemetry."""
    import os

    prefect_home = (settings.home / "prefect").resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@app.command()
def run(
    retrain: Annotated[bool, typer.Option(help="Retrain and re-register; --no-retrain scores with the current champion.")] = True,
) -> None:
    """Run the weekly flow: ingest -> features -> train -> evaluate -> register -> score -> publish."""
    settings = Settings()
    _prefect_env(settings)
    from continuity.flows.report import print_summary
    from continuity.flows.weekly import weekly

    result = weekly(settings=settings, retrain=retrain)
    print_summary(console, result, settings)


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
    from continuity.flows.weekly import weekly
    from continuity.synth.generate import generate_sector

    if not (settings.exports / "workers.parquet").exists() and not (settings.exports / "workers.csv").exists():
        console.print(f"Generating the synthetic sector ({workers} positions, {years} years) into {settings.exports.parent}")
        generate_sector(settings.exports.parent, workers=workers, years=years, seed=0, fmt="parquet")
    result = weekly(settings=settings, retrain=True)
    print_summary(console, result, settings)
    if serve:
        from continuity.access import create_token
        from continuity.serving.app import serve as serve_api

        token = create_token(settings, "admin")
        console.print(f"A demo admin token (shown once; revoke with `continuity token revoke`):\n  {token}\n"
                      f"Log in at http://{settings.api_host}:{settings.api_port}/ui or send "
                      "`Authorization: Bearer <token>` to the API.")
        serve_api(settings.api_host, settings.api_port, settings)


@app.command("evaluate-csv")
def evaluate_csv(
    file: Annotated[Path, typer.Argument(help="One row per employee: a tenure column, a left flag, other attributes.")],
    duration: Annotated[str, typer.Option(help="Column with the time in the organisation (tenure).")],
    event: Annotated[str, typer.Option(help="Column saying whether the person left (yes/no, 1/0, true/false).")],
    drop: Annotated[Optional[list[str]], typer.Option(help="Columns to leave out (ids, constants): --drop A B C.")] = None,
    more_drops: Annotated[Optional[list[str]], typer.Argument(hidden=True, help="Further names after --drop.")] = None,
    folds: Annotated[int, typer.Option(min=2, help="Folds of the stratified cross-validation.")] = 5,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats of the cross-validation.")] = 3,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Run the project's models on any single-table HR file with repeated stratified cross-validation."""
    from continuity.features.readers import UnreadableFile
    from continuity.features.tabular_file import TabularFileError
    from continuity.models.tabular import evaluate_csv as evaluate, print_evaluation

    try:
        # `--drop A B C`: click reads A as the option's value and B, C as trailing arguments
        result = evaluate(file, duration, event, drop=[*(drop or ()), *(more_drops or ())], folds=folds, repeats=repeats)
    except (UnreadableFile, TabularFileError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print_evaluation(console, result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API (docs at /docs) on the published scores."""
    from continuity.serving.app import serve as serve_api

    serve_api(host, port, Settings())


bench_app = typer.Typer(help="Benchmarks that print and record figures (never timed tests).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("quality")
def bench_quality(
    json_out: Annotated[Path, typer.Option("--json", help="Write the figures as JSON here.")] = Path("var/quality.json"),
) -> None:
    """Rolling backtest on the default synthetic sector, next to the oracle, and the IBM file by cross-validation."""
    from continuity.models.benchmark import quality_benchmark

    result = quality_benchmark(json_out, Settings())
    console.print_json(json.dumps(result, default=str))


@bench_app.command("api")
def bench_api(
    rate: Annotated[int, typer.Option(min=1, help="Requests per second, sent open-loop on loopback.")] = 500,
    duration: Annotated[float, typer.Option(min=0.5, help="Seconds of load.")] = 20.0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Load a locally started API on 127.0.0.1 and report p50, p99 and errors per endpoint."""
    from continuity.serving.bench import run_api_bench

    result = run_api_bench(rate, duration, Settings())
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))
    console.print_json(json.dumps(result))


token_app = typer.Typer(help="Bearer tokens for the API and the web page.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="hr, manager, sector or admin.")],
    organisation: Annotated[Optional[str], typer.Option(help="The organisation an hr token sees.")] = None,
    team: Annotated[Optional[list[str]], typer.Option(help="A team a manager token sees; repeat for more.")] = None,
) -> None:
    """Print a new token; it is stored only as a hash, so this is the one time it is shown."""
    from continuity.access import ScopeError, create_token

    try:
        print(create_token(Settings(), role, organisation=organisation, teams=team or ()))
    except ScopeError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@token_app.command("revoke")
def token_revoke(token: Annotated[str, typer.Argument(help="The token itself or its tok_... id.")]) -> None:
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

    table = Table("token_id", "role", "organisation", "teams", "created", "revoked")
    for t in list_tokens(Settings()):
        table.add_row(t["token_id"], t["role"], t["organisation_id"] or "", ", ".join(t["teams"] or []),
                      str(t["created_at"]), str(t["revoked_at"] or ""))
    console.print(table)


if __name__ == "__main__":
    app()
