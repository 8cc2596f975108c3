"""Regressions from a review of the timed path: a refused staff notice no longer stops SLA
handling, events recorded while a withdrawal winds down still reach the audit trail, a withdrawal
during routing reports no routing failure, the draft's author stays barred from approving it
after ownership moves, and an earlier round's case_ref is refused. (Service recovery at tier 3:
tests/workflows/test_service_recovery.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.activities import MessageReceipt, OutboxMessage
from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    AGENT,
    MINUTE,
    OPERATOR,
    OWNER,
    World,
    accepted,
    routine,
)

H = timedelta(hours=1)
DELAY = timedelta(hours=24)  # the world's survey_delay
WITHDRAW = {"by": OPERATOR, "reason": "customer asked us to stop"}
POOR = {"csat": 1, "comment": "nobody listened"}


@dataclass
class AdapterWorld(World):
    """The fake world, with a delivery adapter that refuses some kinds for good and holds
    others until the test lets them through."""

    refuse: set[str] = field(default_factory=set)
    hold: set[str] = field(default_factory=set)
    held: list[OutboxMessage] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def activities(self) -> list[Callable[..., Any]]:
        world = self
        found = super().activities()
        [original] = [a for a in found if getattr(a, "__name__", "") == "send_message"]

        @activity.defn(name="send_message")
        async def send_message(message: OutboxMessage) -> MessageReceipt:
            if message.kind in world.refuse:
                raise ApplicationError(
                    "the delivery adapter refused the message",
                    type="DeliveryRefused",
                    non_retryable=True,
                )
            if message.kind in world.hold:
                world.held.append(message)
                await asyncio.wait_for(world.release.wait(), drive.WAIT_S)
            receipt: MessageReceipt = await original(message)
            return receipt

        return [send_message if a is original else a for a in found]


@pytest.fixture
async def adapter_world(env: WorkflowEnvironment) -> AsyncIterator[AdapterWorld]:
    world = AdapterWorld(env.client)
    async with world.running():
        yield world


async def idle_but_for_held_sends(handle: drive.Handle) -> None:
    """Wait (real time, bounded) until the run waits on nothing but the held sends: whatever it
    recorded up to now has been written, and it has taken in that the writing is done."""

    async def idle() -> bool:
        raw = (await handle.describe()).raw_description
        waiting = {a.activity_type.name for a in raw.pending_activities}
        return waiting <= {"send_message"} and not raw.HasField("pending_workflow_task")

    loop = asyncio.get_running_loop()
    deadline = loop.time() + drive.WAIT_S
    while not await idle():
        assert loop.time() < deadline, "gave up waiting for the run to be idle"
        await asyncio.sleep(drive.POLL_S)


def failing(department: Department) -> ApplicationError:
    """A department system that is down: retried until the department SLA ends."""
    return ApplicationError(f"{department.value} department unavailable", type="Unavailable")


async def test_refused_staff_notice_does_not_stop_the_breach_or_the_escalation(
    env: WorkflowEnvironment, adapter_world: AdapterWorld
) -> None:
    world = adapter_world
    world.refuse = {"sla_warning"}
    world.answers[Department.CLINICAL] = accepted("CL-1")
    intake = support.intake(policy={"resolution_sla": "PT1H", "department_sla": "P10D"})
    handle = await world.start(intake)
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")
    received = datetime.fromisoformat(intake["received_at"])

    await world.sleep_until(env, received + H + MINUTE)
    [breach] = await world.actions_done("sla_breached", 1)
    [escalated] = await world.actions_done("escalated", 1)
    failed = await world.actions_done("delivery_failed", 3)

    assert breach.detail == {"clock": "resolution"}
    assert escalated.detail["reason"] == "resolution SLA breached"
    assert [(e.detail["kind"], e.detail["cause"]) for e in failed] == [
        ("sla_warning", "DeliveryRefused")
    ] * 3
    assert world.sent("sla_warning") == []
    assert (await drive.status(handle)).sla_breaches == ["resolution"]


async def test_escalation_notices_sent_while_a_withdrawal_winds_down_are_all_documented(
    adapter_world: AdapterWorld,
) -> None:
    world = adapter_world
    world.triage = routine()
    world.hold = {"escalation_notice"}
    handle = await world.start(support.billing_only())
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)

    await handle.signal("escalate", {"by": AGENT, "reason": "customer chased"})
    await world._until(lambda: bool(world.held), lambda: world.held)
    await handle.signal("withdraw", WITHDRAW)
    await world.actions_done("stage_changed", 1, lambda e: e.detail["to"] == "withdrawn")
    await idle_but_for_held_sends(handle)
    world.release.set()
    outcome = await drive.outcome(handle)

    notices = world.sent("escalation_notice")
    documented = [
        e for e in world.actions("message_sent") if e.detail["kind"] == "escalation_notice"
    ]
    assert outcome.stage == Stage.WITHDRAWN
    assert len(notices) >= 2  # the previous owner and the manager at least
    assert len(documented) == len(notices)
    assert {e.detail["message_key"] for e in documented} == {m.message_key for m in notices}


async def test_withdrawal_during_routing_reports_no_routing_failure(world: World) -> None:
    world.answers[Department.CLINICAL] = failing(Department.CLINICAL)
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.ROUTING)
    await world._until(
        lambda: any(r.department == Department.CLINICAL for r in world.requests),
        lambda: world.requests,
    )

    await handle.signal("withdraw", WITHDRAW)
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.WITHDRAWN
    assert world.actions("department_failed") == []
    assert not any("routing" in m.subject for m in world.sent("owner_notice"))


async def test_draft_author_may_not_approve_it_after_ownership_moves(world: World) -> None:
    handle = await world.start(support.intake())  # OWNER is also a compliance reviewer
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("revise_response", {"author_id": OWNER, "text": "We refunded it."})
    await drive.wait_for(
        handle, lambda s: s.draft is not None and s.draft.version == 2, "the owner's draft"
    )
    await handle.signal("reassign_owner", {"owner_id": AGENT, "by": OPERATOR, "reason": "leave"})
    await drive.wait_for(handle, lambda s: s.owner == AGENT, "the new owner")
    await handle.signal("compliance_decision", {"reviewer_id": OWNER, "decision": "approve"})
    refused = await drive.refusals(handle, 1)

    assert refused.refused_signals[0].reason == (
        "a former owner of the inquiry may not review its draft"
    )
    assert refused.compliance == []
    assert refused.stage == Stage.AWAITING_COMPLIANCE


async def test_after_reopen_a_result_with_the_first_rounds_case_ref_is_refused(
    world: World,
) -> None:
    world.triage = routine()
    handle = await world.start(support.billing_only())
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    [first] = world.requests
    first_ref = "BILLING-1"  # the world's completed answer for billing
    world.answers[Department.BILLING] = failing(Department.BILLING)  # round 2: no answer yet

    await handle.signal("reopen", {"by": OWNER, "reason": "refund never arrived"})
    await drive.wait_for_stage(handle, Stage.ROUTING)
    await world._until(lambda: len(world.requests) >= 2, lambda: world.requests)
    await handle.signal(
        "department_result",
        {"department": "billing", "case_ref": first_ref, "status": "completed", "summary": "ok"},
    )
    refused = await drive.refusals(handle, 1)

    assert first.round == 0 and world.requests[-1].round == 1
    assert refused.refused_signals[0].reason == (
        "case_ref belongs to an earlier round of this inquiry"
    )
    assert refused.stage == Stage.ROUTING
    assert refused.departments[Department.BILLING].status != "completed"
