"""Connections shared by the entry points: Temporal through its own environment configuration,
with the one data converter every client of this project uses (the worker, the starter, the
simulator's signaller, the codec server, the tests and the benchmark): pydantic JSON, encrypted
by `encryption.EncryptionCodec` with each inquiry's data key, failures encrypted too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from itertools import zip_longest
from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.envconfig import ClientConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode

from activities.db import make_engine
from activities.migrations import migrate
from encryption import DataKeys, EncryptionCodec, FailureConverter
from models.settings import Settings
from workflows.intake import UNDECODABLE, describe
from workflows.visibility import ALL_KEYS

DEFAULT_ADDRESS = "127.0.0.1:7233"


class QuietJSONPayloadConverter(PydanticJSONPlainPayloadConverter):
    """Pydantic's JSON, except that a payload that does not fit never quotes itself (pydantic's
    error carries the input, and the SDK logs it). A caller's payload the workflow decodes
    itself (no type hint) becomes {UNDECODABLE: reason}, which the workflow refuses by name;
    one with a type fails with a value-free reason."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as err:
            if type_hint is None:
                return {UNDECODABLE: "not valid JSON"}
            raise ValueError(f"the payload does not fit: {describe(err)}") from None


class PayloadConverter(CompositePayloadConverter):
    """The SDK's default encodings, with JSON through QuietJSONPayloadConverter. A caller's
    payload the workflow decodes itself (no type hint) in an encoding none of them reads
    (`binary/protobuf` of an unknown message, `weird/thing`) becomes {UNDECODABLE: reason} as
    well, so the action is refused and recorded instead of failing the workflow task."""

    def __init__(self) -> None:
        quiet = QuietJSONPayloadConverter()
        super().__init__(
            *(
                quiet if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        hints: list[type | None] = list(type_hints or [])
        values = []
        for payload, hint in zip_longest(payloads, hints[: len(payloads)]):
            try:
                [value] = super().from_payloads([payload], None if hint is None else [hint])
            except (KeyError, RuntimeError, ValueError, TypeError):
                if hint is not None:
                    raise
                value = {UNDECODABLE: "an encoding this service does not read"}
            values.append(value)
        return values


def data_converter(keys: DataKeys) -> DataConverter:
    """The one data converter: every payload and failure encrypted with its inquiry's key."""
    return DataConverter(
        payload_converter_class=PayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=FailureConverter,
    )


@asynccontextmanager
async def data_keys(settings: Settings) -> AsyncIterator[DataKeys]:
    """The configured master keys over the store's data key table (migrated first).

    KeyConfigError when no master key is configured outside development.
    """
    keys = await open_keys(settings)
    try:
        yield keys
    finally:
        keys.engine.dispose()


async def connect_for_process(settings: Settings) -> Client:
    """A client whose key store lives as long as the process (the simulator's signaller)."""
    return await connect(await open_keys(settings))


async def open_keys(settings: Settings) -> DataKeys:
    """The key store for a process that keeps it until it exits."""
    master = settings.load_master_keys()
    engine = make_engine(settings.database_url)
    await asyncio.to_thread(migrate, engine)
    keys = DataKeys(engine, master)
    try:
        await keys.check()
    except BaseException:
        engine.dispose()
        raise
    return keys


async def connect(
    keys: DataKeys, env: Mapping[str, str] | None = None, runtime: Runtime | None = None
) -> Client:
    """TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* and profiles."""
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return await Client.connect(**config, data_converter=data_converter(keys), runtime=runtime)


def metrics_runtime(host: str, port: int) -> Runtime | None:
    """A runtime serving Prometheus metrics at http://host:port/metrics; None when port is 0."""
    if port == 0:
        return None
    prometheus = PrometheusConfig(bind_address=f"{host}:{port}")
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


class SearchAttributesMissing(RuntimeError):
    """The namespace lacks the contract's search attributes; workflows would stall on upsert."""


async def ensure_search_attributes(client: Client, *, register: bool) -> list[str]:
    """Check the contract's search attributes; register the missing ones when allowed.

    Returns the names it registered. Without them every inquiry's workflow task would fail on
    its first upsert, so a worker refuses to start rather than take work it cannot do.
    """
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = dict(existing.custom_attributes) | dict(existing.system_attributes)
    except RPCError as err:
        # The time-skipping test server cannot list them; it can register them.
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = {}
    missing = {
        key.name: IndexedValueType.ValueType(_indexed(key.indexed_value_type))
        for key in ALL_KEYS
        if key.name not in known
    }
    wrong = [
        key.name
        for key in ALL_KEYS
        if key.name in known and known[key.name] != _indexed(key.indexed_value_type)
    ]
    if wrong:
        raise SearchAttributesMissing(f"search attributes with the wrong type: {', '.join(wrong)}")
    if not missing:
        return []
    if not register:
        raise SearchAttributesMissing(
            "register these search attributes on the namespace first: "
            + ", ".join(f"{name}={_type_name(kind)}" for name, kind in missing.items())
        )
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
    )
    return sorted(missing)


def _indexed(kind: SearchAttributeIndexedValueType) -> int:
    return int(kind.value)


def _type_name(kind: int) -> str:
    return (
        IndexedValueType.Name(IndexedValueType.ValueType(kind))
        .removeprefix("INDEXED_VALUE_TYPE_")
        .title()
        .replace("_", "")
    )


def search_attribute_flags() -> list[str]:
    """`--search-attribute Name=Type` for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL_KEYS:
        kind = _type_name(_indexed(key.indexed_value_type))
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags


__all__ = [
    "connect",
    "data_converter",
    "data_keys",
    "ensure_search_attributes",
    "search_attribute_flags",
]
