"""Driving the real stack as outside users do: the raw `temporal` CLI, plain JSON, polling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle

from activities.store import list_audit, list_outbox
from models.status import InquiryOutcome, InquiryStatus
from models.store import AuditRecord, OutboxRecord
from tests.integration.conftest import Stack
from tests.support import binary

REVIEWER = "reviewer.rita"
SECOND_REVIEWER = "reviewer.sam"


async def cli(stack: Stack, *args: str, check: bool = True, codec: bool = True) -> CliResult:
    """The raw `temporal` CLI, as an operator or intake system without our code would use it:
    through the codec server with an operator's token (as the README shows), or without it
    (`codec=False`: what anyone with access to the namespace alone would see).

    Run without blocking: the test's worker shares this event loop."""
    flags = stack.codec.cli_flags() if codec else []
    process = await asyncio.create_subprocess_exec(
        binary("temporal"), *args, "--address", stack.address, *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    result = CliResult(process.returncode or 0, out.decode(), err.decode())
    if check and result.returncode != 0:
        raise AssertionError(f"temporal {' '.join(args)} failed: {result.stderr}")
    return result


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def cli_start(stack: Stack, payload: Any, tmp_path: Path, workflow_id: str) -> None:
    path = tmp_path / f"{workflow_id}.json"
    path.write_text(json.dumps(payload))
    await cli(
        stack, "workflow", "start", "--type", "RegulatedInquiry",
        "--task-queue", stack.settings.task_queue, "--workflow-id", workflow_id,
        "--input-file", str(path),
    )  # fmt: skip


async def start(stack: Stack, payload: dict[str, Any]) -> WorkflowHandle[Any, InquiryOutcome]:
    return await stack.client.start_workflow(
        "RegulatedInquiry",
        payload,
        id=f"inquiry-{payload['inquiry_id']}",
        task_queue=stack.settings.task_queue,
        result_type=InquiryOutcome,
    )


async def status_when(
    handle: WorkflowHandle[Any, Any],
    ready: Callable[[InquiryStatus], bool],
    timeout_s: float = 30.0,
) -> InquiryStatus:
    """Poll the `status` query until `ready` holds; the last status is in the timeout error."""
    last: InquiryStatus | None = None
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    last = await handle.query("status", result_type=InquiryStatus)
                except Exception:  # noqa: BLE001 - not queryable until the first task ran
                    last = None
                if last is not None and ready(last):
                    return last
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"status never got there; last: {last}") from None


async def history_events(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    history = await handle.fetch_history()
    return list(history.events)


async def activity_input(stack: Stack, event: HistoryEvent) -> Any:
    """The scheduled activity's first argument, decoded as the worker would (history holds it
    encrypted)."""
    payload = event.activity_task_scheduled_event_attributes.input.payloads[0]
    codec = stack.client.data_converter.payload_codec
    assert codec is not None
    [plain] = await codec.decode([payload])
    return json.loads(plain.data)


def scheduled(events: list[HistoryEvent], activity: str) -> list[HistoryEvent]:
    return [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == activity
    ]


def audit(stack: Stack, inquiry_id: str) -> list[AuditRecord]:
    with Session(stack.engine) as session:
        return list_audit(session=session, inquiry_id=inquiry_id)


def outbox(stack: Stack, inquiry_id: str) -> list[OutboxRecord]:
    with Session(stack.engine) as session:
        return list_outbox(session=session, inquiry_id=inquiry_id)


async def approve(handle: WorkflowHandle[Any, Any], reviewer: str = REVIEWER) -> None:
    await handle.signal("compliance_decision", {"reviewer_id": reviewer, "decision": "approve"})
