"""Engine construction for the store (SQLite in development, PostgreSQL); its schema is
`activities.migrations`.

`make_engine(url)` is called by the entry points with `DATABASE_URL`; `in_store(fn, ...)` runs
one unit of store work off the event loop for an activity.

Errors
    ApplicationError "StoreError" (retryable): a database error, named by its class and SQLSTATE
                     only. The driver's own message can quote a row's values ("Key (email)=(...)
                     already exists"), and the statement's bound parameters are hidden by the
                     engine (`hide_parameters`), so nothing personal reaches a failure message,
                     the history or a log line. The original error is not chained.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from temporalio.exceptions import ApplicationError

SQLITE_BUSY_TIMEOUT_SECONDS = 30


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
