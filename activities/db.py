"""Engine construction and schema migrations for the store (SQLite in development, PostgreSQL).

`make_engine(url)` is called by the entry points with `DATABASE_URL`; `migrate(engine)` runs on
every start. `in_store(fn, ...)` runs one unit of store work off the event loop for an activity.

Errors
    ApplicationError "StoreError" (retryable): a database error, named by its class and SQLSTATE
                     only. The driver's own message can quote a row's values ("Key (email)=(...)
                     already exists"), and the statement's bound parameters are hidden by the
                     engine (`hide_parameters`), so nothing personal reaches a failure message,
                     the history or a log line. The original error is not chained.

Migrations are an ordered list of `(version, step)`: each step runs in its own
transaction together with the bump of the single `schema_version` row, under a lock (an advisory
lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so two processes starting at once apply each
step exactly once and a failed step leaves the version where it was.

Each step's DDL is frozen: step 1 spells its tables out instead of reading today's models, so a
later step that alters a table still finds the shape it expects. When a model changes, add a step.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

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
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from temporalio.exceptions import ApplicationError

from models.store import SchemaVersion, UtcDateTime

Migration = Callable[[Connection], None]

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Any fixed number: it only has to be the same in every process that migrates this database.
MIGRATION_LOCK_KEY = 0x52494E51

_SCHEMA_VERSION: Table = SchemaVersion.__table__  # type: ignore[attr-defined]


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgres://` and `postgresql://` use the psycopg 3 driver."""
    sa_url = make_url(url)
    if sa_url.drivername in ("postgres", "postgresql"):
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    if sa_url.get_backend_name() == "sqlite":
        return _sqlite_engine(sa_url)
    return create_engine(sa_url, pool_pre_ping=True, hide_parameters=True)


P = ParamSpec("P")
R = TypeVar("R")


async def in_store(work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `work` in a worker thread; a database error becomes a StoreError without values."""
    try:
        return await asyncio.to_thread(work, *args, **kwargs)
    except SQLAlchemyError as err:
        raise ApplicationError(
            f"the store refused the operation ({_name(err)})", type="StoreError"
        ) from None


def _name(err: SQLAlchemyError) -> str:
    """The error's class, the driver's class and SQLSTATE: never its message."""
    parts = [type(err).__name__]
    if isinstance(err, DBAPIError) and err.orig is not None:
        parts.append(type(err.orig).__name__)
        code = getattr(err.orig, "sqlstate", None) or getattr(err.orig, "sqlite_errorname", None)
        if isinstance(code, str):
            parts.append(code)
    return ", ".join(parts)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Readable by its owner only (SQLite gives the -wal and -shm files the same mode).
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
    engine = create_engine(
        url,
        hide_parameters=True,
        # Activities run their queries in worker threads; each thread takes its own pooled
        # connection, so sharing the pool across threads is safe.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout makes a second writer wait for the lock instead of failing at once
        # with "database is locked"; WAL lets readers run while one writer writes.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted and overwritten rows (an erasure) are zeroed, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # Switching needs the file to itself, and SQLite answers "database is locked" at once, busy
    # timeout or not, while another process holds a lock (two processes migrating a new file).
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


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


MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _v1_create_tables),
    (2, _v2_survey_answers),
    (3, _v3_data_keys),
    (4, _v4_customer_ref),
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
