"""Four eyes: at tier 3 a draft is released only when two distinct authorised reviewers, neither
of them the owner, have approved it; how many approvals each tier needs is policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import LEGAL, OWNER, REVIEWER, SENIOR, World, triage


def approve(reviewer: str) -> dict[str, str]:
    return {"reviewer_id": reviewer, "decision": "approve"}


async def test_tier3_draft_is_not_released_by_one_approval_but_by_two_distinct_reviewers(
    env: WorkflowEnvironment, world: World
) -> None:
    world.triage = triage(tier=3)
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("compliance_decision", approve(REVIEWER))
    await drive.wait_for(handle, lambda s: len(s.compliance) == 1, "the first approval")
    await env.sleep(timedelta(minutes=20))  # inside tier 3's one-hour review SLA
    await handle.signal("compliance_decision", approve(REVIEWER))
    await handle.signal("compliance_decision", approve(OWNER))
    held = await drive.refusals(handle, 2)

    assert held.stage == Stage.AWAITING_COMPLIANCE
    assert world.sent("resolution") == []
    assert [r.reason for r in held.refused_signals] == [
        "reviewer has already decided on this draft",
        "the owner may not review their own draft",
    ]
    assert [r.reviewer_id for r in held.compliance] == [REVIEWER]

    await handle.signal("compliance_decision", approve(LEGAL))
    outcome = await drive.outcome(handle)

    assert outcome.release == "reviewer"
    assert outcome.approved_by == [REVIEWER, LEGAL]
    [resolution] = world.sent("resolution")
    [released] = world.actions("resolution_communicated")
    assert released.detail["message_key"] == resolution.message_key


@pytest.mark.parametrize(
    ("tier", "required", "reviewers"),
    [
        pytest.param(2, {"2": 2}, [REVIEWER, SENIOR], id="tier2-needs-two"),
        pytest.param(3, {"3": 1}, [REVIEWER], id="tier3-needs-one"),
    ],
)
async def test_the_number_of_approvals_per_tier_is_policy(
    world: World, tier: int, required: dict[str, int], reviewers: list[str]
) -> None:
    world.policy = {"approvals_required": {"1": 1, "2": 1, "3": 2} | required}
    world.triage = triage(tier=tier)
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    first, *second = reviewers
    await handle.signal("compliance_decision", approve(first))
    if second:
        waiting = await drive.wait_for(handle, lambda s: len(s.compliance) == 1, "one approval")
        assert waiting.stage == Stage.AWAITING_COMPLIANCE
        assert world.sent("resolution") == []
        await handle.signal("compliance_decision", approve(second[0]))
    outcome = await drive.outcome(handle)

    assert outcome.approved_by == reviewers
    assert outcome.stage == Stage.CLOSED
