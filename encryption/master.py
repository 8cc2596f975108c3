"""Master keys: the keys that wrap the per-inquiry data keys.

`MasterKeys` is the one interface a key management service implements (AWS KMS, Google Cloud
KMS, Vault transit: each offers wrap and unwrap by key id). `LocalMasterKeys` is a key ring read
from configuration: a JSON object

    {"active": "2026-12", "keys": {"2026-12": "<base64 of 32 random bytes>", "2026-06": "..."}}

from `INQUIRY_MASTER_KEYS` (the JSON itself, e.g. from a secret store) or the file named by
`INQUIRY_MASTER_KEYS_FILE`. New data keys are wrapped by the active key; every key in the ring
can still unwrap, so a key rotates by adding a new one, making it active, rewrapping
(`python -m encryption rewrap`) and only then removing the old one.

In development a missing key file is created with one fresh key (mode 0600) under `data/`; outside
development a missing key is a refusal to start, never a silent plaintext mode.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("regulated_inquiries.encryption")

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyConfigError(ValueError):
    """The master key configuration is missing or unusable; the message names what, never a key."""


class MasterKeys(Protocol):
    """Wraps and unwraps data keys; a KMS can stand behind it."""

    @property
    def active_id(self) -> str:
        """The key that wraps new data keys."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """(id of the master key used, wrapped data key), bound to `context`."""
        ...

    def unwrap(self, master_key_id: str, wrapped: bytes, context: bytes) -> bytes:
        """The data key; KeyError for an unknown master key, ValueError if it does not open."""
        ...


class LocalMasterKeys:
    """A ring of AES-256 master keys held in memory; AES-GCM wraps each data key."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        bad = [key_id for key_id in keys if not KEY_ID.fullmatch(key_id)]
        if bad:
            raise KeyConfigError("master key ids must be 1-64 of [A-Za-z0-9._-]")
        short = [key_id for key_id, key in keys.items() if len(key) != KEY_BYTES]
        if short:
            raise KeyConfigError(f"master keys must be {KEY_BYTES} bytes: {', '.join(short)}")
        if active not in keys:
            raise KeyConfigError("the active master key is not in the ring")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active

    @property
    def active_id(self) -> str:
        return self._active

    @property
    def ids(self) -> list[str]:
        return sorted(self._ciphers)

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self._active, nonce + self._ciphers[self._active].encrypt(nonce, data_key, context)

    def unwrap(self, master_key_id: str, wrapped: bytes, context: bytes) -> bytes:
        cipher = self._ciphers[master_key_id]
        try:
            return cipher.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag:
            raise ValueError(f"data key does not open with master key {master_key_id}") from None

    @classmethod
    def from_json(cls, text: str, source: str) -> LocalMasterKeys:
        try:
            raw = json.loads(text)
            active = raw["active"]
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in raw["keys"].items()}
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise KeyConfigError(
                f'{source}: expected {{"active": id, "keys": {{id: base64 of {KEY_BYTES} bytes}}}}'
            ) from None
        if not isinstance(active, str):
            raise KeyConfigError(f"{source}: 'active' must be a key id")
        return cls(keys, active)


def new_key() -> str:
    """A fresh master key, base64."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def new_key_id() -> str:
    """When it was made, and four random hex digits: two rotations in one second never clash."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def write_key_file(path: Path, keys: Mapping[str, str], active: str) -> None:
    """Write a key ring readable by its owner only, replacing the file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"active": active, "keys": dict(keys)}, out, indent=2)
        out.write("\n")
    os.replace(partial, path)


def load_master_keys(inline: str | None, path: Path, *, create_if_missing: bool) -> LocalMasterKeys:
    """The configured key ring: inline JSON first, else the file (created in development)."""
    if inline:
        return LocalMasterKeys.from_json(inline, "INQUIRY_MASTER_KEYS")
    if not path.exists():
        if not create_if_missing:
            raise KeyConfigError(
                "no master key: set INQUIRY_MASTER_KEYS or INQUIRY_MASTER_KEYS_FILE "
                "(python -m encryption new-key-file PATH writes one)"
            )
        key_id = new_key_id()
        write_key_file(path, {key_id: new_key()}, key_id)
        log.warning("created a development master key file at %s", path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise KeyConfigError(f"{path}: cannot read the master key file ({err.strerror})") from None
    return LocalMasterKeys.from_json(text, str(path))
