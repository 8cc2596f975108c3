"""Commands on the audit trail (audit/): `audit verify`, `audit export`, `audit checkpoint`.

They read the store at DATABASE_URL and the checkpoints in INQUIRY_AUDIT_CHECKPOINT_DIR, and need
no Temporal. `verify` and `export` exit with 0 when every chain verifies, 1 when anything was
found, 2 when they could not look (no such inquiry, store unreachable, unusable key).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Engine
from temporalio.client import Client

from audit.chain import (
    StoredRow,
    StoredText,
    free_text_fields,
    is_commitment,
    read_chain,
    snapshot,
    utc_iso,
)
from audit.checkpoints import write_checkpoint
from audit.verify import Verification, verify_store
from commands.common import CommandError, emit, open_store
from models.settings import Settings


def verify(client: Client | None, args: argparse.Namespace, out: TextIO) -> int:
    """Walk one inquiry's chain, or all, and hold them against the newest signed checkpoint."""
    settings = Settings()
    with open_store(settings) as engine:
        result = _verified(engine, settings, args.inquiry_id)
    if args.inquiry_id and not result.rows and not result.findings:
        raise CommandError(f"no audit trail for inquiry {args.inquiry_id}")
    if args.json:
        emit(out, result.model_dump(mode="json"))
    else:
        _print(out, result)
    return 0 if result.ok else 1


def export(client: Client | None, args: argparse.Namespace, out: TextIO) -> int:
    """JSON Lines: each row of the inquiry's chain with its chain fields and free text (salt
    included, so anyone can check the commitment), then the verification."""
    settings = Settings()
    with open_store(settings) as engine:
        with snapshot(engine) as conn:
            chain = read_chain(conn, args.inquiry_id)
        if not chain.rows:
            raise CommandError(f"no audit trail for inquiry {args.inquiry_id}")
        result = _verified(engine, settings, args.inquiry_id)
    for row in chain.rows:
        emit(out, _exported(row, chain.texts.get(row.id, {})))
    emit(out, {"verification": result.model_dump(mode="json")})
    return 0 if result.ok else 1


def checkpoint(client: Client | None, args: argparse.Namespace, out: TextIO) -> int:
    """Sign every chain's head into a new checkpoint file."""
    settings = Settings()
    key = settings.load_audit_signing_key()
    with open_store(settings) as engine:
        written = write_checkpoint(
            engine, key, settings.audit_checkpoint_dir, now=datetime.now(UTC)
        )
    emit(out, {"checkpoint": written.file, "at": utc_iso(written.at), "chains": len(written.heads)})
    return 0


def _verified(engine: Engine, settings: Settings, inquiry_id: str | None) -> Verification:
    return verify_store(
        engine,
        inquiry_id=inquiry_id,
        checkpoint_dir=settings.audit_checkpoint_dir,
        public_key=settings.load_audit_verify_key(),
    )


def _exported(row: StoredRow, texts: dict[str, StoredText]) -> dict[str, Any]:
    committed = {
        key: ({"text": texts[key].text, "salt": texts[key].salt} if key in texts else None)
        for key, value in row.detail.items()
        if key in free_text_fields(row.actor) and is_commitment(value)
    }
    return {
        "inquiry_id": row.inquiry_id,
        "seq": row.seq,
        "event_key": row.event_key,
        "workflow_id": row.workflow_id,
        "at": utc_iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "stage": row.stage,
        "detail": row.detail,
        "prev_hash": row.prev_hash,
        "row_hash": row.row_hash,
        "texts": committed,
    }


def _print(out: TextIO, result: Verification) -> None:
    if result.checkpoint is not None:
        used = result.checkpoint
        out.write(
            f"checkpoint {utc_iso(used.at)} ({used.file}, {used.inquiries} chains): compared\n"
        )
    else:
        out.write("no valid checkpoint to compare with\n")
    for finding in result.findings:
        where = " ".join(
            part
            for part in (
                finding.inquiry_id or "",
                f"seq {finding.seq}" if finding.seq is not None else "",
                f"({finding.event_key})" if finding.event_key else "",
            )
            if part
        )
        out.write(f"{finding.kind:<20} {where}: {finding.reason}\n")
    summary = f"{result.inquiries} inquiries, {result.rows} rows"
    if result.ok:
        out.write(f"verified: {summary}, nothing found\n")
    else:
        out.write(f"NOT verified: {len(result.findings)} findings in {summary}\n")
