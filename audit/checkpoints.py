"""Signed checkpoints of every chain's head, written outside the database.

A hash chain shows a changed, removed or inserted row, but someone able to rewrite the audit
tables could rewrite a chain whole, with fresh hashes that all agree. A checkpoint records each
inquiry's newest (seq, row_hash) at a moment and is signed with an Ed25519 key the database
never sees (audit/keys.py); `audit verify` holds the store against the newest checkpoint whose
signature verifies: a chain whose row at a checkpointed seq differs, or an inquiry the
checkpoint knows and the store does not, is reported. Rows appended after the newest checkpoint
are covered by the next one.

One JSON file per checkpoint in `INQUIRY_AUDIT_CHECKPOINT_DIR`, named by its time:

    {"format": "regulated-inquiries/audit-checkpoint/1", "at": "2026-…+00:00",
     "key": "<SHA-256 of the public key>", "heads": {"INQ-1": {"seq": 12, "row_hash": "…"}},
     "signature": "<base64 Ed25519 signature of the canonical JSON of the rest>"}

`starter.py audit checkpoint` writes one; the worker writes one every
`INQUIRY_AUDIT_CHECKPOINT_EVERY` (`periodic_checkpoints`) when a head moved. Copy the folder
somewhere the database's administrators cannot write (object storage with a retention lock, a
log host): checkpoints only protect what they can be compared with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from audit.chain import Tip, canonical_json, chain_heads, utc_iso
from audit.keys import fingerprint

log = logging.getLogger("regulated_inquiries.audit")

FORMAT = "regulated-inquiries/audit-checkpoint/1"
PREFIX = "checkpoint-"


class Head(BaseModel):
    seq: int
    row_hash: str


class Checkpoint(BaseModel):
    format: str
    at: datetime
    key: str
    heads: dict[str, Head]
    signature: str
    file: str = ""  # where it was read from; not part of the signed content


def read_heads(engine: Engine) -> dict[str, Tip]:
    with engine.connect() as conn:
        return chain_heads(conn)


def write_checkpoint(
    engine: Engine, key: Ed25519PrivateKey, directory: Path, *, now: datetime
) -> Checkpoint:
    """Sign the store's chain heads as they are now into a new file in `directory`."""
    return _write(read_heads(engine), key, directory, now)


def _write(
    heads: dict[str, Tip], key: Ed25519PrivateKey, directory: Path, now: datetime
) -> Checkpoint:
    body: dict[str, Any] = {
        "format": FORMAT,
        "at": utc_iso(now),
        "key": fingerprint(key.public_key()),
        "heads": {
            inquiry_id: {"seq": seq, "row_hash": row_hash}
            for inquiry_id, (seq, row_hash) in sorted(heads.items())
        },
    }
    body["signature"] = base64.b64encode(key.sign(canonical_json(body).encode())).decode()
    directory.mkdir(parents=True, exist_ok=True)
    # Named by time (sortable), with random digits: two writers in one microsecond never clash.
    path = directory / f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(2)}.json"
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=1, sort_keys=True)
        out.write("\n")
    os.replace(partial, path)
    return Checkpoint.model_validate(body | {"file": str(path)})


def newest_valid(
    directory: Path, public_key: Ed25519PublicKey | None
) -> tuple[Checkpoint | None, list[tuple[str, str]]]:
    """The newest checkpoint whose signature verifies, and (file name, why) of every newer file
    that does not. Older files are not read: the newest valid one covers them."""
    if not directory.is_dir():
        return None, []
    files = sorted(directory.glob(f"{PREFIX}*.json"), reverse=True)
    if files and public_key is None:
        return None, [(str(directory), "no public key to check the checkpoints with")]
    invalid: list[tuple[str, str]] = []
    for path in files:
        assert public_key is not None
        checkpoint, why = _checked(path, public_key)
        if checkpoint is not None:
            return checkpoint, invalid
        invalid.append((path.name, why))
    return None, invalid


def _checked(path: Path, public_key: Ed25519PublicKey) -> tuple[Checkpoint | None, str]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        signature = base64.b64decode(raw.pop("signature"), validate=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None, "not a readable checkpoint"
    try:
        public_key.verify(signature, canonical_json(raw).encode())
    except InvalidSignature:
        return None, "its signature does not verify: the file was changed or another key signed it"
    try:
        checkpoint = Checkpoint.model_validate(
            raw | {"signature": base64.b64encode(signature).decode(), "file": str(path)}
        )
    except ValidationError:
        return None, "signed, but not in the checkpoint format"
    if checkpoint.format != FORMAT:
        return None, f"signed, but in an unknown format ({checkpoint.format})"
    return checkpoint, ""


async def checkpoint_periodically(
    engine: Engine, key: Ed25519PrivateKey, directory: Path, every: timedelta
) -> None:
    """Write a checkpoint now and every `every` after, whenever a chain's head moved."""
    last: dict[str, Tip] | None = None
    while True:
        try:
            heads = await asyncio.to_thread(read_heads, engine)
            if heads != last:
                written = await asyncio.to_thread(_write, heads, key, directory, datetime.now(UTC))
                last = heads
                log.info("audit checkpoint of %d chains: %s", len(heads), written.file)
        except (SQLAlchemyError, OSError) as err:
            # Named by class only: a driver's message can quote values.
            log.error("audit checkpoint failed (%s); trying again later", type(err).__name__)
        await asyncio.sleep(every.total_seconds())


@contextlib.asynccontextmanager
async def periodic_checkpoints(
    engine: Engine, key: Ed25519PrivateKey | None, directory: Path, every: timedelta
) -> AsyncIterator[None]:
    """Checkpoints in the background while the block runs; none without a key or interval."""
    if key is None or every <= timedelta(0):
        yield
        return
    task = asyncio.create_task(
        checkpoint_periodically(engine, key, directory, every), name="audit-checkpoints"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
