"""Erasing a customer (right to erasure): their inquiries can never be read again, anywhere,
while the audit trail keeps its facts under the customer's pseudonym.

- Temporal's history is immutable and may sit in backups: each of the customer's inquiries has
  its own data key, and destroying it (crypto-shredding) makes every copy of that history
  undecodable, through the codec server or otherwise.
- The store: outbox messages lose recipient, subject and body; survey answers lose their
  comment; audit rows lose the free text people wrote (notes, comments, reasons given by staff):
  it lives apart from the hash chain (audit/chain.py), which keeps only a salted hash of it, so
  deleting it leaves every row as it was and the chain verifying. What happened, when, by whom
  and at which stage stays: HIPAA keeps audit records six years.
- Each inquiry's trail gets a `customer_erased` row naming the operator and the pseudonym.

Only closed inquiries are erased: an open one would stop at its next step, unable to read its
own state. Withdraw it first. Erasing again finds nothing more to do and says so.

Retention (`purge_expired`) does the same to every inquiry closed longer ago than the configured
period (`INQUIRY_RETENTION`), with a `retention_purged` row instead: run it daily.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from activities.store import record_events
from audit.chain import ERASED, erase_texts
from encryption.data_keys import DATA_KEY, DataKeys
from encryption.pseudonyms import Pseudonyms
from models.activities import AuditEvent
from models.contract import Stage
from models.store import InquiryRecord, OutboxRecord, SurveyAnswerRecord


class StillOpen(RuntimeError):
    """Some of the customer's inquiries are still running; nothing was erased."""

    def __init__(self, inquiry_ids: Sequence[str]) -> None:
        super().__init__(
            "still open, withdraw or close them first (nothing was erased): "
            + ", ".join(inquiry_ids)
        )


class ErasureReport(BaseModel):
    customer: str | None = None  # the pseudonym; the customer id is never printed or stored
    inquiries: list[str]
    data_keys_destroyed: int
    messages_scrubbed: int
    survey_comments_removed: int
    audit_rows_scrubbed: int


async def erase_customer(
    keys: DataKeys,
    customer_id: str,
    *,
    by: str,
    now: datetime,
    running: Callable[[list[str]], Awaitable[list[str]]],
) -> ErasureReport:
    """Erase everything of `customer_id`; `running` says which of these workflow ids still run."""
    pseudonym = await Pseudonyms(keys).of(customer_id)
    inquiries = await asyncio.to_thread(_inquiries_of, keys.engine, pseudonym)
    still = await running([workflow_id for _, workflow_id in inquiries])
    if still:
        raise StillOpen([inquiry_id for inquiry_id, wf in inquiries if wf in still])
    destroyed = await asyncio.to_thread(keys.erase, [wf for _, wf in inquiries])
    detail = {"customer": pseudonym, "data_key_destroyed": True}
    report = await asyncio.to_thread(
        _scrub, keys.engine, inquiries, destroyed, by, now, "customer_erased", detail
    )
    return report.model_copy(update={"customer": pseudonym})


async def purge_expired(
    keys: DataKeys, *, closed_before: datetime, by: str, now: datetime
) -> ErasureReport:
    """Erase every inquiry closed before `closed_before` whose data key still lives."""
    inquiries = await asyncio.to_thread(_expired, keys.engine, closed_before)
    destroyed = await asyncio.to_thread(keys.erase, [wf for _, wf in inquiries])
    detail = {"closed_before": closed_before.isoformat(), "data_key_destroyed": True}
    return await asyncio.to_thread(
        _scrub, keys.engine, inquiries, destroyed, by, now, "retention_purged", detail
    )


def _expired(engine: Engine, closed_before: datetime) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(InquiryRecord.inquiry_id, InquiryRecord.workflow_id)
            .join(DATA_KEY, DATA_KEY.c.scope == InquiryRecord.workflow_id)
            .where(
                col(InquiryRecord.closed_at).is_not(None),
                col(InquiryRecord.closed_at) < closed_before,
                DATA_KEY.c.wrapped.is_not(None),
            )
            .order_by(col(InquiryRecord.inquiry_id))
        ).all()
    return [(inquiry_id, workflow_id) for inquiry_id, workflow_id in rows]


def _inquiries_of(engine: Engine, pseudonym: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(InquiryRecord.inquiry_id, InquiryRecord.workflow_id)
            .where(InquiryRecord.customer_ref == pseudonym)
            .order_by(col(InquiryRecord.inquiry_id))
        ).all()
    return [(inquiry_id, workflow_id) for inquiry_id, workflow_id in rows]


def _scrub(
    engine: Engine,
    inquiries: list[tuple[str, str]],
    destroyed: int,
    by: str,
    now: datetime,
    action: str,
    detail: dict[str, Any],
) -> ErasureReport:
    ids = [inquiry_id for inquiry_id, _ in inquiries]
    with Session(engine) as session:
        messages = session.connection().execute(
            update(OutboxRecord)
            .where(col(OutboxRecord.inquiry_id).in_(ids), col(OutboxRecord.body) != ERASED)
            .values(recipient=ERASED, subject=ERASED, body=ERASED)
        )
        comments = session.connection().execute(
            update(SurveyAnswerRecord)
            .where(
                col(SurveyAnswerRecord.inquiry_id).in_(ids),
                col(SurveyAnswerRecord.comment).is_not(None),
            )
            .values(comment=None)
        )
        scrubbed = erase_texts(session=session, inquiry_ids=ids)
        stages = dict(
            session.exec(
                select(InquiryRecord.inquiry_id, InquiryRecord.stage).where(
                    col(InquiryRecord.inquiry_id).in_(ids)
                )
            ).all()
        )
        record_events(
            session=session,
            events=[
                AuditEvent(
                    event_key=f"erasure:{uuid.uuid4().hex}",
                    inquiry_id=inquiry_id,
                    workflow_id=workflow_id,
                    at=now,
                    actor=by,
                    action=action,
                    stage=Stage(stages[inquiry_id]),
                    detail=detail,
                )
                for inquiry_id, workflow_id in inquiries
            ],
        )
        session.commit()
    if engine.dialect.name == "sqlite":
        # The old rows would otherwise linger in the write-ahead log until the next checkpoint.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return ErasureReport(
        inquiries=ids,
        data_keys_destroyed=destroyed,
        messages_scrubbed=messages.rowcount or 0,
        survey_comments_removed=comments.rowcount or 0,
        audit_rows_scrubbed=scrubbed,
    )
