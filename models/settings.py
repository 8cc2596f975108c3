"""Configuration, read from the environment by the entry points only (worker, starter, simulator).

Temporal's own connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_*) are read by `temporalio.envconfig`, not here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.config_files import ConfigError
from audit.keys import load_signing_key, load_verify_key
from encryption.master import LocalMasterKeys, load_master_keys
from identity.keys import DEV_ISSUER, DevIssuer, IssuerKeys
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

    # Workflows the worker keeps in memory between tasks (the SDK's sticky cache). 0 replays every
    # task from history: the test suite's forced-replay pass; fewer bounds the worker's memory.
    max_cached_workflows: int = Field(default=1000, ge=0, alias="INQUIRY_MAX_CACHED_WORKFLOWS")

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

    # Who is acting (identity/): the staff issuer's `iss` and public keys (a JWKS file), and
    # whether every staff action and department result must carry a valid signed assertion.
    # Production always requires them; in development a missing JWKS file is created with a
    # development signing key (INQUIRY_DEV_ISSUER_KEY_FILE) that `starter.py` signs with.
    issuer: str = Field(default="dev-issuer", alias="INQUIRY_ISSUER")
    issuer_jwks_file: Path = Field(
        default=DEFAULT_DATA_DIR / "dev-issuer.jwks.json", alias="INQUIRY_ISSUER_JWKS_FILE"
    )
    dev_issuer_key_file: Path = Field(
        default=DEFAULT_DATA_DIR / "dev-issuer-key.pem", alias="INQUIRY_DEV_ISSUER_KEY_FILE"
    )
    require_signed_actions: bool = Field(default=False, alias="REQUIRE_SIGNED_ACTIONS")

    @property
    def signed_actions_required(self) -> bool:
        return self.require_signed_actions or self.environment == "production"

    def issuer_keys(self) -> IssuerKeys:
        """The staff issuer's public keys; in development, the development issuer's, made on
        first use. ConfigError names the file when they cannot be used."""
        if self.environment == "development" and self.issuer == DEV_ISSUER:
            DevIssuer.ensure(self.dev_issuer_key_file, self.issuer_jwks_file)
        return IssuerKeys(self.issuer_jwks_file)

    def dev_issuer(self) -> DevIssuer:
        """The development issuer `starter.py` signs with; ConfigError outside development."""
        if self.environment != "development" or self.issuer != DEV_ISSUER:
            raise ConfigError(
                "the development issuer signs only in development with INQUIRY_ISSUER=dev-issuer;"
                " pass an assertion from your identity provider instead"
            )
        return DevIssuer.ensure(self.dev_issuer_key_file, self.issuer_jwks_file)

    @model_validator(mode="after")
    def _production_needs_real_settings(self) -> Settings:
        if self.environment == "production":
            if self.database_url.startswith("sqlite"):
                raise ValueError("DATABASE_URL must name a server database in production")
            missing = [d.value.upper() + "_TOKEN" for d in Department if self.token(d) is None]
            if missing:
                raise ValueError(f"set {', '.join(missing)} in production")
            if self.issuer == DEV_ISSUER:
                raise ValueError("set INQUIRY_ISSUER to your identity issuer in production")
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

    # Signed checkpoints of the audit trail's chain heads (audit/checkpoints.py): the Ed25519
    # signing key as PEM text or a PEM file (in development a missing file is created, with its
    # public key beside it; elsewhere it must exist), where checkpoints go, and how often the
    # worker writes one (0 for never).
    audit_signing_key: SecretStr | None = Field(default=None, alias="INQUIRY_AUDIT_SIGNING_KEY")
    audit_signing_key_file: Path = Field(
        default=DEFAULT_DATA_DIR / "audit-signing-key.pem", alias="INQUIRY_AUDIT_SIGNING_KEY_FILE"
    )
    audit_checkpoint_dir: Path = Field(
        default=DEFAULT_DATA_DIR / "audit-checkpoints", alias="INQUIRY_AUDIT_CHECKPOINT_DIR"
    )
    audit_checkpoint_every: timedelta = Field(
        default=timedelta(minutes=15), alias="INQUIRY_AUDIT_CHECKPOINT_EVERY"
    )

    def load_master_keys(self) -> LocalMasterKeys:
        """The codec's key ring; KeyConfigError names what is missing (never a key)."""
        inline = self.master_keys.get_secret_value() if self.master_keys else None
        return load_master_keys(
            inline, self.master_keys_file, create_if_missing=self.environment == "development"
        )

    def load_audit_signing_key(self) -> Ed25519PrivateKey:
        """The checkpoints' signing key; KeyConfigError names the setting (never the key)."""
        inline = self.audit_signing_key.get_secret_value() if self.audit_signing_key else None
        return load_signing_key(
            inline,
            self.audit_signing_key_file,
            create_if_missing=self.environment == "development",
        )

    def load_audit_verify_key(self) -> Ed25519PublicKey | None:
        """The public key that checks checkpoints; None when no signing key exists yet."""
        inline = self.audit_signing_key.get_secret_value() if self.audit_signing_key else None
        return load_verify_key(inline, self.audit_signing_key_file)

    def department_url(self, department: Department) -> str:
        url = {
            Department.BILLING: self.billing_url,
            Department.CLINICAL: self.clinical_url,
            Department.LEGAL: self.legal_url,
        }[department]
        return str(url).rstrip("/")

    def department_secret(self, department: str) -> str | None:
        """The token a department signs its results with (identity/verifier.py)."""
        token = self.token(Department(department))
        return token.get_secret_value() if token is not None else None

    def token(self, department: Department) -> SecretStr | None:
        return {
            Department.BILLING: self.billing_token,
            Department.CLINICAL: self.clinical_token,
            Department.LEGAL: self.legal_token,
        }[department]
