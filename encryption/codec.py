"""The payload codec and failure converter of the project's one data converter."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    DefaultFailureConverter,
    PayloadCodec,
    PayloadConverter,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.exceptions import ApplicationError

from encryption.data_keys import SHARED_SCOPE, DataKeys, UnknownDataKey
from encryption.master import NONCE_BYTES
from workflows.intake import UNDECODABLE

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID = re.compile(rb"[0-9a-f]{32}")  # uuid4().hex, as DataKeys makes them
KEY_ID_METADATA = "encryption-key-id"
# Bound into the authenticated data of a payload sealed in an activity's context: such a payload
# opens only there, and nothing sealed elsewhere (the codec server's encode) opens there.
ACTIVITY_AAD = b"|activity"

# Failures whose message the project composes from field and rule names only, and which a raw
# client must be able to read without the codec: the contract promises that a refused intake
# names the field that is wrong. Every other failure's message and stack trace are encrypted.
PLAIN_FAILURE_TYPES = frozenset({"InvalidIntake"})


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM with the data key of the payload's inquiry (its workflow id)."""

    def __init__(
        self, keys: DataKeys, scope: str = SHARED_SCOPE, *, sealed_only: bool = False
    ) -> None:
        self._keys = keys
        self._scope = scope
        self._sealed_only = sealed_only

    @property
    def keys(self) -> DataKeys:
        return self._keys

    def with_context(self, context: SerializationContext) -> Self:
        """The codec for one inquiry (its workflow id).

        An activity's arguments and result are only ever written by our own workers, so in an
        activity's context a payload must be sealed *as an activity's* (ACTIVITY_AAD bound in):
        a plain one, or one the codec server sealed for an operator (`encode` outside any
        activity), does not open there. So nobody completing an activity by hand, codec token
        or not, can hand the workflow a result it takes for our worker's."""
        workflow_id = getattr(context, "workflow_id", None)
        sealed_only = isinstance(context, ActivitySerializationContext)
        return type(self)(self._keys, workflow_id or SHARED_SCOPE, sealed_only=sealed_only)

    def _aad(self, key_id: bytes) -> bytes:
        return key_id + ACTIVITY_AAD if self._sealed_only else key_id

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
            sealed = key.cipher.encrypt(nonce, payload.SerializeToString(), self._aad(key_id))
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
        """Plain payloads pass; ours are opened. One that claims our encryption but cannot be
        opened (forged, altered, another inquiry's, another store's) raises Undecodable, except
        inside an inquiry (a workflow id in the context): there it becomes a plain value naming
        the reason, which the workflow refuses like any invalid signal, so nobody with access
        to the namespace can wedge an inquiry or move another customer's data into it."""
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
                if self._sealed_only:
                    raise Undecodable("an activity's payload must be encrypted")
                decoded.append(payload)  # plain JSON from a raw client
                continue
            try:
                decoded.append(await self._open(payload))
            except Undecodable as refused:
                if self._scope == SHARED_SCOPE:
                    raise
                decoded.append(_refusal(refused.reason))
        return decoded

    async def _open(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get(KEY_ID_METADATA, b"")
        if not KEY_ID.fullmatch(key_id):
            raise Undecodable("no valid key id")
        try:
            key = await self._keys.by_id(key_id.decode())
        except UnknownDataKey:
            raise Undecodable("a data key this store never held") from None
        if self._scope != SHARED_SCOPE and key.scope not in (self._scope, SHARED_SCOPE):
            raise Undecodable("another inquiry's data key")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        # In an activity's context only an activity's seal opens; elsewhere (a workflow's own
        # payloads, the codec server showing a history to an operator) either does.
        seals = [key_id + ACTIVITY_AAD] if self._sealed_only else [key_id, key_id + ACTIVITY_AAD]
        for aad in seals:
            try:
                return Payload.FromString(key.cipher.decrypt(nonce, sealed, aad))
            except (InvalidTag, ValueError, DecodeError):
                continue
        raise Undecodable("altered or forged ciphertext")


class Undecodable(ValueError):
    """A payload claims this codec's encryption but cannot be opened; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"undecodable payload: {reason}")
        self.reason = reason


def _refusal(reason: str) -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain"},
        data=json.dumps({UNDECODABLE: reason}).encode(),
    )


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
