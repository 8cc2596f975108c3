"""Shared fixtures. Each group is owned by the part of the code it serves (prefix `db_`/`store_`:
the store); add new groups below, keeping imports at the top."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from activities.db import make_engine
from activities.migrations import migrate

# --- the store: one fixture, both databases ---------------------------------------------------

DB_POSTGRES_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _db_libpq_url(url: str) -> str:
    """The same server as a plain libpq URL, whatever driver the SQLAlchemy URL names."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def db_postgres_server_url() -> str:
    """TEST_POSTGRES_URL if the server answers; skipped locally, a failure when CI=true."""
    url = os.environ.get("TEST_POSTGRES_URL", DB_POSTGRES_DEFAULT_URL)
    try:
        with psycopg.connect(_db_libpq_url(url), connect_timeout=3):
            pass
    except psycopg.Error as err:
        reason = f"PostgreSQL from TEST_POSTGRES_URL is unreachable ({type(err).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the store tests on PostgreSQL too")
        pytest.skip(reason)
    return url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file in a not yet existing folder, or a fresh PostgreSQL
    schema (dropped afterwards) so parallel runs and the dev database never meet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'inquiries.db'}"
        return
    server = request.getfixturevalue("db_postgres_server_url")
    schema = f"ri_test_{secrets.token_hex(6)}"
    with psycopg.connect(_db_libpq_url(server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_db_libpq_url(server), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A migrated store on each database (test ids `sqlite` and `postgres`)."""
    engine = make_engine(db_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


# --- who is acting: one development issuer for the whole session ------------------------------

IDENTITY_ISSUER_VARS = ("INQUIRY_ISSUER_JWKS_FILE", "INQUIRY_DEV_ISSUER_KEY_FILE")


@pytest.fixture(scope="session", autouse=True)
def identity_dev_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The development issuer's key and JWKS in a session folder, named in the environment so
    that every worker and starter.py of the tests sign and verify alike (and nothing is written
    to the project's data/)."""
    folder = tmp_path_factory.mktemp("issuer")
    files = {
        "INQUIRY_ISSUER_JWKS_FILE": str(folder / "dev-issuer.jwks.json"),
        "INQUIRY_DEV_ISSUER_KEY_FILE": str(folder / "dev-issuer-key.pem"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in files.items():
            patch.setenv(name, value)
        yield files
