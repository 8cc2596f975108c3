"""Continue-as-new at every rest of the lifecycle (workflows/continuation.py), on a dev server
that suggests it after a few dozen history events: notes pile up at each wait until the run
continues, and the next run picks up where the last one rested. Nothing is sent twice, nothing
is skipped, and the audit trail runs on without a gap or a repeat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.server import start_dev_server
from tests.workflows.world import MANAGER, OWNER, REVIEWER, World, accepted, routine

SUGGEST_AFTER_EVENTS = 60


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with await start_dev_server(SUGGEST_AFTER_EVENTS) as env:
        yield env


@pytest.fixture
async def world(dev_env: WorkflowEnvironment) -> AsyncIterator[World]:
    async with World(dev_env.client).running() as running:
        yield running


async def continue_here(handle: WorkflowHandle[object, object]) -> int:
    """Add notes until the run continues as new (the server suggests it past its threshold);
    how many were sent. A run follows its predecessor after at least a second (the server's
    `history.continueAsNewMinInterval`): notes sent meanwhile wait in the history for it."""
    before = (await handle.describe()).run_id
    for sent in range(1, 401):
        await handle.signal("add_note", {"author_id": OWNER, "text": f"called, try {sent}"})
        if (await handle.describe()).run_id != before:
            return sent
    raise AssertionError("the run never continued as new")


def assert_trail_unbroken(world: World, notes: int) -> None:
    """Every event once, numbered 1..n across the runs, every note in it: none lost, none
    repeated."""
    numbers = [int(e.event_key.rsplit(":", 1)[1]) for e in world.events]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert len(world.actions("note_added")) == notes


async def test_routing_and_a_revised_draft_continue_where_they_rested(world: World) -> None:
    world.answers[Department.BILLING] = accepted("BI-1")
    world.answers[Department.CLINICAL] = accepted("CL-1")
    handle = await world.start(support.intake(support.new_id("CAN")), received_now=False)
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")

    notes = await continue_here(handle)  # waiting on the departments
    for department, ref in (("billing", "BI-1"), ("clinical", "CL-1")):
        result = {"department": department, "case_ref": ref, "status": "completed"}
        await handle.signal("department_result", result | {"summary": "done"})
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    notes += await continue_here(handle)  # waiting on a reviewer
    decision = {"reviewer_id": REVIEWER, "decision": "reject", "note": "too vague"}
    await handle.signal("compliance_decision", decision)
    await drive.wait_for_stage(handle, Stage.DRAFTING)
    notes += await continue_here(handle)  # waiting on the owner's revision
    text = "We refunded the duplicate charge; your lab results are on their way."
    await handle.signal("revise_response", {"author_id": OWNER, "text": text})
    await drive.wait_for(handle, lambda s: s.stage == Stage.AWAITING_COMPLIANCE, "draft v2")
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    await handle.signal("withdraw", {"by": OWNER, "reason": "customer is satisfied"})
    outcome = await drive.outcome(handle)

    assert outcome.approved_by == [REVIEWER]
    assert [r.department for r in world.requests] == [Department.BILLING, Department.CLINICAL]
    revise = [m for m in world.sent("owner_notice") if "please revise" in m.body]
    assert len(revise) == 1
    assert [len(world.sent(k)) for k in ("acknowledgement", "resolution")] == [1, 1]
    assert [e.detail["version"] for e in world.actions("draft_written")] == [1, 2]
    assert_trail_unbroken(world, notes)


async def test_the_survey_and_service_recovery_continue_where_they_rested(world: World) -> None:
    world.triage = routine()  # released by policy, straight to follow-up
    world.policy = {"survey_delay": "PT3S", "survey_reminder": "PT6S", "survey_window": "PT2M"}
    handle = await world.start(support.billing_only(support.new_id("CAN")), received_now=False)
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)

    notes = await continue_here(handle)  # the survey delay
    await world.messages_sent("survey", 1)
    notes += await continue_here(handle)  # until the reminder
    await world.messages_sent("survey_reminder", 1)
    notes += await continue_here(handle)  # the rest of the window
    await handle.signal("survey_response", {"csat": 1, "comment": "nobody listened"})
    await world.actions_done("service_recovery_opened", 1)
    notes += await continue_here(handle)  # the recovery deadline
    await handle.signal("close_recovery", {"by": OWNER, "note": "called; refund agreed"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert [len(world.sent(k)) for k in ("survey", "survey_reminder")] == [1, 1]
    assert [m.recipient for m in world.sent("score_alert")] == [OWNER, MANAGER]  # once each
    assert len(world.surveys) == 1 and world.surveys[0].csat == 1
    assert outcome.survey is not None and outcome.survey.recovery_closed_by == OWNER
    assert_trail_unbroken(world, notes)
