"""The outbox on SQLite and PostgreSQL: each message is stored once and delivered once."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.messaging import DeliveryAdapter, LoggingDelivery, MessagingActivities
from activities.store import list_outbox
from models.activities import MessageReceipt, OutboxMessage

RECIPIENT = "jane.doe@example.org"
SUBJECT = "Your question about Dr. Smith's bill"
BODY = "Dear Jane, about your oncology invoice..."


def message(key: str = "inquiry-INQ-1:resolution") -> OutboxMessage:
    return OutboxMessage(
        message_key=key,
        inquiry_id="INQ-1",
        workflow_id="inquiry-INQ-1",
        kind="resolution",
        audience="customer",
        recipient=RECIPIENT,
        channel="email",
        subject=SUBJECT,
        body=BODY,
    )


class RecordingDelivery:
    """Counts deliveries and notes the outbox status each message had when it was handed over."""

    def __init__(self, engine: Engine, error: Exception | None = None) -> None:
        self.engine = engine
        self.error = error
        self.delivered: list[str] = []
        self.status_at_delivery: list[str] = []

    async def deliver(self, message: OutboxMessage) -> None:
        with Session(self.engine) as session:
            (row,) = list_outbox(session=session, inquiry_id=message.inquiry_id)
            self.status_at_delivery.append(row.status)
        if self.error is not None:
            raise self.error
        self.delivered.append(message.message_key)


async def send(engine: Engine, adapter: DeliveryAdapter, msg: OutboxMessage) -> MessageReceipt:
    activities = MessagingActivities(engine, adapter)
    return await ActivityEnvironment().run(activities.send_message, msg)


async def test_a_message_is_queued_before_delivery_and_marked_sent_after(db_engine: Engine) -> None:
    adapter = RecordingDelivery(db_engine)

    receipt = await send(db_engine, adapter, message())

    assert adapter.status_at_delivery == ["queued"]
    assert receipt.status == "sent" and receipt.sent_at is not None
    with Session(db_engine) as session:
        (row,) = list_outbox(session=session, inquiry_id="INQ-1")
    assert (row.status, row.sent_at, row.recipient, row.body) == (
        "sent",
        receipt.sent_at,
        RECIPIENT,
        BODY,
    )


async def test_a_retry_after_success_does_not_deliver_twice(db_engine: Engine) -> None:
    adapter = RecordingDelivery(db_engine)

    first = await send(db_engine, adapter, message())
    retried = await send(db_engine, adapter, message())

    assert adapter.delivered == ["inquiry-INQ-1:resolution"]
    assert retried == first
    with Session(db_engine) as session:
        assert len(list_outbox(session=session, inquiry_id="INQ-1")) == 1


async def test_a_failing_delivery_stays_queued_and_raises_a_retryable_error_without_personal_data(
    db_engine: Engine,
) -> None:
    failing = RecordingDelivery(db_engine, error=ConnectionError(f"550 mailbox {RECIPIENT}"))

    with pytest.raises(ApplicationError) as raised:
        await send(db_engine, failing, message())

    error = raised.value
    assert not error.non_retryable and error.type == "DeliveryFailed"
    assert RECIPIENT not in str(error) and error.__cause__ is None and error.__suppress_context__
    with Session(db_engine) as session:
        (row,) = list_outbox(session=session, inquiry_id="INQ-1")
    assert (row.status, row.sent_at) == ("queued", None)

    working = RecordingDelivery(db_engine)
    receipt = await send(db_engine, working, message())
    assert receipt.status == "sent" and working.delivered == ["inquiry-INQ-1:resolution"]


async def test_an_adapter_refusing_for_good_is_passed_on_as_it_is(db_engine: Engine) -> None:
    refusal = ApplicationError("no such channel", type="Undeliverable", non_retryable=True)

    with pytest.raises(ApplicationError) as raised:
        await send(db_engine, RecordingDelivery(db_engine, error=refusal), message())

    assert raised.value is refusal


async def test_the_default_delivery_logs_no_recipient_subject_or_body(
    db_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="activities.messaging"):
        receipt = await send(db_engine, LoggingDelivery(), message())

    assert receipt.status == "sent"
    assert "inquiry-INQ-1:resolution" in caplog.text and "channel=email" in caplog.text
    for personal in (RECIPIENT, SUBJECT, BODY):
        assert personal not in caplog.text


def refuse_outbox_rows(engine: Engine) -> None:
    """Make the store refuse every new outbox row, as a full disk or a broken constraint would.
    PostgreSQL's own message then quotes the whole failing row, values and all."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "ALTER TABLE outbox ADD CONSTRAINT refuse_all CHECK (recipient = '')"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_all BEFORE INSERT ON outbox "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )


async def test_a_store_that_refuses_a_row_fails_with_no_value_in_the_message(
    db_engine: Engine,
) -> None:
    refuse_outbox_rows(db_engine)

    with pytest.raises(ApplicationError) as caught:
        await send(db_engine, RecordingDelivery(db_engine), message())

    err = caught.value
    assert err.type == "StoreError" and not err.non_retryable
    assert "IntegrityError" in err.message or "OperationalError" in err.message
    for value in (RECIPIENT, "jane", SUBJECT, BODY, "oncology", "INQ-1"):
        assert value not in str(err)
    assert err.__cause__ is None  # the driver's own message is not chained into the failure


def test_the_engine_hides_bound_parameters_from_its_own_errors(db_engine: Engine) -> None:
    assert db_engine.hide_parameters
