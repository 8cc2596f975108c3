"""Configuration, read from the environment by the entry points only (worker, starter, simulator).

Temporal's own connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_*) are read by `temporalio.envconfig`, not here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from encryption.master import LocalMasterKeys, load_master_keys
from models.contract import Department

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class Settings(BaseSettings):
    # Errors name the setting, never echo the environment (it holds tokens and database URLs).
    model_config = SettingsConfigDict(env_file=None, extra="ignore", hide_input_in_errors=True)

    environment: Literal["development", "production"] = Field(
        default="development", alias="INQUIRY_ENV"
    )
    task_queue: str = Field(default="regulated-inquiries", alias="INQUIRY_TASK_QUEUE")
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR / 'inquiries.db'}", alias="DATABASE_URL"
    )

    billing_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8081/billing"), alias="BILLING_URL"
    )
    clinical_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8081/clinical"), alias="CLINICAL_URL"
    )
    legal_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8081/legal"), alias="LEGAL_URL"
    )
    billing_token: SecretStr | None = Field(default=None, alias="BILLING_TOKEN")
    clinical_token: SecretStr | None = Field(default=None, alias="CLINICAL_TOKEN")
    legal_token: SecretStr | None = Field(default=None, alias="LEGAL_TOKEN")
    department_timeout: timedelta = Field(
        default=timedelta(seconds=10), alias="DEPARTMENT_HTTP_TIMEOUT"
    )

    # Prometheus metrics of the worker (the SDK's and the inquiries'); 0 switches them off.
    metrics_host: str = Field(default="127.0.0.1", alias="METRICS_HOST")
    metrics_port: int = Field(default=9464, ge=0, le=65535, alias="METRICS_PORT")

    triage_rules_path: Path = Field(
        default=PROJECT_ROOT / "config" / "triage_rules.toml", alias="TRIAGE_RULES_PATH"
    )
    roster_path: Path = Field(default=PROJECT_ROOT / "config" / "roster.toml", alias="ROSTER_PATH")
    policy_path: Path = Field(default=PROJECT_ROOT / "config" / "policy.toml", alias="POLICY_PATH")

    # Master keys of the payload codec (encryption/master.py): the JSON itself, or a file of it.
    # In development a missing file is created with a fresh key; elsewhere it must exist.
    master_keys: SecretStr | None = Field(default=None, alias="INQUIRY_MASTER_KEYS")
    master_keys_file: Path = Field(
        default=DEFAULT_DATA_DIR / "master-keys.json", alias="INQUIRY_MASTER_KEYS_FILE"
    )

    @model_validator(mode="after")
    def _production_needs_real_settings(self) -> Settings:
        if self.environment == "production":
            if self.database_url.startswith("sqlite"):
                raise ValueError("DATABASE_URL must name a server database in production")
            missing = [d.value.upper() + "_TOKEN" for d in Department if self.token(d) is None]
            if missing:
                raise ValueError(f"set {', '.join(missing)} in production")
        return self

    # How long a closed inquiry's personal data is kept (`starter.py purge`, run daily); the audit
    # facts stay. Temporal's own history goes after the namespace's retention.
    retention: timedelta = Field(default=timedelta(days=365), alias="INQUIRY_RETENTION")

    # The codec server (codec_server.py) for the Temporal UI and CLI.
    codec_host: str = Field(default="127.0.0.1", alias="INQUIRY_CODEC_HOST")
    codec_port: int = Field(default=8234, ge=1, le=65535, alias="INQUIRY_CODEC_PORT")
    # The Temporal UI's origin, the only one CORS answers; empty for none (CLI only).
    codec_ui_origin: str = Field(default="http://127.0.0.1:8233", alias="INQUIRY_CODEC_UI_ORIGIN")
    codec_tokens_file: Path = Field(
        default=DEFAULT_DATA_DIR / "codec-tokens.json", alias="INQUIRY_CODEC_TOKENS_FILE"
    )

    def load_master_keys(self) -> LocalMasterKeys:
        """The codec's key ring; KeyConfigError names what is missing (never a key)."""
        inline = self.master_keys.get_secret_value() if self.master_keys else None
        return load_master_keys(
            inline, self.master_keys_file, create_if_missing=self.environment == "development"
        )

    def department_url(self, department: Department) -> str:
        url = {
            Department.BILLING: self.billing_url,
            Department.CLINICAL: self.clinical_url,
            Department.LEGAL: self.legal_url,
        }[department]
        return str(url).rstrip("/")

    def token(self, department: Department) -> SecretStr | None:
        return {
            Department.BILLING: self.billing_token,
            Department.CLINICAL: self.clinical_token,
            Department.LEGAL: self.legal_token,
        }[department]
