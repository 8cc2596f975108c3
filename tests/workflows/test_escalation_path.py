"""The escalation path: each step one tier up (never past 3) to that tier's escalation owner,
with the previous owner and the manager told why; tier 3 brings in legal operations and
compliance, at intake or on the way up; and an escalated inquiry is no first-contact resolution."""

from __future__ import annotations

from datetime import datetime

from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    LEGAL,
    MANAGER,
    OWNER,
    REVIEWER,
    TIER2_LEAD,
    TIER3_LEAD,
    TIER3_NOTIFY,
    World,
    accepted,
    on_time,
    triage,
)

LEAD = "lead.lee"


def escalate(n: int) -> dict[str, str]:
    return {"by": LEAD, "reason": f"customer chased, call {n}"}


async def test_four_escalations_stop_at_tier_3_with_every_step_in_the_audit_trail(
    world: World,
) -> None:
    world.triage = triage(tier=1)
    world.answers[Department.CLINICAL] = accepted("CL-1")
    handle = await world.start(support.intake())
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")

    for n in range(4):
        await handle.signal("escalate", escalate(n))
    steps = await world.actions_done("escalated", 4)
    # previous owner, new owner and manager; a step that keeps the owner tells two
    notices = await world.messages_sent("escalation_notice", 3 + 3 + 2 + 2 + len(TIER3_NOTIFY))
    current = await drive.status(handle)

    assert [(e.detail["from_tier"], e.detail["to_tier"]) for e in steps] == [
        (1, 2),
        (2, 3),
        (3, 3),
        (3, 3),
    ]
    assert [e.detail["reason"] for e in steps] == [escalate(n)["reason"] for n in range(4)]
    assert {e.actor for e in steps} == {LEAD}
    assert len(world.actions("escalation_requested")) == 4
    assert [r.tier for r in world.escalations] == [2, 3, 3, 3]
    assert (current.tier, current.owner) == (3, TIER3_LEAD)
    assert [(a.owner_id, a.by, a.reason) for a in current.owner_history] == [
        (OWNER, "system", "least loaded"),
        (TIER2_LEAD, LEAD, "escalation: customer chased, call 0"),
        (TIER3_LEAD, LEAD, "escalation: customer chased, call 1"),
    ]
    recipients = [m.recipient for m in notices]
    assert recipients.count(MANAGER) == 4
    assert {r: recipients.count(r) for r in TIER3_NOTIFY} == dict.fromkeys(TIER3_NOTIFY, 1)
    assert recipients.count(OWNER) == 1 and recipients.count(TIER2_LEAD) == 2
    # Free text stays in the audit trail: a reason may quote the customer.
    assert not any("customer chased" in m.subject + m.body for m in notices)
    assert all("audit trail" in m.subject for m in notices if m.recipient not in TIER3_NOTIFY)
    assert len(world.sent("escalation_notice")) == len(notices)  # nothing beyond the path


async def test_manual_escalation_moves_ownership_and_is_no_first_contact_resolution(
    world: World,
) -> None:
    handle = await world.start(support.intake())  # tier 2
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("escalate", {"by": LEAD, "reason": "distressed on the phone"})
    moved = await drive.wait_for(handle, lambda s: s.owner == TIER3_LEAD, "the tier 3 owner")
    await world.messages_sent("escalation_notice", 3 + len(TIER3_NOTIFY))

    assert moved.tier == 3
    told = {m.recipient for m in world.sent("escalation_notice")}
    assert told == {OWNER, TIER3_LEAD, MANAGER, *TIER3_NOTIFY}
    # tier 3 now: two reviewers, and the former owner is no longer barred
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    await handle.signal("compliance_decision", {"reviewer_id": LEGAL, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert (outcome.tier, outcome.owner, outcome.escalations) == (3, TIER3_LEAD, 1)
    assert outcome.approved_by == [REVIEWER, LEGAL]
    assert outcome.first_contact_resolution is False


async def test_tier_3_at_intake_notifies_legal_operations_and_compliance_at_once(
    world: World,
) -> None:
    world.triage = triage(tier=3, flags=("LITIGATION",), categories=("legal",))
    world.answers[Department.LEGAL] = accepted("LE-1")
    intake = support.intake()
    handle = await world.start(intake)
    await drive.wait_for_department(handle, Department.LEGAL, "accepted")

    notices = await world.messages_sent("escalation_notice", len(TIER3_NOTIFY))
    received = datetime.fromisoformat(intake["received_at"])

    assert sorted(m.recipient for m in notices) == sorted(TIER3_NOTIFY)
    assert all(m.audience == "staff" and "tier 3" in m.subject for m in notices)
    assert all(on_time(at, received) for at in world.times("escalation_notice"))
    # before any department hears of it, and with no change of tier or owner
    assert [m.kind for m in world.messages][:3] == ["acknowledgement"] + ["escalation_notice"] * 2
    assert world.calls.index("escalation_contacts") < world.calls.index("route_to_department")
    assert [r.tier for r in world.escalations] == [3]
    assert world.actions("escalated") == []
    assert (await drive.status(handle)).owner == OWNER
