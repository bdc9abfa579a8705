"""One typed settings object, read from the environment (prefix CONTINUITY_).

Every path defaults to a folder under the working directory so that the embedded
default (DuckDB file, MLflow on SQLite, local artifacts) runs on one machine with
no set-up; production reaches PostgreSQL by setting the URIs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUITY_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("var"), description="Folder for all local state.")
    warehouse_path: Path | None = Field(default=None, description="DuckDB file; default HOME/warehouse.duckdb.")
    export_dir: Path | None = Field(default=None, description="Export files to ingest; default HOME/sector/exports.")
    mlflow_tracking_uri: str | None = Field(default=None, description="Default: sqlite:///HOME/mlflow.db.")
    mlflow_artifact_root: Path | None = Field(default=None, description="Default: HOME/mlartifacts.")
    registered_model_name: str = "continuity-voluntary-leaving"
    pseudonym_key: SecretStr = Field(
        default=SecretStr("continuity-demo-key-not-for-production"),
        description="Key of the keyed hash that pseudonymises client ids; never stored with the data.",
    )
    access_db_path: Path | None = Field(
        default=None,
        description="SQLite file of access tokens and the audit log; default HOME/access.db. Kept apart from the "
        "warehouse so that a login or an audited read never writes the file the weekly flow publishes into.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    @cached_property
    def warehouse(self) -> Path:
        return self.warehouse_path or self.home / "warehouse.duckdb"

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
