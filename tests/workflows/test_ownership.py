"""Who answers for an inquiry, and how urgent it is: reassignment and escalation by signal."""

from __future__ import annotations

from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import MANAGER, OWNER, REVIEWER, SENIOR, World
from workflows import visibility

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

    await handle.signal("reassign_owner", {"owner_id": SENIOR, "by": MANAGER, "reason": "holiday"})
    moved = await drive.wait_for(handle, lambda s: s.owner == SENIOR, "the new owner")
    await handle.signal("compliance_decision", {"reviewer_id": SENIOR, "decision": "approve"})
    # the former owner is on the reviewer roster, but owned this inquiry: never independent
    await handle.signal("compliance_decision", {"reviewer_id": OWNER, "decision": "approve"})
    refused = await drive.refusals(handle, 2)

    assert [(a.owner_id, a.by, a.reason) for a in moved.owner_history] == [
        (OWNER, "system", "least loaded"),
        (SENIOR, MANAGER, "holiday"),
    ]
    assert [r.reason for r in refused.refused_signals] == [
        "the owner may not review their own draft",
        "a former owner of the inquiry may not review its draft",
    ]
    assert refused.compliance == []

    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.owner == SENIOR
    assert outcome.approved_by == [REVIEWER]


async def test_only_an_operator_or_the_teams_manager_may_reassign(world: World) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("reassign_owner", {"owner_id": SENIOR, "by": LEAD, "reason": "mine now"})
    refused = await drive.refusals(handle, 1)

    assert refused.refused_signals[0].reason == (
        "only an operator or the manager of the inquiry's team may reassign it"
    )
    assert [a.owner_id for a in refused.owner_history] == [OWNER]


async def test_reassignment_to_someone_not_on_the_roster_is_refused_and_changes_nothing(
    world: World,
) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    stranger = {"owner_id": "Jordan Example", "by": MANAGER, "reason": "as asked"}
    await handle.signal("reassign_owner", stranger)
    refused = await drive.refusals(handle, 1)

    assert refused.refused_signals[0].signal == "reassign_owner"
    assert refused.refused_signals[0].reason == (
        "owner_id is not on the roster as staff who own inquiries"
    )
    assert refused.owner == OWNER
    assert [a.owner_id for a in refused.owner_history] == [OWNER]
    # InquiryOwner only ever holds roster ids: the refused one never reached it.
    described = await handle.describe()
    assert described.typed_search_attributes.get(visibility.OWNER) == OWNER
    # The audit row is written a moment after the status shows the refusal.
    assert [e.actor for e in await world.actions_done("signal_refused", 1)] == [MANAGER]
