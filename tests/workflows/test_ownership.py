"""Who answers for an inquiry, and how urgent it is: reassignment and escalation by signal."""

from __future__ import annotations

from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import OWNER, SENIOR, World

LEAD = "lead.lee"


async def test_escalation_raises_the_tier_one_step_and_never_above_three(world: World) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    for n in range(4):
        await handle.signal("escalate", {"by": LEAD, "reason": f"customer chased, call {n}"})
    await drive.wait_for(
        handle, lambda _: len(world.actions("escalated")) == 4, "four escalations documented"
    )

    assert (await drive.status(handle)).tier == 3
    assert [(e.detail["from_tier"], e.detail["to_tier"]) for e in world.actions("escalated")] == [
        (2, 3),
        (3, 3),
        (3, 3),
        (3, 3),
    ]
    assert {e.actor for e in world.actions("escalated")} == {LEAD}


async def test_reassigned_owner_may_not_approve_and_the_history_is_kept(world: World) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("reassign_owner", {"owner_id": SENIOR, "by": LEAD, "reason": "holiday"})
    moved = await drive.wait_for(handle, lambda s: s.owner == SENIOR, "the new owner")
    await handle.signal("compliance_decision", {"reviewer_id": SENIOR, "decision": "approve"})
    refused = await drive.refusals(handle, 1)

    assert [(a.owner_id, a.by, a.reason) for a in moved.owner_history] == [
        (OWNER, "system", "least loaded"),
        (SENIOR, LEAD, "holiday"),
    ]
    assert refused.refused_signals[0].reason == "the owner may not review their own draft"
    assert refused.compliance == []

    # the former owner is on the reviewer roster and is now independent of the draft
    await handle.signal("compliance_decision", {"reviewer_id": OWNER, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.owner == SENIOR
    assert outcome.approved_by == [OWNER]
