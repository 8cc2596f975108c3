"""Erasing a customer with `starter.py erase`: their histories no longer decode, not even through
the codec server; the store keeps no value of theirs; the audit trail keeps every fact under a
pseudonym. Another customer's inquiry is untouched, and an open inquiry stops the erasure."""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from temporalio.client import Client

import clients
import starter
from audit.verify import verify_store
from models.contract import workflow_id_for
from models.store import (
    AuditRecord,
    AuditText,
    InquiryRecord,
    OutboxRecord,
    SurveyAnswerRecord,
)
from tests.integration.conftest import Stack
from tests.integration.helpers import approve, audit, cli, start, status_when
from tests.support import intake, new_id
from worker import running_worker

OPERATOR = "operator.oona"


async def erase(stack: Stack, customer_id: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = await starter.main(
        ["erase", "--customer", customer_id, "--by", OPERATOR], client=stack.client, out=out
    )
    return code, json.loads(out.getvalue() or "{}")


async def lived(stack: Stack, payload: dict[str, Any], marker: str) -> None:
    """Through approval, a note and a survey comment that quote the customer, to closed."""
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    await handle.signal(
        "add_note", {"author_id": "agent.ana", "text": f"{marker} rang back", "kind": "note"}
    )
    await approve(handle)
    await status_when(handle, lambda s: s.survey is not None and s.survey.sent_at is not None)
    await handle.signal("survey_response", {"csat": 5, "comment": f"thanks, {marker}"})
    await status_when(handle, lambda s: s.stage == "closed")


async def input_payload(stack: Stack, inquiry_id: str) -> dict[str, Any]:
    """The intake as the codec server gives it back to an operator's CLI."""
    shown = await cli(stack, "workflow", "show", "-w", workflow_id_for(inquiry_id), "-o", "json")
    started = json.loads(shown.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]
    payload: dict[str, Any] = started["input"]["payloads"][0]
    return payload


def on_disk(stack: Stack, marker: str) -> list[str]:
    """The SQLite store's files (database, write-ahead log) that still hold `marker`'s bytes."""
    database = Path(stack.engine.url.database or "")
    files = [database, database.with_name(database.name + "-wal")]
    return [f.name for f in files if f.exists() and marker.encode() in f.read_bytes()]


def stored_text(stack: Stack, inquiry_ids: list[str]) -> str:
    """Every stored row of these inquiries, as text."""
    rows: list[Any] = []
    with Session(stack.engine) as session:
        for table in (InquiryRecord, AuditRecord, AuditText, OutboxRecord, SurveyAnswerRecord):
            rows += session.exec(
                select(table).where(col(table.inquiry_id).in_(inquiry_ids))  # type: ignore[attr-defined]
            ).all()
    return json.dumps([row.model_dump(mode="json") for row in rows])


async def test_erasure_makes_a_customer_unreadable_and_keeps_the_facts(stack: Stack) -> None:
    marker = f"Canary{uuid.uuid4().hex[:10]}"
    customer = new_id("CUST")
    theirs = [
        intake(new_id("ERASE"), body=f"{marker}: my blood test bill is wrong.")
        | {"customer": {"customer_id": customer, "name": marker, "email": f"{marker}@x.test"}}
        for _ in range(2)
    ]
    kept_marker = f"Kept{uuid.uuid4().hex[:10]}"  # another customer's: must stay readable
    other = intake(new_id("KEEP"), body=f"{kept_marker}: my invoice.")
    for payload in theirs:
        await lived(stack, payload, marker)
    await lived(stack, other, kept_marker)
    ids = [p["inquiry_id"] for p in theirs]
    actions_before = {i: [r.action for r in audit(stack, i)] for i in ids}
    assert marker in stored_text(stack, ids)  # the store held it, until now

    code, report = await erase(stack, customer)

    assert code == 0, report
    assert sorted(report["inquiries"]) == sorted(ids)
    assert report["data_keys_destroyed"] == 2 and customer not in json.dumps(report)
    for inquiry_id in ids:
        sealed = await input_payload(stack, inquiry_id)
        assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
        after = [r.action for r in audit(stack, inquiry_id)]
        assert after == [*actions_before[inquiry_id], "customer_erased"]
        assert audit(stack, inquiry_id)[-1].detail["customer"] == report["customer"]
    assert marker not in stored_text(stack, ids)
    assert report["audit_rows_scrubbed"] >= 2  # a note in each inquiry, at least
    assert verify_store(stack.engine, inquiry_id=ids[0]).ok
    assert on_disk(stack, marker) == [], "an erased value lingers in the database's files"
    kept = await input_payload(stack, other["inquiry_id"])
    assert kept_marker in base64.b64decode(kept["data"]).decode()
    assert (await erase(stack, customer))[1]["data_keys_destroyed"] == 0


async def test_an_open_inquiry_stops_the_erasure_before_anything_is_destroyed(
    stack: Stack,
) -> None:
    customer = new_id("CUST")
    payload = intake(new_id("OPEN")) | {"customer": {"customer_id": customer}}
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    code, _ = await erase(stack, customer)

    assert code == 2
    assert (await input_payload(stack, payload["inquiry_id"]))["metadata"]["encoding"] != (
        base64.b64encode(b"binary/encrypted").decode()
    )
    await approve(handle)


async def test_retention_purges_only_inquiries_closed_longer_ago_than_the_setting(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store of its own: a purge with no retention at all would reach the session's inquiries.
    settings = stack.settings.model_copy(
        update={
            "task_queue": new_id("retention-queue"),
            "database_url": f"sqlite:///{tmp_path / 'retention.db'}",
        }
    )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INQUIRY_MASTER_KEYS_FILE", str(settings.master_keys_file))
    closed, still_open = intake(new_id("OLD")), intake(new_id("NEW"))
    async with clients.data_keys(settings) as keys:
        client = await clients.connect(keys, {"TEMPORAL_ADDRESS": stack.address})
        async with running_worker(client, settings):
            for payload in (closed, still_open):
                await client.start_workflow(
                    "RegulatedInquiry", payload, id=workflow_id_for(payload["inquiry_id"]),
                    task_queue=settings.task_queue,
                )  # fmt: skip
            handle = client.get_workflow_handle(workflow_id_for(closed["inquiry_id"]))
            await status_when(handle, lambda s: s.stage == "awaiting_compliance")
            await handle.signal("withdraw", {"by": "operator.oona", "reason": "customer asked"})
            await handle.result()  # closed and documented: the store knows when

            monkeypatch.setenv("INQUIRY_RETENTION", "P1D")
            kept = await purge(client)
            monkeypatch.setenv("INQUIRY_RETENTION", "PT0S")
            purged = await purge(client)
            again = await purge(client)
            await client.get_workflow_handle(workflow_id_for(still_open["inquiry_id"])).signal(
                "withdraw", {"by": "operator.oona", "reason": "test finished"}
            )

    assert kept["inquiries"] == []
    assert purged["inquiries"] == [closed["inquiry_id"]] and purged["data_keys_destroyed"] == 1
    assert again["inquiries"] == []


async def purge(client: Client) -> dict[str, Any]:
    out = io.StringIO()
    assert await starter.main(["purge", "--by", OPERATOR], client=client, out=out) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result
