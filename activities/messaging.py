"""Messages to customers and staff: written to the outbox first, then handed to a delivery adapter.

`send_message` keeps one outbox row per `message_key`: it is written as `queued`, delivered, then
marked `sent`. A retry after success finds the row `sent` and returns its receipt without a second
delivery. A crash between delivery and marking leaves the row `queued` and the retry delivers
again, so delivery is at least once: adapters that can should pass `message_key` on as their own
idempotency key.

Errors:
- an adapter's `ApplicationError` passes through unchanged (the adapter decides what is
  permanent, and promises its message carries no personal data);
- any other adapter failure becomes a retryable `ApplicationError` of type `DeliveryFailed` that
  names only the exception's class: a transport's own text may quote an address or the subject.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import Session, col, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.db import in_store
from activities.store import insert_ignoring_duplicates
from models.activities import SURVEY_REF_SLOT, MessageReceipt, OutboxMessage, SurveyRefInput
from models.store import OutboxRecord

logger = logging.getLogger(__name__)


class DeliveryAdapter(Protocol):
    """Hands one message to a channel (mail, SMS, a staff queue). Must not log personal data."""

    async def deliver(self, message: OutboxMessage) -> None: ...


class LoggingDelivery:
    """The development default: notes that a message went out, without who, subject or body."""

    async def deliver(self, message: OutboxMessage) -> None:
        logger.info(
            "delivered message %s kind=%s audience=%s channel=%s",
            message.message_key,
            message.kind,
            message.audience,
            message.channel,
        )


def enqueue_message(*, session: Session, message: OutboxMessage, now: datetime) -> MessageReceipt:
    """Write `message` as queued unless its key is in the outbox; return the stored state."""
    row = {
        **message.model_dump(mode="python", exclude={"survey"}),
        "status": "queued",
        "created_at": now,
    }
    insert_ignoring_duplicates(session=session, model=OutboxRecord, rows=[row], key="message_key")
    return _receipt(session=session, message_key=message.message_key)


def mark_sent(*, session: Session, message_key: str, now: datetime) -> MessageReceipt:
    """Mark the message sent; a message already sent keeps its first `sent_at`."""
    session.exec(
        update(OutboxRecord)
        .where(col(OutboxRecord.message_key) == message_key)
        .where(col(OutboxRecord.status) == "queued")
        .values(status="sent", sent_at=now)
    )
    return _receipt(session=session, message_key=message_key)


def _receipt(*, session: Session, message_key: str) -> MessageReceipt:
    status, sent_at = session.exec(
        select(OutboxRecord.status, OutboxRecord.sent_at).where(
            OutboxRecord.message_key == message_key
        )
    ).one()
    return MessageReceipt(
        message_key=message_key, status="sent" if status == "sent" else "queued", sent_at=sent_at
    )


SignSurveyRef = Callable[[SurveyRefInput], Awaitable[str]]


async def _unsigned(survey: SurveyRefInput) -> str:
    raise ApplicationError("this worker cannot sign survey references", type="ConfigError")


class MessagingActivities:
    """The outbox and its delivery; built in the worker with the store's engine, an adapter and
    the signer of survey references (activities/identity.py)."""

    def __init__(
        self, engine: Engine, adapter: DeliveryAdapter, sign_survey_ref: SignSurveyRef = _unsigned
    ) -> None:
        self._engine = engine
        self._adapter = adapter
        self._sign_survey_ref = sign_survey_ref

    @activity.defn(name="send_message")
    async def send_message(self, message: OutboxMessage) -> MessageReceipt:
        if message.survey is not None:
            # Signed from the workflow's instant and expiry: a retry signs the same reference.
            ref = await self._sign_survey_ref(message.survey)
            body = message.body.replace(SURVEY_REF_SLOT, ref)
            message = message.model_copy(update={"body": body, "survey": None})
        stored = await in_store(self._enqueue, message)
        if stored.status == "sent":
            return stored
        try:
            await self._adapter.deliver(message)
        except ApplicationError:
            raise
        except Exception as err:
            # `from None`: Temporal would otherwise send the original error's text along as the
            # failure's cause.
            raise ApplicationError(
                f"delivery failed ({type(err).__name__})", type="DeliveryFailed"
            ) from None
        return await in_store(self._mark_sent, message.message_key)

    def _enqueue(self, message: OutboxMessage) -> MessageReceipt:
        with Session(self._engine) as session:
            receipt = enqueue_message(session=session, message=message, now=datetime.now(UTC))
            session.commit()
            return receipt

    def _mark_sent(self, message_key: str) -> MessageReceipt:
        with Session(self._engine) as session:
            receipt = mark_sent(session=session, message_key=message_key, now=datetime.now(UTC))
            session.commit()
            return receipt
