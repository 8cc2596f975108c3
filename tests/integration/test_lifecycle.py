"""The inquiry lifecycle end to end: real Temporal dev server, real simulator over HTTP, real
store, driven as an intake system and a reviewer would drive it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import WorkflowHandle

from models.contract import InquiryOutcome, InquiryStatus
from tests.integration.conftest import Stack
from tests.support import intake

REVIEWER = "reviewer.rita"


async def start(stack: Stack, payload: dict[str, Any]) -> WorkflowHandle[Any, Any]:
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
    timeout_s: float = 20.0,
) -> InquiryStatus:
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                status = await handle.query("status", result_type=InquiryStatus)
                if ready(status):
                    return status
            except Exception:  # noqa: BLE001 - not yet queryable right after start
                pass
            await asyncio.sleep(0.2)


async def test_inquiry_is_held_for_compliance_then_closed_after_approval(stack: Stack) -> None:
    handle = await start(stack, intake())
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    assert status.owner
    assert set(status.departments) == {"billing", "clinical", "legal"}
    assert all(d.status == "completed" for d in status.departments.values())
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    outcome = await handle.result()
    assert outcome.stage == "closed"
    assert outcome.approved_by == [REVIEWER]
    assert outcome.resolution_ref
