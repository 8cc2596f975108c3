"""The way out of an inquiry: released by policy, approved by a reviewer, or withdrawn; and the
audit trail every such run leaves."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from models.contract import Department, Stage
from models.status import RuleHit
from tests import support
from tests.workflows import drive
from tests.workflows.world import OWNER, REVIEWER, World, accepted, completed, rejected, routine

APPROVE = {"reviewer_id": REVIEWER, "decision": "approve"}
CONTRACT_ORDER = [
    "received",
    "triaged",
    "routing",
    "drafting",
    "awaiting_compliance",
    "communicating",
    "follow_up",
    "closed",
]


async def test_tier1_without_flags_is_released_by_policy_without_a_reviewer(world: World) -> None:
    world.triage = routine()
    handle = await world.start(support.billing_only())

    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert outcome.release == "policy"
    assert outcome.approved_by == []
    assert [e.detail["draft_version"] for e in world.actions("compliance_policy_release")] == [1]
    assert "verify_actors" not in world.calls  # nobody decided: no action came
    assert len(world.sent("resolution")) == 1


async def test_a_routine_draft_on_an_unsigned_result_waits_for_a_reviewer(world: World) -> None:
    """Signed actions not required (dev mode): anyone with a Temporal client could have sent the
    result; its text reaches the customer only once a person has read it."""
    world.triage = routine()
    world.departments_sign = False
    world.answers[Department.BILLING] = accepted("B-7")
    handle = await world.start(support.billing_only())
    await drive.wait_for_department(handle, Department.BILLING, "accepted")

    result = {"department": "billing", "case_ref": "B-7", "status": "completed", "summary": "ok"}
    await handle.signal("department_result", result)
    held = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    assert held.departments[Department.BILLING].unverified
    assert held.release_by_policy is not None
    assert held.release_by_policy.reasons == ["results taken unsigned from: billing"]
    assert world.sent("resolution") == []
    await handle.signal("compliance_decision", APPROVE)
    assert (await drive.outcome(handle)).release == "reviewer"


async def test_a_routine_draft_with_a_link_or_a_refused_case_waits_for_a_reviewer(
    world: World,
) -> None:
    world.triage = routine()
    for n, (answer, reason) in enumerate(
        [
            (completed("Claim it at http://refunds.example/x"), "the draft holds a link"),
            (rejected(Department.BILLING), "no completed result from: billing"),
        ]
    ):
        world.answers[Department.BILLING] = answer
        handle = await world.start(support.billing_only(f"INQ-{n}"))
        held = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
        assert held.release_by_policy is not None
        assert held.release_by_policy.reasons == [reason]
    assert world.sent("resolution") == []


async def test_with_release_by_policy_off_even_a_routine_draft_waits_for_a_reviewer(
    env: WorkflowEnvironment, world: World
) -> None:
    world.triage = routine()
    world.policy = {"release_by_policy": {"enabled": False, "sectors": [], "categories": []}}
    handle = await world.start(support.billing_only())

    held = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await env.sleep(timedelta(hours=1))

    assert world.sent("resolution") == []
    assert held.release_by_policy is not None and not held.release_by_policy.released
    assert "release by policy is turned off" in held.release_by_policy.reasons
    [declined] = world.actions("release_by_policy_declined")
    assert declined.detail["reasons"] == held.release_by_policy.reasons
    await handle.signal("compliance_decision", APPROVE)
    assert (await drive.outcome(handle)).release == "reviewer"


async def test_a_routine_looking_inquiry_with_a_sensitivity_signal_is_held_and_says_why(
    world: World,
) -> None:
    signal = RuleHit(rule_id="feeling.anger", description="-", effect="-", kind="signal")
    result = routine()
    world.triage = result.model_copy(update={"rules_fired": [*result.rules_fired, signal]})
    handle = await world.start(support.billing_only())

    held = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    assert held.release_by_policy is not None
    assert held.release_by_policy.reasons == ["sensitivity signals: feeling.anger"]
    assert world.sent("resolution") == []


async def test_flagged_inquiry_is_communicated_only_after_approval(
    env: WorkflowEnvironment, world: World
) -> None:
    intake = support.intake()
    handle = await world.start(intake)
    waiting = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await env.sleep(timedelta(hours=1))

    assert (await drive.status(handle)).stage == Stage.AWAITING_COMPLIANCE
    assert world.sent("resolution") == []
    assert [m.kind for m in world.messages] == ["acknowledgement"]

    await handle.signal("compliance_decision", APPROVE)
    outcome = await drive.outcome(handle)

    [resolution] = world.sent("resolution")
    assert waiting.draft is not None and resolution.body == waiting.draft.text
    assert resolution.recipient == intake["customer"]["email"]
    assert outcome.stage == Stage.CLOSED
    assert outcome.owner == OWNER
    assert [a.owner_id for a in outcome.owner_history] == [OWNER]
    assert outcome.tier == 2
    assert outcome.release == "reviewer" and outcome.approved_by == [REVIEWER]
    assert set(outcome.departments) == {Department.BILLING, Department.CLINICAL}
    assert {d.status for d in outcome.departments.values()} == {"completed"}
    assert outcome.resolution_ref == resolution.message_key
    assert outcome.received_at == datetime.fromisoformat(intake["received_at"])
    assert outcome.triaged_at is not None and outcome.communicated_at is not None
    assert outcome.triaged_at <= outcome.communicated_at <= outcome.closed_at


async def test_every_stage_transition_is_written_once_in_contract_order(world: World) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal("compliance_decision", APPROVE)
    await drive.outcome(handle)

    keys = [e.event_key for e in world.events]
    assert len(keys) == len(set(keys))
    changes = world.actions("stage_changed")
    path = [changes[0].detail["from"]] + [e.detail["to"] for e in changes]
    assert path == CONTRACT_ORDER
    assert all(e.detail["from"] == p for e, p in zip(changes, path, strict=False))
    assert all(e.actor and e.at for e in changes)
    assert [e.at for e in changes] == sorted(e.at for e in changes)


async def test_withdrawal_while_awaiting_compliance_ends_without_a_resolution(
    world: World,
) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("withdraw", {"by": OWNER, "reason": "customer called to withdraw"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.WITHDRAWN
    assert outcome.resolution_ref is None
    assert world.sent("resolution") == []
    assert [e.actor for e in world.actions("withdrawal_requested")] == [OWNER]
    assert world.actions("stage_changed")[-1].detail["to"] == "withdrawn"
