"""A long life on the real dev server: an inquiry that receives 5 000 actions while it waits for a
reviewer continues as new (the server suggests it past 4 096 history events) and loses nothing:
every note is counted and documented once, every refusal too, the review goes on in the next
run and the resolution goes out once."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from temporalio.api.enums.v1 import EventType

from audit.verify import verify_store
from models.status import InquiryStatus
from tests.integration.conftest import Stack
from tests.integration.helpers import (
    REVIEWER,
    SECOND_REVIEWER,
    approve,
    audit,
    history_events,
    outbox,
    start,
    status_when,
)
from tests.support import intake, new_id

NOTES = 3000
REFUSED = 2000  # decisions from someone who is not on the roster


async def test_five_thousand_actions_cross_continue_as_new_and_none_is_lost(stack: Stack) -> None:
    payload = intake(new_id("LONG"))
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    first_run = (await handle.describe()).run_id

    sending = asyncio.Semaphore(50)

    async def send(name: str, body: dict[str, Any]) -> None:
        async with sending:
            await stack.client.get_workflow_handle(handle.id).signal(name, body)

    notes = [send("add_note", {"author_id": SECOND_REVIEWER, "text": f"call {i}"})
             for i in range(NOTES)]  # fmt: skip
    forged = {"reviewer_id": "mallory", "decision": "approve"}
    refusals = [send("compliance_decision", forged) for _ in range(REFUSED)]
    await asyncio.gather(*notes, *refusals)

    def all_applied(s: InquiryStatus) -> bool:
        return s.notes == NOTES and len(s.refused_signals) + s.refused_omitted == REFUSED

    current = await status_when(handle, all_applied, timeout_s=600)
    assert current.stage == "awaiting_compliance" and current.draft is not None
    assert current.draft.version == 1
    await approve(stack.client.get_workflow_handle(handle.id), REVIEWER)
    outcome = await stack.client.get_workflow_handle(handle.id).result()

    # It continued as new at least once, and the last run finished the inquiry.
    first = stack.client.get_workflow_handle(handle.id, run_id=first_run)
    [*_, last_event] = await history_events(first)
    assert last_event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    runs = [w async for w in stack.client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) >= 2
    assert outcome["stage"] == "closed" and outcome["approved_by"] == [REVIEWER]

    # Nothing lost, nothing twice: every note and refusal documented once, in one chain.
    rows = audit(stack, payload["inquiry_id"])
    actions = collections.Counter(r.action for r in rows)
    assert actions["note_added"] == NOTES
    assert actions["signal_refused"] == REFUSED
    once = ("inquiry_received", "owner_assigned", "resolution_communicated")
    assert all(actions[a] == 1 for a in once)
    assert len({r.event_key for r in rows}) == len(rows)
    assert verify_store(stack.engine, inquiry_id=payload["inquiry_id"]).ok
    sent = collections.Counter(m.kind for m in outbox(stack, payload["inquiry_id"]))
    assert (sent["acknowledgement"], sent["resolution"]) == (1, 1)
