"""Someone with access to the namespace, but no key, sends signals whose payloads claim our
encryption: random bytes, and a payload lifted from another customer's history. Neither may
wedge the inquiry, and the other customer's words must not land in it."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import pytest
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from models.status import InquiryOutcome
from tests.integration.conftest import Stack
from tests.integration.helpers import approve, audit, start, status_when
from tests.support import intake, new_id


async def raw_signal(stack: Stack, workflow_id: str, name: str, payload: Payload) -> None:
    """A signal as any gRPC client can send it: no codec, no checks."""
    await stack.client.workflow_service.signal_workflow_execution(
        SignalWorkflowExecutionRequest(
            namespace=stack.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            signal_name=name,
            input=Payloads(payloads=[payload]),
            identity="someone-in-the-namespace",
        )
    )


async def test_forged_and_borrowed_ciphertext_is_refused_and_the_inquiry_carries_on(
    stack: Stack,
) -> None:
    marker = f"Canary{uuid.uuid4().hex[:10]}"
    theirs = await start(stack, intake(new_id("THEIRS")))
    await status_when(theirs, lambda s: s.stage == "awaiting_compliance")
    note = {"author_id": "agent.ana", "text": f"{marker} has HIV", "kind": "note"}
    await theirs.signal("add_note", note)
    await status_when(theirs, lambda s: s.notes == 1)
    signaled = [
        e.workflow_execution_signaled_event_attributes
        for e in (await theirs.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    [borrowed] = [s.input.payloads[0] for s in signaled if s.signal_name == "add_note"]
    forged = Payload(
        metadata={
            "encoding": b"binary/encrypted",
            "encryption-key-id": os.urandom(16).hex().encode(),
        },
        data=os.urandom(80),
    )

    mine = await start(stack, intake(new_id("MINE")))
    await status_when(mine, lambda s: s.stage == "awaiting_compliance")
    for name, payload in (
        ("add_note", forged),
        ("compliance_decision", forged),
        ("add_note", borrowed),
    ):
        await raw_signal(stack, mine.id, name, payload)
    status = await status_when(
        mine, lambda s: len(s.refused_signals) == 3 and s.undocumented_events == 0
    )

    assert status.notes == 0
    assert marker not in json.dumps(status.model_dump(mode="json"))
    assert marker not in json.dumps(
        [r.detail for r in audit(stack, mine.id.removeprefix("inquiry-"))]
    )
    await approve(mine)
    outcome = await stack.client.get_workflow_handle(mine.id, result_type=InquiryOutcome).result()
    assert outcome.stage == "closed"


async def test_a_start_whose_input_is_not_json_fails_at_once_without_quoting_it(
    stack: Stack,
) -> None:
    marker = f"Canary{uuid.uuid4().hex[:10]}"
    inquiry_id = new_id("BROKEN")
    broken = Payload(
        metadata={"encoding": b"json/plain"},
        data=f'{{"inquiry_id": "{inquiry_id}", "body": "{marker} has'.encode(),
    )
    await stack.client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=stack.client.namespace,
            workflow_id=f"inquiry-{inquiry_id}",
            workflow_type=WorkflowType(name="RegulatedInquiry"),
            task_queue=TaskQueue(name=stack.settings.task_queue),
            input=Payloads(payloads=[broken]),
            identity="someone-in-the-namespace",
            request_id=uuid.uuid4().hex,
        )
    )
    handle = stack.client.get_workflow_handle(f"inquiry-{inquiry_id}")

    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidIntake"
    assert "undecodable payload (not valid JSON)" in str(cause)
    assert marker not in str(cause)
