"""The inquiry registry, audit trail and read model: session-first functions and their
activities. Survey answers live in `activities.surveys`.

Every write is keyed on a unique column (`INSERT .. ON CONFLICT DO NOTHING`, a conditional
`UPDATE`), so a retried activity, or two workers racing, can never add a second row or move the
read model backwards. Audit rows are appended to their inquiry's hash chain, one writer at a time
(`audit.chain`): every writer of the trail comes through `record_events`. The functions take a
session and leave committing to the caller; `StoreActivities` wraps the writes in one transaction
each and runs them off the event loop.

Errors
    ApplicationError "InquiryNotRegistered" (non-retryable): a snapshot names an inquiry the
                     registry has never seen, which only a workflow that skipped
                     `register_inquiry` causes.
    ApplicationError "StoreError" (retryable): any database error, without its values
                     (`activities.db.in_store`); Temporal retries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.db import in_store
from audit.chain import append_events, read_trail
from encryption.pseudonyms import Pseudonyms
from models.activities import (
    AuditEvent,
    InquirySnapshot,
    RecordInput,
    RegisterInquiryInput,
    RegisterInquiryResult,
    SurveyAnswer,
)
from models.contract import Stage
from models.store import AuditRecord, InquiryRecord, OutboxRecord, SurveyAnswerRecord

CLOSED_STAGES = (Stage.CLOSED.value, Stage.WITHDRAWN.value)


def insert_ignoring_duplicates(
    *, session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], key: str
) -> int:
    """Insert `rows`, silently skipping any whose `key` already exists (PostgreSQL and SQLite).

    Returns how many rows were inserted.
    """
    if not rows:
        return 0
    table: Table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).values(list(rows))
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(list(rows))
    else:
        raise NotImplementedError(f"the store does not support the {dialect} dialect")
    # Counted from RETURNING: psycopg reports no rowcount for this statement.
    inserted = session.exec(
        statement.on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    )
    return len(inserted.all())


def register_inquiry(
    *, session: Session, request: RegisterInquiryInput, customer_ref: str, now: datetime
) -> RegisterInquiryResult:
    """Claim `inquiry_id` for `request.run_id`, or report the run that claimed it first."""
    row: dict[str, Any] = {
        "inquiry_id": request.inquiry_id,
        "workflow_id": request.workflow_id,
        "first_run_id": request.run_id,
        "sector": request.sector.value,
        "customer_ref": customer_ref,
        "stage": Stage.RECEIVED.value,
        "categories": [],
        "compliance_flags": [],
        "sla_breached": False,
        "version": 0,
        "received_at": request.received_at,
        "created_at": now,
        "updated_at": now,
    }
    insert_ignoring_duplicates(session=session, model=InquiryRecord, rows=[row], key="inquiry_id")
    owner = session.exec(
        select(InquiryRecord.first_run_id).where(InquiryRecord.inquiry_id == request.inquiry_id)
    ).one()
    return RegisterInquiryResult(accepted=owner == request.run_id, first_run_id=owner)


def record_events(*, session: Session, events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """Append each event to its inquiry's audit chain once: an `event_key` already stored with
    the same content is skipped; one stored with other content raises the alarm and the event is
    kept under a derived key (`audit.chain`). Returns the events stored for the first time."""
    return append_events(session=session, events=events)


def record_survey_answer(*, session: Session, answer: SurveyAnswer, now: datetime) -> bool:
    """Store `answer` once per survey; False when that survey already has an answer."""
    row = {**answer.model_dump(mode="python"), "recorded_at": now}
    inserted = insert_ignoring_duplicates(
        session=session, model=SurveyAnswerRecord, rows=[row], key="survey_ref"
    )
    return inserted > 0


def apply_snapshot(*, session: Session, snapshot: InquirySnapshot) -> bool:
    """Move the read model to `snapshot` unless it already holds this version or a newer one.

    Returns whether the row changed. Raises `InquiryNotRegistered` if there is no row at all.
    """
    values = snapshot.model_dump(
        mode="json", exclude={"inquiry_id", "received_at", "updated_at", "closed_at"}
    )
    result = session.exec(
        update(InquiryRecord)
        .where(col(InquiryRecord.inquiry_id) == snapshot.inquiry_id)
        .where(col(InquiryRecord.version) < snapshot.version)
        .values(
            **values,
            received_at=snapshot.received_at,
            updated_at=snapshot.updated_at,
            closed_at=snapshot.closed_at,
        )
    )
    if result.rowcount:
        return True
    if find_inquiry(session=session, inquiry_id=snapshot.inquiry_id) is None:
        raise ApplicationError(
            "the snapshot names an inquiry that was never registered",
            type="InquiryNotRegistered",
            non_retryable=True,
        )
    return False


def find_inquiry(*, session: Session, inquiry_id: str) -> InquiryRecord | None:
    return session.get(InquiryRecord, inquiry_id)


def list_audit(*, session: Session, inquiry_id: str) -> list[AuditRecord]:
    """The inquiry's audit trail in the order things happened (ties in the order recorded), with
    the free text people wrote put back, or "[erased]". The rows are detached copies."""
    return read_trail(session=session, inquiry_id=inquiry_id)


def list_outbox(*, session: Session, inquiry_id: str) -> list[OutboxRecord]:
    return list(
        session.exec(
            select(OutboxRecord)
            .where(OutboxRecord.inquiry_id == inquiry_id)
            .order_by(col(OutboxRecord.id))
        ).all()
    )


def count_open_by_owner(*, session: Session, owner_ids: Sequence[str]) -> dict[str, int]:
    """Open inquiries (neither closed nor withdrawn) per owner; every owner asked is present."""
    counts = dict.fromkeys(owner_ids, 0)
    if not counts:
        return counts
    rows = session.exec(
        select(InquiryRecord.owner, func.count())
        .where(col(InquiryRecord.owner).in_(list(counts)))
        .where(col(InquiryRecord.stage).not_in(CLOSED_STAGES))
        .group_by(col(InquiryRecord.owner))
    ).all()
    for owner, count in rows:
        if owner is not None:
            counts[owner] = count
    return counts


# --- survey answers --------------------------------------------------------------------------


class OwnerLoad:
    """`await OwnerLoad(engine)(owner_ids)`: open inquiries per owner, for least-loaded routing."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, owner_ids: list[str]) -> dict[str, int]:
        return await in_store(self._count, owner_ids)

    def _count(self, owner_ids: list[str]) -> dict[str, int]:
        with Session(self._engine) as session:
            return count_open_by_owner(session=session, owner_ids=owner_ids)


class StoreActivities:
    """Registry and audit writes; built once in the worker with the store's engine."""

    def __init__(self, engine: Engine, pseudonyms: Pseudonyms) -> None:
        self._engine = engine
        self._pseudonyms = pseudonyms

    async def register_inquiry(self, request: RegisterInquiryInput) -> RegisterInquiryResult:
        customer_ref = await self._pseudonyms.of(request.customer_id)
        return await in_store(self._register, request, customer_ref)

    @activity.defn(name="record_events")
    async def record_events(self, request: RecordInput) -> None:
        metrics.count(await in_store(self._record, request))

    def _register(self, request: RegisterInquiryInput, customer_ref: str) -> RegisterInquiryResult:
        with Session(self._engine) as session:
            result = register_inquiry(
                session=session, request=request, customer_ref=customer_ref, now=datetime.now(UTC)
            )
            session.commit()
            return result

    def _record(self, request: RecordInput) -> list[AuditEvent]:
        with Session(self._engine) as session:
            stored = record_events(session=session, events=request.events)
            for answer in request.survey_answers:
                # A retry finds the answer stored and adds nothing: the False is expected then.
                record_survey_answer(session=session, answer=answer, now=datetime.now(UTC))
            if request.snapshot is not None:
                apply_snapshot(session=session, snapshot=request.snapshot)
            session.commit()
            return stored
