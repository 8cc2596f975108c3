"""The store on SQLite and PostgreSQL: migrations, the inquiry registry, audit trail, read model."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db import make_engine
from activities.migrations import MIGRATIONS, migrate
from activities.store import (
    OwnerLoad,
    StoreActivities,
    count_open_by_owner,
    find_inquiry,
    list_audit,
)
from encryption import DataKeys, LocalMasterKeys
from encryption.pseudonyms import Pseudonyms
from models.activities import (
    AuditEvent,
    InquirySnapshot,
    RecordInput,
    RegisterInquiryInput,
    RegisterInquiryResult,
)
from models.contract import Sector, Stage
from models.store import SchemaVersion

LATEST = MIGRATIONS[-1][0]
RECEIVED = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))


def registration(inquiry_id: str = "INQ-1", run_id: str = "run-a") -> RegisterInquiryInput:
    return RegisterInquiryInput(
        inquiry_id=inquiry_id,
        workflow_id=f"inquiry-{inquiry_id}",
        run_id=run_id,
        sector=Sector.HEALTHCARE,
        received_at=RECEIVED,
        customer_id="CUST-1",
    )


def event(key: str, at: datetime, inquiry_id: str = "INQ-1") -> AuditEvent:
    return AuditEvent(
        event_key=key,
        inquiry_id=inquiry_id,
        workflow_id=f"inquiry-{inquiry_id}",
        at=at,
        actor="system",
        action="stage_changed",
        stage=Stage.TRIAGED,
        detail={"from": "received", "due": datetime(2025, 3, 2, tzinfo=UTC)},
    )


def snapshot(version: int, inquiry_id: str = "INQ-1", **fields: object) -> InquirySnapshot:
    values: dict[str, object] = {
        "inquiry_id": inquiry_id,
        "workflow_id": f"inquiry-{inquiry_id}",
        "version": version,
        "sector": Sector.HEALTHCARE,
        "stage": Stage.TRIAGED,
        "received_at": RECEIVED,
        "updated_at": RECEIVED + timedelta(minutes=version),
    }
    return InquirySnapshot.model_validate(values | fields)


MASTER = LocalMasterKeys({"k1": os.urandom(32)}, "k1")  # one ring for the module, like a worker's


def store(engine: Engine) -> StoreActivities:
    return StoreActivities(engine, Pseudonyms(DataKeys(engine, MASTER)))


async def register(engine: Engine, request: RegisterInquiryInput) -> RegisterInquiryResult:
    return await ActivityEnvironment().run(store(engine).register_inquiry, request)


async def record(engine: Engine, request: RecordInput) -> None:
    await ActivityEnvironment().run(store(engine).record_events, request)


# --- migrations ------------------------------------------------------------------------------


async def test_migrating_again_keeps_data_and_version(db_engine: Engine) -> None:
    await register(db_engine, registration())

    assert migrate(db_engine) == LATEST
    assert migrate(db_engine) == LATEST

    with Session(db_engine) as session:
        assert find_inquiry(session=session, inquiry_id="INQ-1") is not None
        assert [v.version for v in session.exec(select(SchemaVersion)).all()] == [LATEST]


def test_two_processes_migrating_an_empty_database_at_once_both_succeed(db_url: str) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            versions = list(pool.map(migrate, engines))
        assert versions == [LATEST, LATEST]
        with Session(engines[0]) as session:
            assert len(session.exec(select(SchemaVersion)).all()) == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_migrations_build_every_column_the_models_declare(db_engine: Engine) -> None:
    inspector = inspect(db_engine)
    for table in SQLModel.metadata.sorted_tables:
        stored = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        declared = {c.name: c.nullable for c in table.columns}
        assert stored == declared, table.name


@pytest.mark.parametrize("url", ["postgres://u@db.example/app", "postgresql://u@db.example/app"])
def test_postgres_urls_use_the_psycopg3_driver(url: str) -> None:
    assert make_engine(url).dialect.driver == "psycopg"


# --- registry --------------------------------------------------------------------------------


async def test_registering_the_same_run_twice_is_accepted(db_engine: Engine) -> None:
    first = await register(db_engine, registration(run_id="run-a"))
    retried = await register(db_engine, registration(run_id="run-a"))

    assert first.accepted and retried.accepted
    assert retried.first_run_id == "run-a"
    with Session(db_engine) as session:
        row = find_inquiry(session=session, inquiry_id="INQ-1")
        assert row is not None and row.stage == Stage.RECEIVED and row.version == 0


async def test_another_run_for_a_known_inquiry_is_refused_with_the_first_run_id(
    db_engine: Engine,
) -> None:
    await register(db_engine, registration(run_id="run-a"))

    second = await register(db_engine, registration(run_id="run-b"))

    assert not second.accepted
    assert second.first_run_id == "run-a"


async def test_racing_runs_for_one_inquiry_leave_exactly_one_owner(db_engine: Engine) -> None:
    runs = [f"run-{n}" for n in range(4)]
    results = await asyncio.gather(*(register(db_engine, registration(run_id=r)) for r in runs))

    winners = [r for r, result in zip(runs, results, strict=True) if result.accepted]
    assert len(winners) == 1
    assert {result.first_run_id for result in results} == set(winners)


# --- audit trail and read model --------------------------------------------------------------


async def test_recording_the_same_events_twice_stores_each_once(db_engine: Engine) -> None:
    await register(db_engine, registration())
    events = [event("INQ-1:1", RECEIVED), event("INQ-1:2", RECEIVED + timedelta(seconds=1))]

    await record(db_engine, RecordInput(events=events))
    await record(db_engine, RecordInput(events=events))

    with Session(db_engine) as session:
        trail = list_audit(session=session, inquiry_id="INQ-1")
    assert [row.event_key for row in trail] == ["INQ-1:1", "INQ-1:2"]
    assert trail[0].detail == {"from": "received", "due": "2025-03-02T00:00:00Z"}


async def test_audit_trail_reads_in_time_order_whatever_the_offsets(db_engine: Engine) -> None:
    await register(db_engine, registration())
    later = datetime(2025, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))  # 14:00 UTC
    earlier = datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-1)))  # 13:00 UTC

    await record(db_engine, RecordInput(events=[event("late", later), event("early", earlier)]))

    with Session(db_engine) as session:
        trail = list_audit(session=session, inquiry_id="INQ-1")
    assert [row.event_key for row in trail] == ["early", "late"]


async def test_an_older_snapshot_does_not_overwrite_a_newer_one(db_engine: Engine) -> None:
    await register(db_engine, registration())
    await record(db_engine, RecordInput(snapshot=snapshot(3, stage=Stage.DRAFTING, owner="ana")))

    await record(db_engine, RecordInput(snapshot=snapshot(2, stage=Stage.ROUTING, owner="bo")))
    await record(db_engine, RecordInput(snapshot=snapshot(3, stage=Stage.ROUTING, owner="bo")))

    with Session(db_engine) as session:
        row = find_inquiry(session=session, inquiry_id="INQ-1")
    assert row is not None
    assert (row.version, row.stage, row.owner) == (3, "drafting", "ana")


async def test_a_newer_snapshot_moves_the_read_model(db_engine: Engine) -> None:
    await register(db_engine, registration())
    closed = RECEIVED + timedelta(days=2)

    await record(
        db_engine,
        RecordInput(
            events=[event("INQ-1:close", closed)],
            snapshot=snapshot(
                1,
                stage=Stage.CLOSED,
                tier=2,
                categories=["billing"],
                compliance_flags=["PCI"],
                closed_at=closed,
                resolution_ref="RES-9",
            ),
        ),
    )

    with Session(db_engine) as session:
        row = find_inquiry(session=session, inquiry_id="INQ-1")
        assert len(list_audit(session=session, inquiry_id="INQ-1")) == 1
    assert row is not None
    assert (row.stage, row.tier, row.categories, row.compliance_flags) == (
        "closed",
        2,
        ["billing"],
        ["PCI"],
    )
    assert (row.closed_at, row.resolution_ref, row.first_run_id) == (closed, "RES-9", "run-a")


async def test_a_snapshot_of_an_unregistered_inquiry_fails_without_retry(db_engine: Engine) -> None:
    with pytest.raises(ApplicationError) as raised:
        await record(db_engine, RecordInput(snapshot=snapshot(1, inquiry_id="INQ-404")))

    assert raised.value.non_retryable
    assert raised.value.type == "InquiryNotRegistered"


async def test_timestamps_come_back_timezone_aware_and_equal(db_engine: Engine) -> None:
    at = datetime(2025, 3, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-7)))
    await register(db_engine, registration())
    await record(db_engine, RecordInput(events=[event("INQ-1:1", at)]))

    with Session(db_engine) as session:
        row = find_inquiry(session=session, inquiry_id="INQ-1")
        (audit,) = list_audit(session=session, inquiry_id="INQ-1")
    assert row is not None
    for stored, written in [(row.received_at, RECEIVED), (audit.at, at)]:
        assert stored.tzinfo is not None
        assert stored == written


async def test_open_inquiries_are_counted_per_owner_and_closed_ones_are_not(
    db_engine: Engine,
) -> None:
    stages = {
        "A": ("ana", Stage.DRAFTING),
        "B": ("ana", Stage.FOLLOW_UP),
        "C": ("ana", Stage.CLOSED),
        "D": ("bo", Stage.WITHDRAWN),
        "E": ("cy", Stage.ROUTING),
    }
    for inquiry_id, (owner, stage) in stages.items():
        await register(db_engine, registration(inquiry_id))
        await record(
            db_engine,
            RecordInput(snapshot=snapshot(1, inquiry_id=inquiry_id, owner=owner, stage=stage)),
        )

    with Session(db_engine) as session:
        counts = count_open_by_owner(session=session, owner_ids=["ana", "bo", "dee"])
    assert counts == {"ana": 2, "bo": 0, "dee": 0}
    assert await OwnerLoad(db_engine)(["cy", "ana"]) == {"cy": 1, "ana": 2}


async def test_the_registry_keeps_a_pseudonym_of_the_customer_never_the_id(
    db_engine: Engine,
) -> None:
    activities = store(db_engine)
    for inquiry_id in ("INQ-1", "INQ-2"):
        await ActivityEnvironment().run(activities.register_inquiry, registration(inquiry_id))
    with Session(db_engine) as session:
        rows = [find_inquiry(session=session, inquiry_id=i) for i in ("INQ-1", "INQ-2")]
    refs = {row.customer_ref for row in rows if row is not None}
    assert len(refs) == 1, "one customer, one pseudonym"
    [ref] = refs
    assert ref is not None and ref.startswith("cust_") and "CUST-1" not in ref
