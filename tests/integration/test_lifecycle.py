"""The inquiry lifecycle end to end: real Temporal dev server, real simulator over HTTP, real
store, driven as an intake system and a reviewer would drive it."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from models.contract import Department
from models.status import InquiryOutcome
from tests.integration.conftest import Stack
from tests.integration.helpers import (
    REVIEWER,
    activity_input,
    approve,
    audit,
    cli,
    cli_start,
    history_events,
    outbox,
    scheduled,
    start,
    status_when,
)
from tests.support import intake, new_id

CONTRACT_ORDER = [
    "received", "triaged", "routing", "drafting", "awaiting_compliance", "communicating",
    "follow_up", "closed",
]  # fmt: skip


async def test_raw_cli_start_and_signal_close_the_inquiry_with_a_contract_outcome(
    stack: Stack, tmp_path: Path
) -> None:
    inquiry_id = new_id("CLI")
    workflow_id = f"inquiry-{inquiry_id}"
    await cli_start(stack, intake(inquiry_id), tmp_path, workflow_id)
    handle = stack.client.get_workflow_handle(workflow_id, result_type=InquiryOutcome)
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    assert status.owner and status.owner != REVIEWER

    decision = json.dumps({"reviewer_id": REVIEWER, "decision": "approve"})
    await cli(stack, "workflow", "signal", "--workflow-id", workflow_id,
        "--name", "compliance_decision", "--input", decision)  # fmt: skip
    result = await cli(
        stack, "workflow", "result", "--workflow-id", workflow_id, "--output", "json"
    )
    outcome = InquiryOutcome.model_validate(json.loads(result.stdout)["result"])
    assert outcome.stage == "closed"
    assert outcome.inquiry_id == inquiry_id
    assert outcome.owner == status.owner
    assert outcome.tier == status.tier
    assert set(outcome.departments) == set(status.departments)
    assert outcome.resolution_ref and outcome.communicated_at and outcome.triaged_at
    assert outcome.approved_by == [REVIEWER]


async def test_departments_are_routed_in_parallel(stack: Stack) -> None:
    for department in Department:
        stack.simulator.desk.configure(department, latency_s=2.0)
    handle = await start(stack, intake())
    await status_when(handle, lambda s: s.stage == "awaiting_compliance", timeout_s=20)

    events = await history_events(handle)
    routes = scheduled(events, "route_to_department")
    assert {(await activity_input(stack, e))["department"] for e in routes} == {
        "billing",
        "clinical",
        "legal",
    }
    ids = {e.event_id for e in routes}
    completed = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id in ids
    ]
    assert len(completed) == 3
    first = min(e.event_time.ToDatetime() for e in routes)
    last = max(e.event_time.ToDatetime() for e in completed)
    took = (last - first).total_seconds()
    assert 2.0 <= took < 3.0, f"routing took {took:.2f}s; three 2 s departments in sequence take 6"


async def test_no_resolution_reaches_the_outbox_before_approval(stack: Stack) -> None:
    payload = intake()
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    held = [m.kind for m in outbox(stack, payload["inquiry_id"])]
    assert "acknowledgement" in held
    assert "resolution" not in held

    await approve(handle)
    await handle.result()
    events = await history_events(handle)
    approved_at = next(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "compliance_decision"
    )
    sends = [await activity_input(stack, e) for e in scheduled(events, "send_message")]
    resolution = [
        e
        for e in scheduled(events, "send_message")
        if (await activity_input(stack, e))["kind"] == "resolution"
    ]
    assert len(resolution) == 1 and resolution[0].event_id > approved_at
    assert sends[0]["kind"] == "acknowledgement"
    stored = [m for m in outbox(stack, payload["inquiry_id"]) if m.kind == "resolution"]
    assert len(stored) == 1 and stored[0].status == "sent"


async def test_audit_trail_holds_every_transition_once_with_actor_and_time(stack: Stack) -> None:
    payload = intake()
    handle = await start(stack, payload)
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    await approve(handle)
    outcome = await handle.result()

    rows = audit(stack, payload["inquiry_id"])
    assert len({r.event_key for r in rows}) == len(rows)
    stages = [r.detail["to"] for r in rows if r.action == "stage_changed"]
    assert ["received", *stages] == CONTRACT_ORDER
    assert all(r.actor and r.at for r in rows)
    decision = next(r for r in rows if r.action == "compliance_approve")
    assert decision.actor == REVIEWER
    assigned = next(r for r in rows if r.action == "owner_assigned")
    assert assigned.detail["owner_id"] == outcome.owner
    # The read model follows the inquiry to its end.
    from sqlmodel import Session

    from activities.store import find_inquiry

    with Session(stack.engine) as session:
        record = find_inquiry(session=session, inquiry_id=payload["inquiry_id"])
    assert record is not None and record.stage == "closed" and record.owner == outcome.owner


async def test_the_ui_shows_current_details_without_personal_data(stack: Stack) -> None:
    from temporalio.api.sdk.v1 import WorkflowMetadata

    payload = intake()
    handle = await start(stack, payload)
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")

    async def details() -> str:
        meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        return meta.current_details

    shown = await details()
    assert "**Stage** awaiting_compliance" in shown
    assert f"**Owner** {status.owner}" in shown
    assert "billing: completed" in shown and "0 of 1 approvals" in shown
    assert "**SLA** resolution running" in shown
    for personal in ("Jordan", "jordan@example.test", "lab results", "CUST-1001"):
        assert personal not in shown
    await approve(handle)
    await handle.result()
