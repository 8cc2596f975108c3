"""The audit trail as a hash chain per inquiry, on SQLite and PostgreSQL: what the database
refuses, what `audit verify` finds when someone with the rights to switch the refusals off
changes, removes, inserts or reorders rows, how erasure and a forged event key are handled, and
how a signed checkpoint catches a chain rewritten whole."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

import starter
from activities import migrations as db
from activities.db import make_engine
from activities.migrations import migrate
from activities.store import StoreActivities, list_audit, record_events
from audit.chain import (
    AUDIT_EVENT,
    AUDIT_HEAD,
    AUDIT_TEXT,
    ERASED,
    GENESIS,
    KEY_CONFLICT,
    Entry,
    StoredRow,
    read_chain,
)
from audit.checkpoints import periodic_checkpoints, write_checkpoint
from audit.keys import load_signing_key, public_key_path
from audit.verify import Verification, verify_store
from encryption import DataKeys, KeyConfigError, LocalMasterKeys
from encryption.erasure import erase_customer
from encryption.pseudonyms import Pseudonyms
from models.activities import AuditEvent, RegisterInquiryInput
from models.contract import Sector, Stage
from models.store import UtcDateTime

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOTE = "Mrs Roe said her son handles the bills now"


def event(key: str, n: int, inquiry_id: str = "INQ-1", **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "event_key": key,
        "inquiry_id": inquiry_id,
        "workflow_id": f"inquiry-{inquiry_id}",
        "at": AT + timedelta(seconds=n),
        "actor": "system",
        "action": "stage_changed",
        "stage": Stage.ROUTING,
        "detail": {"to": "routing", "n": n},
    }
    return AuditEvent.model_validate(values | fields)


def trail(inquiry_id: str = "INQ-1") -> list[AuditEvent]:
    """Six events, two of them with what a person wrote."""
    return [
        event(f"{inquiry_id}:1", 1, inquiry_id, action="inquiry_received", actor="intake"),
        event(f"{inquiry_id}:2", 2, inquiry_id),
        event(
            f"{inquiry_id}:3", 3, inquiry_id, actor="agent.ana", action="note_added",
            detail={"kind": "note", "text": NOTE},
        ),
        event(
            f"{inquiry_id}:4", 4, inquiry_id, actor="agent.kai", action="signal_refused",
            detail={"signal": "escalate", "reason": "the customer rang twice"},
        ),
        event(f"{inquiry_id}:5", 5, inquiry_id, detail={"reason": "sla breached"}),
        event(f"{inquiry_id}:6", 6, inquiry_id),
    ]  # fmt: skip


def write(engine: Engine, events: list[AuditEvent]) -> list[AuditEvent]:
    """Record `events` in one transaction; returns those stored for the first time (counted)."""
    with Session(engine) as session:
        stored = record_events(session=session, events=events)
        session.commit()
        return stored


def rows(engine: Engine, inquiry_id: str = "INQ-1") -> list[StoredRow]:
    with engine.connect() as conn:
        return read_chain(conn, inquiry_id).rows


def found(result: Verification) -> list[tuple[str, str | None, int | None]]:
    return [(f.kind, f.inquiry_id, f.seq) for f in result.findings]


@contextmanager
def attacker(engine: Engine) -> Iterator[Connection]:
    """A connection of someone with DDL rights, who switched the audit trail's refusals off."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("audit_event", "audit_text"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for name in ("audit_event_no_update", "audit_event_no_delete", "audit_text_no_update"):
                conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn


def at_seq(seq: int, inquiry_id: str = "INQ-1") -> Any:
    return (AUDIT_EVENT.c.inquiry_id == inquiry_id) & (AUDIT_EVENT.c.seq == seq)


def rehash(conn: Connection, inquiry_id: str, change: Callable[[StoredRow], StoredRow]) -> None:
    """Rewrite an inquiry's chain consistently: `change` each row, recompute every hash."""
    prev_hash = GENESIS
    for row in read_chain(conn, inquiry_id).rows:
        new = dataclasses.replace(change(row), prev_hash=prev_hash)
        row_hash = new.entry().digest()
        conn.execute(
            update(AUDIT_EVENT)
            .where(AUDIT_EVENT.c.id == row.id)
            .values(detail=new.detail, prev_hash=prev_hash, row_hash=row_hash)
        )
        prev_hash = row_hash
    conn.execute(
        update(AUDIT_HEAD).where(AUDIT_HEAD.c.inquiry_id == inquiry_id).values(row_hash=prev_hash)
    )


@pytest.fixture
def signing_key(tmp_path: Path) -> Ed25519PrivateKey:
    return load_signing_key(None, tmp_path / "keys" / "audit.pem", create_if_missing=True)


# --- writing ---------------------------------------------------------------------------------


def test_a_trail_is_chained_with_free_text_kept_apart_and_reads_back_whole(
    db_engine: Engine,
) -> None:
    write(db_engine, trail())

    stored = rows(db_engine)
    assert [r.seq for r in stored] == [1, 2, 3, 4, 5, 6]
    assert stored[0].prev_hash == GENESIS
    assert all(r.prev_hash == p.row_hash for p, r in zip(stored, stored[1:], strict=False))
    assert all(r.entry().digest() == r.row_hash for r in stored)
    assert NOTE not in json.dumps([r.detail for r in stored])
    assert stored[2].detail["text"].startswith("sha256:")
    assert stored[3].detail["reason"].startswith("sha256:")  # a person's reason
    assert stored[4].detail["reason"] == "sla breached"  # the system's
    with Session(db_engine) as session:
        read = list_audit(session=session, inquiry_id="INQ-1")
    assert read[2].detail == {"kind": "note", "text": NOTE}
    assert read[3].detail["reason"] == "the customer rang twice"
    assert verify_store(db_engine).ok


def test_a_retried_write_changes_nothing(
    db_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    assert write(db_engine, trail()) == trail()
    before = rows(db_engine)

    assert write(db_engine, trail()) == []  # nothing new, so the metrics count nothing again
    assert write(db_engine, trail()[2:4] + [event("INQ-1:new", 9)]) == [event("INQ-1:new", 9)]

    assert rows(db_engine)[: len(before)] == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_key_repeated_within_one_write_is_stored_once_or_raises_the_alarm(
    db_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    first, again = event("INQ-1:1", 1), event("INQ-1:1", 1)
    other = event("INQ-1:2", 2, detail={"note": "first words"})
    changed = event("INQ-1:2", 3, detail={"note": "other words"})

    with caplog.at_level(logging.ERROR, logger="regulated_inquiries.audit"):
        stored = write(db_engine, [first, again, other, changed, event("INQ-1:3", 4)])

    assert stored == [first, other, event("INQ-1:3", 4)]
    assert [(r.event_key, r.seq) for r in rows(db_engine)] == [
        ("INQ-1:1", 1),
        ("INQ-1:2", 2),
        ("INQ-1:2#conflict-1", 3),
        ("INQ-1:2#conflict-1:key-conflict", 4),
        ("INQ-1:3", 5),
    ]
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    assert verify_store(db_engine).ok


def test_two_threads_appending_to_one_inquiry_leave_one_valid_chain(db_engine: Engine) -> None:
    def append(writer: str) -> None:
        for n in range(15):
            write(db_engine, [event(f"{writer}:{n}", n, detail={"text": f"{writer} {n}"})])

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(append, ["a", "b"]))

    assert [r.seq for r in rows(db_engine)] == list(range(1, 31))
    result = verify_store(db_engine)
    assert result.ok and result.rows == 30, found(result)


# --- what the database refuses ---------------------------------------------------------------


def test_the_database_refuses_to_change_or_remove_audit_rows(db_engine: Engine) -> None:
    write(db_engine, trail())
    attempts = [
        update(AUDIT_EVENT).where(at_seq(3)).values(actor="agent.zed"),
        delete(AUDIT_EVENT).where(at_seq(3)),
        update(AUDIT_TEXT).values(text="something else"),
    ]
    if db_engine.dialect.name == "postgresql":
        attempts.append(text("TRUNCATE audit_event"))
        attempts.append(text("TRUNCATE audit_text"))
    for attempt in attempts:
        with pytest.raises(DBAPIError) as refused, db_engine.begin() as conn:
            conn.execute(attempt)
        assert "audit" in str(refused.value.orig), attempt

    with db_engine.begin() as conn:  # erasure deletes free text: that stays possible
        assert conn.execute(delete(AUDIT_TEXT)).rowcount == 2
    assert [r.seq for r in rows(db_engine)] == [1, 2, 3, 4, 5, 6]


# --- what verify finds -----------------------------------------------------------------------


def test_a_changed_row_is_found(db_engine: Engine) -> None:
    write(db_engine, trail("INQ-1") + trail("INQ-2"))
    with attacker(db_engine) as conn:
        conn.execute(update(AUDIT_EVENT).where(at_seq(3)).values(actor="agent.zed"))
        conn.execute(
            update(AUDIT_EVENT).where(at_seq(5, "INQ-2")).values(detail={"reason": "none"})
        )

    result = verify_store(db_engine)

    assert found(result) == [("changed", "INQ-1", 3), ("changed", "INQ-2", 5)]
    assert result.findings[0].event_key == "INQ-1:3"


def test_a_removed_row_is_found_in_the_middle_and_at_the_end(db_engine: Engine) -> None:
    write(db_engine, trail("INQ-1") + trail("INQ-2"))
    with attacker(db_engine) as conn:
        conn.execute(delete(AUDIT_EVENT).where(at_seq(3)))
        conn.execute(delete(AUDIT_EVENT).where(at_seq(6, "INQ-2")))

    result = verify_store(db_engine)

    assert found(result) == [("removed", "INQ-1", 4), ("removed", "INQ-2", 6)]
    assert "seq 3" in result.findings[0].reason


def test_an_inserted_row_is_found(db_engine: Engine) -> None:
    write(db_engine, trail("INQ-1") + trail("INQ-2") + trail("INQ-3"))
    with attacker(db_engine) as conn:
        conn.execute(text("DROP INDEX ux_audit_event_inquiry_seq"))
        [second] = [r for r in read_chain(conn, "INQ-1").rows if r.seq == 2]
        forged = Entry(**{
            **{f: getattr(second, f) for f in ("inquiry_id", "workflow_id", "at", "stage")},
            "seq": 3, "event_key": "INQ-1:forged", "actor": "reviewer.rita",
            "action": "compliance_approved", "detail": {}, "prev_hash": second.row_hash,
        })  # fmt: skip
        conn.execute(
            insert(AUDIT_EVENT).values(**dataclasses.asdict(forged), row_hash=forged.digest())
        )
        conn.execute(  # a row with no chain fields at all
            insert(AUDIT_EVENT).values(
                event_key="INQ-2:forged", inquiry_id="INQ-2", workflow_id="inquiry-INQ-2",
                at=AT, actor="reviewer.rita", action="compliance_approved", stage="routing",
                detail={},
            )
        )  # fmt: skip
        [last] = [r for r in read_chain(conn, "INQ-3").rows if r.seq == 6]
        after = dataclasses.replace(forged, inquiry_id="INQ-3", seq=7, prev_hash=last.row_hash)
        after = dataclasses.replace(after, event_key="INQ-3:forged")
        conn.execute(
            insert(AUDIT_EVENT).values(**dataclasses.asdict(after), row_hash=after.digest())
        )

    result = verify_store(db_engine)

    assert found(result) == [
        ("inserted", "INQ-1", 3),
        ("inserted", "INQ-2", None),
        ("inserted", "INQ-3", 7),
    ]
    assert {f.event_key for f in result.findings} == {
        "INQ-1:forged",
        "INQ-2:forged",
        "INQ-3:forged",
    }


def test_two_swapped_rows_are_found(db_engine: Engine) -> None:
    write(db_engine, trail("INQ-1") + trail("INQ-2"))
    content = ("event_key", "at", "actor", "action", "stage", "detail")
    with attacker(db_engine) as conn:
        # INQ-1: the two rows trade places by their seqs.
        conn.execute(update(AUDIT_EVENT).where(at_seq(3)).values(seq=-3))
        conn.execute(update(AUDIT_EVENT).where(at_seq(4)).values(seq=3))
        conn.execute(update(AUDIT_EVENT).where(at_seq(-3)).values(seq=4))
        # INQ-2: the two rows trade contents, each keeping its place in the chain.
        fifth, sixth = [r for r in read_chain(conn, "INQ-2").rows if r.seq in (5, 6)]
        conn.execute(update(AUDIT_EVENT).where(at_seq(5, "INQ-2")).values(event_key="swap"))
        for row, other in ((sixth, fifth), (fifth, sixth)):
            conn.execute(
                update(AUDIT_EVENT)
                .where(AUDIT_EVENT.c.id == row.id)
                .values(**{name: getattr(other, name) for name in content})
            )

    result = verify_store(db_engine)

    assert found(result) == [("reordered", "INQ-1", 3), ("reordered", "INQ-2", 5)]
    assert [f.reason for f in result.findings] == [
        "the rows at seq 3 and 4 are swapped",
        "the rows at seq 5 and 6 are swapped",
    ]


def test_a_key_taken_in_advance_raises_the_alarm_and_the_real_event_is_kept(
    db_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    squatter = event("INQ-1:7", 1, actor="agent.mallory", detail={"note": "nothing to see"})
    genuine = event(
        "INQ-1:7", 7, actor="reviewer.rita", action="compliance_rejected",
        detail={"note": "the draft quotes the diagnosis"},
    )  # fmt: skip
    write(db_engine, [squatter])

    with caplog.at_level(logging.ERROR, logger="regulated_inquiries.audit"):
        assert write(db_engine, [genuine]) == []  # kept beside the alarm, not counted as new
        assert write(db_engine, [genuine]) == []  # retried: nothing more

    with Session(db_engine) as session:
        read = list_audit(session=session, inquiry_id="INQ-1")
    assert [(r.event_key, r.action) for r in read] == [
        ("INQ-1:7", "stage_changed"),
        ("INQ-1:7#conflict-1", "compliance_rejected"),
        ("INQ-1:7#conflict-1:key-conflict", KEY_CONFLICT),
    ]
    assert read[1].detail == {"note": "the draft quotes the diagnosis"}
    assert read[1].actor == "reviewer.rita"
    assert read[2].detail == {"event_key": "INQ-1:7", "recorded_as": "INQ-1:7#conflict-1"}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "INQ-1:7" in errors[0]
    assert "diagnosis" not in errors[0] and "nothing to see" not in errors[0]
    assert verify_store(db_engine).ok


# --- erasure ---------------------------------------------------------------------------------


async def test_erasure_removes_the_text_and_the_chain_still_verifies(db_engine: Engine) -> None:
    keys = DataKeys(db_engine, LocalMasterKeys({"k1": os.urandom(32)}, "k1"))
    registration = RegisterInquiryInput(
        inquiry_id="INQ-1", workflow_id="inquiry-INQ-1", run_id="run-1",
        sector=Sector.HEALTHCARE, received_at=AT, customer_id="CUST-1",
    )  # fmt: skip
    await ActivityEnvironment().run(
        StoreActivities(db_engine, Pseudonyms(keys)).register_inquiry, registration
    )
    write(db_engine, trail())

    async def nothing_runs(workflow_ids: list[str]) -> list[str]:
        return []

    report = await erase_customer(
        keys, "CUST-1", by="operator.oona", now=AT + timedelta(days=9), running=nothing_runs
    )

    assert report.audit_rows_scrubbed == 2
    with Session(db_engine) as session:
        read = list_audit(session=session, inquiry_id="INQ-1")
    assert read[2].detail == {"kind": "note", "text": ERASED}
    assert read[3].detail["reason"] == ERASED and read[4].detail["reason"] == "sla breached"
    assert read[-1].action == "customer_erased"
    with db_engine.connect() as conn:
        assert conn.execute(select(AUDIT_TEXT)).all() == []
    result = verify_store(db_engine)
    assert result.ok, found(result)


def test_text_removed_without_an_erasure_or_changed_is_found(db_engine: Engine) -> None:
    write(db_engine, trail("INQ-1") + trail("INQ-2"))
    with db_engine.begin() as conn:  # deleting text is allowed: erasure does it
        conn.execute(delete(AUDIT_TEXT).where(AUDIT_TEXT.c.inquiry_id == "INQ-1"))
    with attacker(db_engine) as conn:
        conn.execute(update(AUDIT_TEXT).values(text="she was happy with everything"))

    result = verify_store(db_engine)

    assert [(f.kind, f.inquiry_id, f.seq) for f in result.findings] == [
        ("text_removed", "INQ-1", 3),
        ("text_removed", "INQ-1", 4),
        ("text_changed", "INQ-2", 3),
        ("text_changed", "INQ-2", 4),
    ]


# --- checkpoints -----------------------------------------------------------------------------


def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_the_checkpoint(
    db_engine: Engine, signing_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    write(db_engine, trail("INQ-1") + trail("INQ-2") + trail("INQ-3"))
    checkpoints = tmp_path / "checkpoints"
    written = write_checkpoint(db_engine, signing_key, checkpoints, now=AT + timedelta(hours=1))
    write(db_engine, [event("INQ-1:7", 7)])  # later rows are fine
    with attacker(db_engine) as conn:

        def soften(row: StoredRow) -> StoredRow:
            return dataclasses.replace(row, detail={"reason": "none"}) if row.seq == 5 else row

        rehash(conn, "INQ-2", soften)
        conn.execute(delete(AUDIT_EVENT).where(AUDIT_EVENT.c.inquiry_id == "INQ-3"))
        conn.execute(delete(AUDIT_HEAD).where(AUDIT_HEAD.c.inquiry_id == "INQ-3"))

    assert verify_store(db_engine).ok, "the chains alone cannot tell"
    result = verify_store(
        db_engine, checkpoint_dir=checkpoints, public_key=signing_key.public_key()
    )

    assert result.checkpoint is not None and result.checkpoint.file == written.file
    assert found(result) == [("checkpoint_mismatch", "INQ-2", 6), ("removed", "INQ-3", None)]


def test_a_tampered_checkpoint_fails_its_signature(
    db_engine: Engine, signing_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    write(db_engine, trail("INQ-1"))
    checkpoints = tmp_path / "checkpoints"
    older = write_checkpoint(db_engine, signing_key, checkpoints, now=AT)
    newer = write_checkpoint(db_engine, signing_key, checkpoints, now=AT + timedelta(hours=1))
    other_key = Ed25519PrivateKey.generate()
    stranger = write_checkpoint(db_engine, other_key, checkpoints, now=AT + timedelta(hours=2))
    content = json.loads(Path(newer.file).read_text())
    content["heads"]["INQ-1"]["seq"] = 5
    Path(newer.file).write_text(json.dumps(content))

    result = verify_store(
        db_engine, checkpoint_dir=checkpoints, public_key=signing_key.public_key()
    )

    assert result.checkpoint is not None and result.checkpoint.file == older.file
    assert found(result) == [("checkpoint_invalid", None, None)] * 2
    reasons = [f.reason for f in result.findings]
    assert reasons[0].startswith(Path(stranger.file).name)
    assert reasons[1].startswith(Path(newer.file).name) and "signature" in reasons[1]


async def test_the_worker_writes_checkpoints_while_heads_move(
    db_engine: Engine, signing_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"

    async def files(count: int) -> list[Path]:
        for _ in range(200):
            written = sorted(checkpoints.glob("checkpoint-*.json"))
            if len(written) >= count:
                return written
            await asyncio.sleep(0.02)
        raise AssertionError(f"fewer than {count} checkpoints")

    write(db_engine, trail("INQ-1"))
    async with periodic_checkpoints(db_engine, signing_key, checkpoints, timedelta(seconds=0.05)):
        await files(1)
        await asyncio.sleep(0.2)  # nothing moved: no new checkpoint
        assert len(await files(1)) == 1
        write(db_engine, trail("INQ-2"))
        newest = json.loads((await files(2))[-1].read_text())

    assert sorted(newest["heads"]) == ["INQ-1", "INQ-2"]
    assert stat.S_IMODE((await files(2))[-1].stat().st_mode) == 0o600


def test_the_signing_key_is_made_in_development_and_required_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "data" / "audit-signing-key.pem"
    with pytest.raises(KeyConfigError, match="INQUIRY_AUDIT_SIGNING_KEY_FILE"):
        load_signing_key(None, path, create_if_missing=False)

    key = load_signing_key(None, path, create_if_missing=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_path(path).exists()
    assert load_signing_key(None, path, create_if_missing=False).public_key() == key.public_key()
    path.write_text("not a key")
    with pytest.raises(KeyConfigError, match="not an unencrypted private key"):
        load_signing_key(None, path, create_if_missing=False)


# --- the migration ---------------------------------------------------------------------------


def test_the_migration_chains_the_rows_written_before_it(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    try:
        monkeypatch.setattr(db, "MIGRATIONS", db.MIGRATIONS[:4])
        assert migrate(engine) == 4
        monkeypatch.undo()
        legacy = Table(
            "audit_event", MetaData(),
            Column("id", Integer, primary_key=True), Column("event_key", String(255)),
            Column("inquiry_id", String(64)), Column("workflow_id", String(128)),
            Column("at", UtcDateTime), Column("actor", String(128)),
            Column("action", String(64)), Column("stage", String(32)), Column("detail", JSON),
        )  # fmt: skip
        with engine.begin() as conn:
            for one in trail("INQ-2") + trail("INQ-1"):
                values = one.model_dump(mode="json") | {"at": one.at}
                conn.execute(insert(legacy).values(values))
            conn.execute(  # erased before the chain existed
                update(legacy)
                .where(legacy.c.event_key == "INQ-2:3")
                .values(detail={"kind": "note", "text": ERASED})
            )

        assert migrate(engine) == db.MIGRATIONS[-1][0]

        write(engine, [event("INQ-1:7", 7)])
        assert [r.seq for r in rows(engine, "INQ-1")] == [1, 2, 3, 4, 5, 6, 7]
        assert NOTE not in json.dumps([r.detail for r in rows(engine, "INQ-1")])
        with Session(engine) as session:
            read = {i: list_audit(session=session, inquiry_id=i) for i in ("INQ-1", "INQ-2")}
        assert read["INQ-1"][2].detail["text"] == NOTE
        assert read["INQ-2"][2].detail["text"] == ERASED
        result = verify_store(engine)
        assert result.ok and result.rows == 13, found(result)
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(delete(AUDIT_EVENT))
    finally:
        engine.dispose()


# --- the command line ------------------------------------------------------------------------


async def audit_command(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await starter.main(["audit", *argv], out=out)
    return code, out.getvalue()


async def test_audit_commands_verify_export_and_checkpoint_with_exit_codes(
    db_engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INQUIRY_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "audit-key.pem"))
    monkeypatch.setenv("INQUIRY_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    write(db_engine, trail("INQ-1") + trail("INQ-2"))

    code, out = await audit_command("checkpoint")
    assert code == 0 and json.loads(out)["chains"] == 2
    assert (tmp_path / "audit-key.pub.pem").exists()
    code, out = await audit_command("verify")
    assert code == 0 and "verified: 2 inquiries, 12 rows, nothing found" in out
    code, out = await audit_command("export", "INQ-1")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 7 and lines[-1]["verification"]["ok"] is True
    assert lines[2]["texts"]["text"]["text"] == NOTE
    assert [line["seq"] for line in lines[:-1]] == [1, 2, 3, 4, 5, 6]
    assert await audit_command("verify", "INQ-404") == (2, "")

    with attacker(db_engine) as conn:
        conn.execute(update(AUDIT_EVENT).where(at_seq(2, "INQ-2")).values(actor="agent.zed"))

    code, out = await audit_command("verify", "--json")
    assert code == 1
    assert [(f["kind"], f["inquiry_id"], f["seq"]) for f in json.loads(out)["findings"]] == [
        ("changed", "INQ-2", 2)
    ]
    assert (await audit_command("verify", "INQ-1"))[0] == 0
    code, out = await audit_command("verify", "INQ-2")
    assert code == 1 and "changed" in out and "NOT verified" in out
