"""docker-compose.yml as docker-compose reads it: valid, guarded by its secrets, and consistent
with the code's configuration and the contract's search attributes. No Docker engine needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from temporalio.envconfig import ClientConfig

import clients
from models.settings import Settings
from simulator.config import SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "POSTGRES_PASSWORD": "postgres0secret",
    "TEMPORAL_DB_PASSWORD": "temporal0secret",
    "INQUIRIES_DB_PASSWORD": "inquiries0secret",
    "BILLING_TOKEN": "billing-token",
    "CLINICAL_TOKEN": "clinical-token",
    "LEGAL_TOKEN": "legal-token",
    "INQUIRY_MASTER_KEYS": json.dumps({"active": "k1", "keys": {"k1": "A" * 43 + "="}}),
    "INQUIRY_ISSUER": "https://id.example.test/",
    "INQUIRY_ISSUER_JWKS": "/etc/ssl/issuer.jwks.json",
    "INQUIRY_AUDIT_SIGNING_KEY": Ed25519PrivateKey.generate()
    .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    .decode(),
}
# What temporalio.envconfig reads (besides TEMPORAL_GRPC_META_*); it exports no such list.
ENVCONFIG_VARS = {
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_CODEC_ENDPOINT",
    "TEMPORAL_CODEC_AUTH",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
}


def _compose_command() -> list[str]:
    if found := shutil.which("docker-compose"):
        return [found]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    reason = "docker-compose is not installed (apt-get install docker-compose)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must validate docker-compose.yml")
    pytest.skip(reason)


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only these variables, so a developer's exported BILLING_URL and the like change nothing.
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [*_compose_command(), "-f", str(ROOT / "docker-compose.yml"), *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    done = compose("config", env=SECRETS)
    assert done.returncode == 0, done.stderr
    return dict(yaml.safe_load(done.stdout)["services"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_accepts_the_file_when_the_secrets_are_set() -> None:
    done = compose("config", "-q", env=SECRETS)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(missing: str) -> None:
    done = compose("config", "-q", env={k: v for k, v in SECRETS.items() if k != missing})
    assert done.returncode != 0
    assert f"set {missing}" in done.stderr


def test_worker_sets_only_variables_the_code_reads(services: dict[str, Any]) -> None:
    settings_vars = {f.alias for f in Settings.model_fields.values() if f.alias}
    unknown = set(environment(services["worker"])) - settings_vars - ENVCONFIG_VARS
    assert not unknown, f"the worker ignores {sorted(unknown)}"


def test_worker_environment_is_a_valid_production_configuration(
    services: dict[str, Any],
) -> None:
    env = environment(services["worker"])
    settings = Settings.model_validate(env)
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql://")
    assert settings.load_audit_signing_key()  # checkpoints are signed; the key is not made up
    connect = ClientConfig.load_client_connect_config(override_env_vars=env)
    assert connect["target_host"] == "temporal:7233"


def test_simulator_demands_exactly_the_tokens_the_worker_sends(services: dict[str, Any]) -> None:
    worker, simulator = environment(services["worker"]), environment(services["simulator"])
    config = SimulatorConfig.from_env(simulator)
    settings = Settings.model_validate(worker)
    for department, desk in config.departments.items():
        token = settings.token(department)
        assert desk.token is not None and token is not None
        assert desk.token.get_secret_value() == token.get_secret_value()
        assert settings.department_url(department) == f"http://simulator:8081/{department.value}"


def test_admin_job_registers_the_contract_search_attributes(services: dict[str, Any]) -> None:
    expected = {flag for flag in clients.search_attribute_flags() if flag != "--search-attribute"}
    registered = environment(services["temporal-admin-tools"])["SEARCH_ATTRIBUTES"].split()
    assert sorted(registered) == sorted(expected)
    assert len(registered) == 8


def test_every_process_that_encrypts_shares_the_master_keys_and_the_data_key_store(
    services: dict[str, Any],
) -> None:
    sharing = [environment(services[name]) for name in ("worker", "simulator", "codec-server")]
    assert {env["INQUIRY_MASTER_KEYS"] for env in sharing} == {SECRETS["INQUIRY_MASTER_KEYS"]}
    assert len({env["DATABASE_URL"] for env in sharing}) == 1
    for env in sharing:
        assert Settings.model_validate(env).load_master_keys().active_id == "k1"


def test_the_ui_decodes_through_the_codec_server_that_answers_its_origin(
    services: dict[str, Any],
) -> None:
    ui = environment(services["temporal-ui"])
    settings = Settings.model_validate(environment(services["codec-server"]))
    codec_at = published(services["codec-server"])[settings.codec_port]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"http://{codec_at}"
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert settings.codec_ui_origin == f"http://{published(services['temporal-ui'])[8080]}"


def published(service: dict[str, Any]) -> dict[int, str]:
    """Container port -> the host address it is published at, in either syntax compose prints."""
    found = {}
    for port in service["ports"]:
        if isinstance(port, dict):
            found[int(port["target"])] = f"{port.get('host_ip', '0.0.0.0')}:{port['published']}"
        else:
            host_ip, host_port, target = port.split("/")[0].rsplit(":", 2)
            found[int(target)] = f"{host_ip}:{host_port}"
    return found
