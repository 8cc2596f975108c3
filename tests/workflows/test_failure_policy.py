"""The failure policy: a permanent error after the inquiry is registered never fails it. An empty
roster team holds the assignment until the roster is fixed; a message the channel refuses for
good is recorded and the owner told; a tier 3 notice nobody can receive is recorded and the
owner told whom to reach another way. Each time the inquiry goes on, and someone knows."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import MANAGER, OWNER, REVIEWER, TIER3_NOTIFY, World, triage
from workflows import policies


async def test_an_empty_roster_team_holds_the_inquiry_and_tells_the_teams_manager(
    env: WorkflowEnvironment, world: World
) -> None:
    world.team_empty = True
    handle = await world.start(support.intake())
    await env.sleep(timedelta(minutes=2))

    waiting = await drive.wait_for(
        handle, lambda s: s.stage == Stage.TRIAGED, "triaged, with nobody to own it"
    )
    [held] = await world.actions_done("assignment_held", 1)
    [notice] = await world.messages_sent("owner_notice", 1)
    assert waiting.owner is None
    assert held.detail == {"team": "care", "cause": "NoEligibleOwner"}
    assert notice.recipient == MANAGER and "team care has nobody eligible" in notice.body
    assert world.sent("acknowledgement") == []  # it would name an owner

    await env.sleep(policies.LOCAL_PAUSE * 2)  # still empty: asked again, told no more
    assert len(world.sent("owner_notice")) == 1
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    world.team_empty = False  # the roster is fixed
    await env.sleep(policies.LOCAL_PAUSE)
    owned = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    assert owned.owner == OWNER
    assert len(world.sent("acknowledgement")) == 1


async def test_a_refused_acknowledgement_and_resolution_are_recorded_and_the_owner_told(
    world: World,
) -> None:
    world.customer_refuses = {"acknowledgement", "resolution"}
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    following = await drive.wait_for_stage(handle, Stage.FOLLOW_UP)

    refused = await world.actions_done("delivery_failed", 2)
    await world.actions_done("resolution_undelivered", 1)
    assert [e.detail["kind"] for e in refused] == ["acknowledgement", "resolution"]
    assert {e.detail["cause"] for e in refused} == {"AddressRejected"}
    assert world.actions("resolution_communicated") == []
    notices = [m for m in world.sent("owner_notice") if m.recipient == OWNER]
    assert sum("refused by the channel" in m.body for m in notices) == 2
    assert all("jordan@" not in m.body for m in notices)
    # the resolution clock is not stopped: nobody knows the customer has the answer
    assert any(d.name == "resolution" and d.state == "running" for d in following.deadlines)


async def test_a_tier_3_notice_nobody_can_receive_is_recorded_and_the_inquiry_goes_on(
    world: World,
) -> None:
    world.triage = triage(tier=3, flags=("HIPAA",))
    world.staff_refused = set(TIER3_NOTIFY)
    handle = await world.start(support.intake())

    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    refused = await world.actions_done("delivery_failed", len(TIER3_NOTIFY))
    assert {e.detail["audience"] for e in refused} == {"staff"}
    assert len(world.sent("acknowledgement")) == 1
    # the owner is told whom to reach another way
    told = [m.body for m in world.sent("owner_notice") if m.recipient == OWNER]
    for recipient in TIER3_NOTIFY:
        assert sum(f"to {recipient} was refused" in body for body in told) == 1


async def test_a_temporal_cancellation_is_refused_and_documented(world: World) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.cancel()
    refused = await drive.refusals(handle, 1)
    [documented] = await world.actions_done("signal_refused", 1)

    assert (refused.refused_signals[0].signal, refused.stage) == (
        "cancel",
        Stage.AWAITING_COMPLIANCE,
    )
    assert "send the withdraw action" in refused.refused_signals[0].reason
    assert documented.actor == "temporal"
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    assert (await drive.outcome(handle)).stage == Stage.CLOSED
