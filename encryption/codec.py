"""The payload codec and failure converter of the project's one data converter."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Self

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DefaultFailureConverter,
    PayloadCodec,
    PayloadConverter,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.exceptions import ApplicationError

from encryption.data_keys import SHARED_SCOPE, DataKeys
from encryption.master import NONCE_BYTES

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"

# Failures whose message the project composes from field and rule names only, and which a raw
# client must be able to read without the codec: the contract promises that a refused intake
# names the field that is wrong. Every other failure's message and stack trace are encrypted.
PLAIN_FAILURE_TYPES = frozenset({"InvalidIntake"})


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM with the data key of the payload's inquiry (its workflow id)."""

    def __init__(self, keys: DataKeys, scope: str = SHARED_SCOPE) -> None:
        self._keys = keys
        self._scope = scope

    @property
    def keys(self) -> DataKeys:
        return self._keys

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = getattr(context, "workflow_id", None)
        return type(self)(self._keys, workflow_id or SHARED_SCOPE)

    def for_scope(self, scope: str) -> EncryptionCodec:
        """This codec for an inquiry named outside the SDK (the codec server's header)."""
        return EncryptionCodec(self._keys, scope)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        key = await self._keys.for_scope(self._scope)
        key_id = key.key_id.encode()
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = key.cipher.encrypt(nonce, payload.SerializeToString(), key_id)
            encoded.append(
                Payload(
                    metadata={
                        # AES-256-GCM: a scheme change would get an encoding of its own.
                        "encoding": ENCRYPTED_ENCODING,
                        KEY_ID_METADATA: key_id,
                    },
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
                decoded.append(payload)  # plain JSON from a raw client
                continue
            key_id = payload.metadata[KEY_ID_METADATA]
            key = await self._keys.by_id(key_id.decode())
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            decoded.append(Payload.FromString(key.cipher.decrypt(nonce, sealed, key_id)))
        return decoded


def key_ids(payloads: Sequence[Payload]) -> list[str]:
    """The data keys these payloads were encrypted with (for the codec server's audit)."""
    return sorted(
        {
            p.metadata[KEY_ID_METADATA].decode()
            for p in payloads
            if p.metadata.get("encoding") == ENCRYPTED_ENCODING and KEY_ID_METADATA in p.metadata
        }
    )


class FailureConverter(DefaultFailureConverter):
    """Moves every failure's message and stack trace into an encoded (so encrypted) payload,
    except the few whose message is composed of names only (`PLAIN_FAILURE_TYPES`)."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)
        self._plain = DefaultFailureConverter(encode_common_attributes=False)

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Any
    ) -> None:
        if isinstance(exception, ApplicationError) and exception.type in PLAIN_FAILURE_TYPES:
            self._plain.to_failure(exception, payload_converter, failure)
            failure.stack_trace = ""
            return
        super().to_failure(exception, payload_converter, failure)
