"""The store's tables: inquiry registry and read model, audit trail (rows, their free text, each
chain's head), outbox, survey answers, and the schema version.

These SQLModel tables are touched only inside activities and entry points, never in workflows
(the workflow sandbox and replay know nothing of a database). The wire shapes that travel through
history live in `models.activities`; the activities map between the two.

Schema changes go through `activities.migrations.migrate`, never through `create_all` on these
models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, Dialect, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

OutboxStatus = Literal["queued", "sent"]


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware on every dialect.

    SQLite keeps no offset, so a value written at +02:00 would come back naive and two hours off;
    storing UTC also keeps SQLite's text timestamps sorting in time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("the database returned a timestamp that is not a datetime")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class InquiryRecord(SQLModel, table=True):
    """One row per inquiry id, kept for good: Temporal forgets runs after retention, we do not."""

    __tablename__ = "inquiry"

    inquiry_id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=128)
    # The run that owns this inquiry id; any later run with the same id is a duplicate.
    first_run_id: str = Field(max_length=64)
    sector: str = Field(max_length=32)
    # A pseudonym of the customer id, never the id itself (encryption/pseudonyms.py).
    customer_ref: str | None = Field(default=None, max_length=64, index=True)
    stage: str = Field(max_length=32, index=True)
    tier: int | None = None
    urgency: str | None = Field(default=None, max_length=16)
    categories: list[str] = Field(default_factory=list, sa_type=JSON)
    compliance_flags: list[str] = Field(default_factory=list, sa_type=JSON)
    owner: str | None = Field(default=None, max_length=128, index=True)
    sla_breached: bool = False
    # The read model only moves forward: a snapshot with a version not above this one is late.
    version: int = 0
    received_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolution_ref: str | None = Field(default=None, max_length=128)


class AuditRecord(SQLModel, table=True):
    """One documented step; `event_key` makes a retried write land once.

    Rows are only ever appended (the database refuses UPDATE and DELETE), each a link of its
    inquiry's hash chain (audit/chain.py). `detail` holds commitments in place of free text,
    which lives in `AuditText`; `activities.store.list_audit` puts it back for readers.
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(unique=True, max_length=255)
    inquiry_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=128)
    at: datetime = Field(sa_type=UtcDateTime)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    stage: str = Field(max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The chain: position in the inquiry's trail (1, 2, ...), the previous row's hash, this
    # row's. Empty only on a row written behind the application's back, which verify reports.
    seq: int | None = None
    prev_hash: str | None = Field(default=None, max_length=64)
    row_hash: str | None = Field(default=None, max_length=64)


class AuditText(SQLModel, table=True):
    """Free text someone wrote into an audit row, outside the chain: the row commits to it by a
    salted hash. Erasure deletes these rows; nothing updates them."""

    __tablename__ = "audit_text"
    __table_args__ = (UniqueConstraint("event_id", "field"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int  # audit_event.id
    inquiry_id: str = Field(index=True, max_length=64)
    field: str = Field(max_length=64)
    salt: str = Field(max_length=32)
    text: str = Field(sa_type=Text)


class AuditHead(SQLModel, table=True):
    """The newest link of an inquiry's chain; appends lock this row, one writer at a time."""

    __tablename__ = "audit_head"

    inquiry_id: str = Field(primary_key=True, max_length=64)
    seq: int
    row_hash: str = Field(max_length=64)


class AssertionUse(SQLModel, table=True):
    """A signed assertion (or survey reference) that an action has spent: each `jti` counts
    once, for good, whatever happens to the workflow's history (a reset cannot replay it)."""

    __tablename__ = "assertion_use"

    jti: str = Field(primary_key=True, max_length=255)
    workflow_id: str = Field(max_length=128)
    action: str = Field(max_length=64)
    # Which activity spent it (run id and activity id): its own retry is not a second use.
    spent_by: str = Field(max_length=255)
    spent_at: datetime = Field(sa_type=UtcDateTime)


class OutboxRecord(SQLModel, table=True):
    """A message to a customer or staff member; `message_key` makes a retried send land once."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(unique=True, max_length=255)
    inquiry_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    audience: str = Field(max_length=16)
    recipient: str = Field(max_length=320)
    channel: str = Field(max_length=32)
    subject: str
    body: str
    status: str = Field(default="queued", max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SurveyAnswerRecord(SQLModel, table=True):
    """One answer per survey; `survey_ref` (the survey message's key) makes a retry land once."""

    __tablename__ = "survey_answer"

    id: int | None = Field(default=None, primary_key=True)
    survey_ref: str = Field(unique=True, max_length=255)
    inquiry_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=128)
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    comment: str | None = Field(default=None, sa_type=Text)
    answered_at: datetime = Field(sa_type=UtcDateTime)
    # True for an answer recorded after the inquiry closed, through the store's own late path.
    late: bool = False
    recorded_at: datetime = Field(sa_type=UtcDateTime)


class SchemaVersion(SQLModel, table=True):
    """A single row (id 1): the last migration step applied to this database."""

    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    applied_at: datetime = Field(sa_type=UtcDateTime)
