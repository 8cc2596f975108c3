"""Schema migrations of the store: `migrate(engine)` runs on every start.

Migrations are an ordered list of `(version, step)`: each step runs in its own
transaction together with the bump of the single `schema_version` row, under a lock (an advisory
lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so two processes starting at once apply each
step exactly once and a failed step leaves the version where it was.

Each step's DDL is frozen: step 1 spells its tables out instead of reading today's models, so a
later step that alters a table still finds the shape it expects. When a model changes, add a step.
Step 5 makes the audit trail a hash chain per inquiry (audit/chain.py) and has the database refuse
to change or remove its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
    update,
)

from audit.chain import GENESIS, Entry, commit_free_text
from models.store import SchemaVersion, UtcDateTime

Migration = Callable[[Connection], None]

# Any fixed number: it only has to be the same in every process that migrates this database.
MIGRATION_LOCK_KEY = 0x52494E51

_SCHEMA_VERSION: Table = SchemaVersion.__table__  # type: ignore[attr-defined]


# --- migrations ------------------------------------------------------------------------------


def _v1_create_tables(conn: Connection) -> None:
    metadata = MetaData()
    Table(
        "inquiry",
        metadata,
        Column("inquiry_id", String(64), primary_key=True),
        Column("workflow_id", String(128), nullable=False),
        Column("first_run_id", String(64), nullable=False),
        Column("sector", String(32), nullable=False),
        Column("stage", String(32), nullable=False, index=True),
        Column("tier", Integer, nullable=True),
        Column("urgency", String(16), nullable=True),
        Column("categories", JSON, nullable=False),
        Column("compliance_flags", JSON, nullable=False),
        Column("owner", String(128), nullable=True, index=True),
        Column("sla_breached", Boolean, nullable=False),
        Column("version", Integer, nullable=False),
        Column("received_at", UtcDateTime, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("closed_at", UtcDateTime, nullable=True),
        Column("resolution_ref", String(128), nullable=True),
    )
    Table(
        "audit_event",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_key", String(255), nullable=False, unique=True),
        Column("inquiry_id", String(64), nullable=False, index=True),
        Column("workflow_id", String(128), nullable=False),
        Column("at", UtcDateTime, nullable=False),
        Column("actor", String(128), nullable=False),
        Column("action", String(64), nullable=False),
        Column("stage", String(32), nullable=False),
        Column("detail", JSON, nullable=False),
    )
    Table(
        "outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("message_key", String(255), nullable=False, unique=True),
        Column("inquiry_id", String(64), nullable=False, index=True),
        Column("workflow_id", String(128), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("audience", String(16), nullable=False),
        Column("recipient", String(320), nullable=False),
        Column("channel", String(32), nullable=False),
        Column("subject", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("status", String(16), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime, nullable=True),
    )
    metadata.create_all(conn)


def _v2_survey_answers(conn: Connection) -> None:
    metadata = MetaData()
    Table(
        "survey_answer",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("survey_ref", String(255), nullable=False, unique=True),
        Column("inquiry_id", String(64), nullable=False, index=True),
        Column("workflow_id", String(128), nullable=False),
        Column("csat", Integer, nullable=True),
        Column("nps", Integer, nullable=True),
        Column("ces", Integer, nullable=True),
        Column("comment", Text, nullable=True),
        Column("answered_at", UtcDateTime, nullable=False),
        Column("late", Boolean, nullable=False),
        Column("recorded_at", UtcDateTime, nullable=False),
    )
    metadata.create_all(conn)


def _v3_data_keys(conn: Connection) -> None:
    # The payload codec's per-inquiry data keys, wrapped by a master key (encryption/).
    metadata = MetaData()
    Table(
        "data_key",
        metadata,
        Column("key_id", String(40), primary_key=True),
        Column("scope", String(128), nullable=False, unique=True),
        Column("master_key_id", String(64), nullable=False),
        Column("wrapped", LargeBinary, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("erased_at", UtcDateTime, nullable=True),
    )
    metadata.create_all(conn)


def _v4_customer_ref(conn: Connection) -> None:
    # A pseudonym of the customer (encryption/pseudonyms.py), so erasure can find their inquiries.
    conn.execute(text("ALTER TABLE inquiry ADD COLUMN customer_ref VARCHAR(64)"))
    conn.execute(text("CREATE INDEX ix_inquiry_customer_ref ON inquiry (customer_ref)"))


def _v5_audit_chain(conn: Connection) -> None:
    # The audit trail becomes a hash chain per inquiry, its free text moves to audit_text (the
    # chain keeps a salted hash of it, so erasure does not break the chain), and the database
    # refuses to change or remove a row.
    for column in ("seq INTEGER", "prev_hash VARCHAR(64)", "row_hash VARCHAR(64)"):
        conn.execute(text(f"ALTER TABLE audit_event ADD COLUMN {column}"))
    conn.execute(
        text("CREATE UNIQUE INDEX ux_audit_event_inquiry_seq ON audit_event (inquiry_id, seq)")
    )
    metadata = MetaData()
    events = Table(
        "audit_event",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("inquiry_id", String(64)),
        Column("event_key", String(255)),
        Column("workflow_id", String(128)),
        Column("at", UtcDateTime),
        Column("actor", String(128)),
        Column("action", String(64)),
        Column("stage", String(32)),
        Column("detail", JSON),
        Column("seq", Integer),
        Column("prev_hash", String(64)),
        Column("row_hash", String(64)),
    )
    texts = Table(
        "audit_text",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", Integer, nullable=False),
        Column("inquiry_id", String(64), nullable=False, index=True),
        Column("field", String(64), nullable=False),
        Column("salt", String(32), nullable=False),
        Column("text", Text, nullable=False),
        UniqueConstraint("event_id", "field", name="uq_audit_text_event_field"),
    )
    heads = Table(
        "audit_head",
        metadata,
        Column("inquiry_id", String(64), primary_key=True),
        Column("seq", Integer, nullable=False),
        Column("row_hash", String(64), nullable=False),
    )
    texts.create(conn)
    heads.create(conn)
    _v5_chain_existing_rows(conn, events, texts, heads)
    if conn.dialect.name == "postgresql":
        _v5_postgres_triggers(conn)
    else:
        _v5_sqlite_triggers(conn)


def _v5_chain_existing_rows(conn: Connection, events: Table, texts: Table, heads: Table) -> None:
    """Chain the rows already stored, in the order they were written (id) per inquiry."""
    inquiries = conn.execute(select(events.c.inquiry_id).distinct()).scalars().all()
    for inquiry_id in sorted(inquiries):
        seq, prev_hash = 0, GENESIS
        rows = conn.execute(
            select(events).where(events.c.inquiry_id == inquiry_id).order_by(events.c.id)
        ).all()
        for row in rows:
            seq += 1
            chained, moved = commit_free_text(row.detail, row.actor)
            row_hash = Entry(
                inquiry_id=inquiry_id,
                seq=seq,
                event_key=row.event_key,
                workflow_id=row.workflow_id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                stage=row.stage,
                detail=chained,
                prev_hash=prev_hash,
            ).digest()
            conn.execute(
                update(events)
                .where(events.c.id == row.id)
                .values(detail=chained, seq=seq, prev_hash=prev_hash, row_hash=row_hash)
            )
            if moved:
                conn.execute(
                    insert(texts),
                    [
                        {"event_id": row.id, "inquiry_id": inquiry_id, "field": key,
                         "salt": salt, "text": value}
                        for key, (salt, value) in moved.items()
                    ],
                )  # fmt: skip
            prev_hash = row_hash
        conn.execute(insert(heads).values(inquiry_id=inquiry_id, seq=seq, row_hash=prev_hash))


def _v5_sqlite_triggers(conn: Connection) -> None:
    refusals = {
        "audit_event_no_update": ("UPDATE", "audit_event", "audit rows cannot be changed"),
        "audit_event_no_delete": ("DELETE", "audit_event", "audit rows cannot be removed"),
        "audit_text_no_update": ("UPDATE", "audit_text", "audit text cannot be changed"),
    }
    for name, (operation, table, message) in refusals.items():
        conn.execute(
            text(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        )


def _v5_postgres_triggers(conn: Connection) -> None:
    # 42501 (insufficient_privilege): the error an application role without the right gets too.
    conn.execute(
        text(
            "CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = "
            "'the audit trail refuses ' || TG_OP || ' on ' || TG_TABLE_NAME; END $$"
        )
    )
    for name, timing, table in (
        ("audit_event_append_only", "BEFORE UPDATE OR DELETE", "audit_event"),
        ("audit_text_no_update", "BEFORE UPDATE", "audit_text"),
    ):
        conn.execute(
            text(
                f"CREATE TRIGGER {name} {timing} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
        )
    for table in ("audit_event", "audit_text"):
        conn.execute(
            text(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
            )
        )


def _v6_assertion_use(conn: Connection) -> None:
    # Each signed assertion is spent once, recorded outside the workflow's history.
    metadata = MetaData()
    Table(
        "assertion_use",
        metadata,
        Column("jti", String(255), primary_key=True),
        Column("workflow_id", String(128), nullable=False),
        Column("action", String(64), nullable=False),
        Column("spent_by", String(255), nullable=False),
        Column("spent_at", UtcDateTime, nullable=False),
    )
    metadata.create_all(conn)


MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _v1_create_tables),
    (2, _v2_survey_answers),
    (3, _v3_data_keys),
    (4, _v4_customer_ref),
    (5, _v5_audit_chain),
    (6, _v6_assertion_use),
]


def migrate(engine: Engine) -> int:
    """Bring the schema up to the latest step; safe to run twice or from two processes at once.

    Returns the schema version the database is at afterwards.
    """
    current = 0
    for version, step in MIGRATIONS:
        with engine.connect() as conn:
            _lock(conn)
            current = _current_version(conn)
            if current >= version:
                conn.rollback()
                continue
            step(conn)
            conn.execute(
                update(_SCHEMA_VERSION)
                .where(_SCHEMA_VERSION.c.id == 1)
                .values(version=version, applied_at=datetime.now(UTC))
            )
            conn.commit()
            current = version
    return current


def _lock(conn: Connection) -> None:
    """Start the step's transaction holding the migration lock until it commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # The sqlite3 module would otherwise begin lazily and run DDL outside any transaction.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _current_version(conn: Connection) -> int:
    _SCHEMA_VERSION.create(conn, checkfirst=True)
    version = conn.execute(
        select(_SCHEMA_VERSION.c.version).where(_SCHEMA_VERSION.c.id == 1)
    ).scalar_one_or_none()
    if version is None:
        conn.execute(_SCHEMA_VERSION.insert().values(id=1, version=0, applied_at=datetime.now(UTC)))
        return 0
    return int(version)
