"""What outside callers get wrong, on the real server: refused signals are recorded and change
nothing, a second start of an inquiry gives no second run, and a bad intake fails the run at once
with a reason that names the field and quotes nothing personal."""

from __future__ import annotations

import asyncio
import json
from io import StringIO
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

import starter
from tests.integration.conftest import Stack
from tests.integration.helpers import (
    REVIEWER,
    approve,
    audit,
    cli,
    cli_start,
    start,
    status_when,
)
from tests.support import intake, new_id


async def test_refused_signals_are_recorded_and_leave_the_workflow_running(
    stack: Stack,
) -> None:
    payload = intake()
    handle = await start(stack, payload)
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    owner = status.owner
    assert owner

    await handle.signal("compliance_decision", {"reviewer_id": owner, "decision": "approve"})
    await handle.signal("compliance_decision", {"reviewer_id": "nobody", "decision": "approve"})
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "maybe"})
    await handle.signal("compliance_decision", "approve")
    status = await status_when(handle, lambda s: len(s.refused_signals) >= 4)

    reasons = [r.reason for r in status.refused_signals]
    assert reasons[0] == "the owner may not review their own draft"
    assert reasons[1] == "reviewer is not authorised to review this inquiry"
    assert "decision" in reasons[2] and "malformed" in reasons[2]
    assert "expected a JSON object" in reasons[3]
    assert status.stage == "awaiting_compliance" and status.compliance == []
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    await approve(handle)
    outcome = await handle.result()
    assert outcome.stage == "closed" and outcome.approved_by == [REVIEWER]
    refused_rows = [r for r in audit(stack, payload["inquiry_id"]) if r.action == "signal_refused"]
    assert [r.detail["reason"] for r in refused_rows] == reasons


async def test_a_decision_with_nothing_to_decide_is_refused(stack: Stack) -> None:
    # Departments that accept and report later keep the inquiry in routing meanwhile.
    from models.contract import Department

    for department in Department:
        stack.simulator.desk.configure(department, mode="accepted", result_delay_s=2.0)
    handle = await start(stack, intake())
    await status_when(handle, lambda s: s.stage == "routing")
    await approve(handle)
    status = await status_when(handle, lambda s: bool(s.refused_signals))
    assert status.refused_signals[0].reason == "no draft awaits a compliance decision"
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    assert status.compliance == []
    await approve(handle)
    assert (await handle.result()).stage == "closed"


async def test_starting_the_same_inquiry_ten_times_at_once_gives_one_run(
    stack: Stack, tmp_path: Path
) -> None:
    payload = intake()
    file = tmp_path / "intake.json"
    file.write_text(json.dumps(payload))
    outs = [StringIO() for _ in range(10)]
    codes = await asyncio.gather(
        *(starter.main(["start", str(file)], client=stack.client, out=out) for out in outs)
    )
    assert codes == [0] * 10
    answers = [json.loads(out.getvalue()) for out in outs]
    [one] = [a for a in answers if a["created"]]
    others = [a for a in answers if not a["created"]]
    assert len(others) == 9
    assert all(a["run_id"] == one["run_id"] for a in others)
    assert all(f"inquiry {payload['inquiry_id']} already exists" in a["message"] for a in others)
    runs = [w async for w in stack.client.list_workflows(f"WorkflowId = '{one['workflow_id']}'")]
    assert len(runs) == 1

    # Once closed, Temporal itself would allow a new run from a raw client: the store refuses it.
    handle = stack.client.get_workflow_handle(one["workflow_id"])
    await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    await approve(handle)
    await handle.result()
    third = StringIO()
    assert await starter.main(["start", str(file)], client=stack.client, out=third) == 0
    assert json.loads(third.getvalue())["created"] is False

    await cli_start(stack, payload, tmp_path, one["workflow_id"])
    rerun = stack.client.get_workflow_handle(one["workflow_id"])
    with pytest.raises(WorkflowFailureError) as failed:
        await rerun.result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "InquiryAlreadyExists"
    # The first run's audit trail and read model are untouched by the refused second one.
    stages = [
        r.detail["to"] for r in audit(stack, payload["inquiry_id"]) if r.action == "stage_changed"
    ]
    assert stages.count("closed") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sector": "banking"}, "sector"),
        (
            {"customer": {"name": "Jordan Example", "email": "jordan@example.test"}},
            "customer.customer_id",
        ),
        ({"favourite_colour": "blue"}, "payload: 1 unknown field"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"policy": {"survey_delay": "-PT1H"}}, "policy"),
    ],
)
async def test_an_invalid_intake_from_the_raw_cli_fails_at_once_naming_the_field(
    stack: Stack, tmp_path: Path, change: dict[str, object], field: str
) -> None:
    inquiry_id = new_id("BAD")
    workflow_id = f"inquiry-{inquiry_id}"
    await cli_start(stack, intake(inquiry_id) | change, tmp_path, workflow_id)
    handle = stack.client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowFailureError) as failed:
        async with __import__("asyncio").timeout(10):
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidIntake"
    assert field in cause.message
    for personal in ("Jordan", "jordan@example.test", "lab results", "blue", "banking"):
        assert personal not in cause.message
    shown = await cli(stack, "workflow", "describe", "--workflow-id", workflow_id)
    assert "Failed" in shown.stdout or "FAILED" in shown.stdout


async def test_a_non_object_intake_fails_at_once(stack: Stack, tmp_path: Path) -> None:
    workflow_id = f"inquiry-{new_id('BAD')}"
    await cli_start(stack, ["not", "an", "intake"], tmp_path, workflow_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await stack.client.get_workflow_handle(workflow_id).result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert "expected a JSON object" in failed.value.cause.message


async def test_a_workflow_id_that_is_not_inquiry_dash_id_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    workflow_id = f"inquiry-{new_id('OTHER')}"
    await cli_start(stack, intake(), tmp_path, workflow_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await stack.client.get_workflow_handle(workflow_id).result()
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "InvalidIntake"
    assert "workflow id must be" in failed.value.cause.message
