"""One typed settings object, read from the environment (prefix CONTINUITY_).

Every path defaults to a folder under the working directory so that the embedded
default (DuckDB file, MLflow on SQLite, local artifacts) runs on one machine with
no set-up; production reaches PostgreSQL by setting the URIs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The public IBM HR attrition file lies beside the repository (../shared/data), not in it; found from here,
# whatever the working directory.
IBM_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "ibm_hr_attrition.csv"
# Six months, the least the AI Act (art. 26(6)) lets a deployer keep a high-risk system's logs.
MIN_AUDIT_RETENTION_DAYS = 183
# Where ingest stops reading an export file into pandas and validates it inside DuckDB instead.
INGEST_SQL_MIN_BYTES = 2**20
# The built-in key: accepted only for the synthetic sector (features.ingest refuses it for a real export).
DEMO_PSEUDONYM_KEY = "continuity-demo-key-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUITY_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("var"), description="Folder for all local state.")
    warehouse_path: Path | None = Field(default=None, description="DuckDB file; default HOME/warehouse.duckdb.")
    published_dir: Path | None = Field(default=None, description="Published weeks; default HOME/published.")
    export_dir: Path | None = Field(default=None, description="Export files to ingest; default HOME/sector/exports.")
    mlflow_tracking_uri: str | None = Field(default=None, description="Default: sqlite:///HOME/mlflow.db.")
    mlflow_artifact_root: Path | None = Field(default=None, description="Default: HOME/mlartifacts.")
    export_mapping: Path | None = Field(
        default=None, description="YAML mapping of the export's file, column and label names (as `ingest --mapping`); "
        "the weekly flow ingests with it. `run --mapping` overrides it.",
    )
    registered_model_name: str = "continuity-voluntary-leaving"
    base_model: str | None = Field(
        default=None, description="A registered base model (a NAME, its newest version, or models:/NAME/VERSION, "
        "models:/NAME@ALIAS) the weekly flow recalibrates on the organisation's own weeks: chosen when it beats "
        "a model trained on own data, or alone when the export is too short to train on. `continuity base-model` "
        "registers one from the synthetic sector; `run --base-model` overrides it.",
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(DEMO_PSEUDONYM_KEY),
        description="Key of the keyed hash that pseudonymises client ids; never stored with the data.",
    )
    access_db_path: Path | None = Field(
        default=None,
        description="SQLite file of access tokens and the audit log; default HOME/access.db. Kept apart from the "
        "warehouse so that a login or an audited read never writes the file the weekly flow publishes into.",
    )
    api_host: str = Field(default="127.0.0.1", description="Interface `serve` and `demo` listen on.")
    api_port: int = Field(default=8000, description="Port `serve` and `demo` listen on.")
    ibm_csv_path: Path = Field(
        default=IBM_CSV, description="The IBM HR attrition file `bench quality` cross-validates the models on "
        "next to the synthetic sector; skipped when absent.",
    )
    max_body_bytes: int = Field(
        default=1_000_000, gt=0,
        description="Largest request body the API reads; larger ones get 413 before they are read. The API's "
        "bodies are a few hundred bytes, and a body is held in memory whole before the caller is authenticated.",
    )
    session_hours: float = Field(
        default=8, gt=0, description="How long a web-page login lasts before the token must be entered again.",
    )
    health_features: bool | None = Field(
        default=None, description="Whether the sick-leave features (health data, GDPR art. 9) are model inputs. "
        "Unset: on for the synthetic sector (its export folder has sector.json beside it), off for a real export, "
        "which opts in with true once its DPIA allows (docs/dpia.md).",
    )
    audit_retention_days: int = Field(
        default=365, description="Days the audit log and the reviews are kept (`continuity purge`); at least "
        f"{MIN_AUDIT_RETENTION_DAYS}: a deployer keeps a high-risk system's logs for six months or more "
        "(AI Act art. 26(6)).",
    )
    warehouse_memory_limit: str = Field(
        default="4GB", description="Memory DuckDB may use for the warehouse (its `memory_limit`, e.g. 4GB); a "
        "larger query spills to HOME's duckdb-tmp folder instead. 4 GB leaves half of an 8 GB budget to the "
        "models and Python on a sector of 150,000 positions.",
    )
    warehouse_threads: int | None = Field(
        default=None, ge=1, description="Threads DuckDB may use for the warehouse; default one per core.",
    )
    ingest_sql_min_bytes: int = Field(
        default=INGEST_SQL_MIN_BYTES, ge=0, description="Export files (CSV, Parquet) of at least this many bytes are "
        "validated inside DuckDB, the others (and every Excel file) with pandas; both give the same rows, reasons and "
        "report, DuckDB without holding the file in memory. 0 sends every CSV and Parquet file through DuckDB.",
    )
    score_retention_weeks: int = Field(
        default=104, ge=2, description="Score weeks of history (risk scores, survival curves, exposure) the warehouse "
        "keeps, counted back from the newest; at least 2, for the change since last week.",
    )
    task_runner: Literal["local", "dask"] = Field(
        default="local", description="Where the weekly flow's heavy tasks run: in the flow's own process (local) or "
        "on a Dask cluster (dask: prefect-dask's DaskTaskRunner, on CONTINUITY_DASK_ADDRESS when set, else on a "
        "LocalCluster of this machine), gradient boosting then training through xgboost.dask.",
    )
    dask_address: str | None = Field(
        default=None, description="The scheduler of a running Dask cluster (e.g. tcp://10.0.0.5:8786) for "
        "task_runner=dask. Its workers must reach HOME (the warehouse, MLflow store and published weeks) under "
        "the same path, and have this package installed.",
    )

    @field_validator("audit_retention_days")
    @classmethod
    def _six_months_of_logs(cls, days: int) -> int:
        if days < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(f"CONTINUITY_AUDIT_RETENTION_DAYS={days} is refused: the AI Act (art. 26(6)) has a "
                             f"deployer keep the logs at least six months ({MIN_AUDIT_RETENTION_DAYS} days)")
        return days

    @cached_property
    def health_inputs(self) -> bool:
        """Whether the models may use the sick-leave features (see ``health_features``)."""
        if self.health_features is not None:
            return self.health_features
        return (self.exports.parent / "sector.json").exists()

    @cached_property
    def warehouse(self) -> Path:
        return self.warehouse_path or self.home / "warehouse.duckdb"

    @cached_property
    def published(self) -> Path:
        """Folder of the published weeks the answers read (``continuity.publication``)."""
        return self.published_dir or self.home / "published"

    @cached_property
    def case_numbers(self) -> Path:
        """The organisation's own case number per pseudonymised client (``continuity case-numbers load``): a
        file of its own under HOME/private, owner-only, never in the warehouse or a publication."""
        return self.home / "private" / "case_numbers.parquet"

    @cached_property
    def handover_plans(self) -> Path:
        """Handover plans accepted on the web page (``continuity.serving.workbench``): owner-only, under
        HOME/private beside the case numbers, never in the warehouse or a publication."""
        return self.home / "private" / "handover_plans"

    @cached_property
    def access_db(self) -> Path:
        return self.access_db_path or self.home / "access.db"

    @cached_property
    def exports(self) -> Path:
        return self.export_dir or self.home / "sector" / "exports"

    @cached_property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @cached_property
    def artifact_root(self) -> Path:
        return (self.mlflow_artifact_root or self.home / "mlartifacts").resolve()
