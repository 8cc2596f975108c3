"""Someone with access to the namespace, but no key, sends signals whose payloads claim our
encryption: random bytes, and a payload lifted from another customer's history. Neither may
wedge the inquiry, and the other customer's words must not land in it."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import ActivityFailureError, Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.guard import NOT_SCHEDULED_BY_AN_INQUIRY
from models.activities import OutboxMessage
from models.contract import Department
from models.status import InquiryOutcome
from tests.integration.conftest import Stack
from tests.integration.helpers import (
    approve,
    audit,
    history_events,
    outbox,
    scheduled,
    start,
    status_when,
)
from tests.support import billing_only, intake, new_id


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


async def test_a_standalone_activity_cannot_send_a_message_to_a_customer(stack: Stack) -> None:
    """Anyone who may write to the namespace can start an activity on the task queue by hand
    (`temporal activity start --type send_message ...`), even through the codec: the worker
    refuses it before it runs, so no message leaves that no inquiry released."""
    inquiry_id = new_id("LONE")
    message = OutboxMessage(
        message_key=f"inquiry-{inquiry_id}:forged:resolution",
        inquiry_id=inquiry_id,
        workflow_id=f"inquiry-{inquiry_id}",
        kind="resolution",
        audience="customer",
        recipient="victim@example.test",
        channel="email",
        subject="Your resolution",
        body="Confirm your card at http://evil.example",
    )
    handle = await stack.client.start_activity(
        "send_message",
        message,
        id=f"forged-{inquiry_id}",
        task_queue=stack.settings.task_queue,
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(maximum_attempts=3),
    )

    with pytest.raises(ActivityFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == NOT_SCHEDULED_BY_AN_INQUIRY
    assert outbox(stack, inquiry_id) == []


async def test_a_hand_made_completion_of_a_department_call_reaches_no_draft(
    stack: Stack,
) -> None:
    """Someone completes a slow department call by hand with a plain result of their own
    (`temporal activity complete --workflow-id ... --activity-id ...`). The codec refuses a
    plain activity result, so the words never reach a draft or a customer; the run stops at the
    failed workflow task for an operator to see (and reset), instead of carrying on with them."""
    stack.simulator.desk.configure(Department.BILLING, latency_s=20)
    handle = await start(stack, billing_only(new_id("HAND")))
    routing = await status_when(handle, lambda s: s.stage == "routing")
    [call] = scheduled(await history_events(handle), "route_to_department")
    raw = Client(stack.client.service_client, namespace=stack.client.namespace)
    forged = {"status": "completed", "case_ref": "BIL-1", "summary": "Confirm your card"}

    activity_id = call.activity_task_scheduled_event_attributes.activity_id
    by_hand = raw.get_async_activity_handle(
        workflow_id=handle.id, run_id=None, activity_id=activity_id
    )
    await by_hand.complete(forged)
    await until_task_failed(handle)

    assert scheduled(await history_events(handle), "send_message")[1:] == []  # the ack only
    assert [m.kind for m in outbox(stack, routing.inquiry_id)] == ["acknowledgement"]
    trail = json.dumps([r.detail for r in audit(stack, routing.inquiry_id)])
    assert "Confirm your card" not in trail
    await handle.terminate("test over")


async def until_task_failed(handle: WorkflowHandle[Any, Any]) -> None:
    async with asyncio.timeout(30):
        while not any(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            for e in await history_events(handle)
        ):
            await asyncio.sleep(0.2)


async def sealed_by_the_codec_server(stack: Stack, inquiry_id: str, value: Any) -> Payload:
    """What an operator gets from the codec server's /encode for this inquiry."""
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())
    headers = {
        "Authorization": f"Bearer {stack.codec.token}",
        "X-Namespace": "default",
        "X-Inquiry-Id": inquiry_id,
    }
    body = json_format.MessageToDict(Payloads(payloads=[plain]))
    async with httpx.AsyncClient(base_url=stack.codec.url) as http:
        answer = await http.post("/encode", json=body, headers=headers)
    assert answer.status_code == 200
    [sealed] = json_format.ParseDict(answer.json(), Payloads()).payloads
    return sealed


async def test_an_operator_cannot_seal_a_result_the_workflow_takes_for_the_workers(
    stack: Stack,
) -> None:
    """An operator seals a department answer of their own through the codec server and
    completes the pending department call with it by hand (the outsider's second pass had the
    phishing text released by policy). Sealed outside an activity, it does not open as an
    activity's result: the workflow task fails, nothing reaches a draft or a customer."""
    stack.simulator.desk.configure(Department.BILLING, latency_s=20)
    handle = await start(stack, billing_only(new_id("SEAL")))
    routing = await status_when(handle, lambda s: s.stage == "routing")
    [call] = scheduled(await history_events(handle), "route_to_department")
    forged = {"status": "completed", "case_ref": "BIL-9", "summary": "Confirm your card"}
    sealed = await sealed_by_the_codec_server(stack, routing.inquiry_id, forged)
    raw = Client(stack.client.service_client, namespace=stack.client.namespace)

    activity_id = call.activity_task_scheduled_event_attributes.activity_id
    by_hand = raw.get_async_activity_handle(
        workflow_id=handle.id, run_id=None, activity_id=activity_id
    )
    await by_hand.complete(RawValue(sealed))
    await until_task_failed(handle)

    assert [m.kind for m in outbox(stack, routing.inquiry_id)] == ["acknowledgement"]
    assert "Confirm your card" not in json.dumps(
        [r.detail for r in audit(stack, routing.inquiry_id)]
    )
    await handle.terminate("test over")
