"""The draft's way through the checkpoint: sent back by a reviewer, revised by the owner, stopped
by the automated checks, and kept free of privileged legal findings."""

from __future__ import annotations

from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    LEGAL,
    LEGAL_2,
    OWNER,
    REVIEWER,
    SENIOR,
    World,
    completed,
    triage,
)

REJECT = {"reviewer_id": REVIEWER, "decision": "reject", "note": "too vague about the refund"}
APPROVE = {"reviewer_id": REVIEWER, "decision": "approve"}
CLEAN = "We have refunded the duplicate charge; your lab results are on their way by post."
PRIVILEGED = (
    "PRIVILEGED & CONFIDENTIAL: counsel believes the duplicate charge breaches the settlement "
    "terms agreed in March."
)


def revise(text: str, author: str = OWNER) -> dict[str, str]:
    return {"author_id": author, "text": text}


async def owner_notices(handle: drive.Handle, world: World, count: int) -> list[str]:
    await drive.wait_for(
        handle, lambda _: len(world.sent("owner_notice")) >= count, f"{count} owner notices"
    )
    notices = world.sent("owner_notice")
    assert {m.recipient for m in notices} == {OWNER}
    return [m.subject for m in notices]


async def test_rejected_draft_returns_to_the_owner_and_only_the_revision_is_sent(
    world: World,
) -> None:
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("compliance_decision", REJECT)
    await drive.wait_for_stage(handle, Stage.DRAFTING)
    [notice] = await owner_notices(handle, world, 1)
    assert "a reviewer sent the draft back" in notice

    await handle.signal("compliance_decision", APPROVE)  # v1 was rejected: nothing to approve
    refused = await drive.refusals(handle, 1)
    assert refused.refused_signals[0].reason == "no draft awaits a compliance decision"

    await handle.signal("revise_response", revise(CLEAN))
    current = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    assert current.draft is not None and current.draft.version == 2
    assert [(r.decision, r.draft_version) for r in current.compliance] == [("reject", 1)]

    await handle.signal("compliance_decision", APPROVE)  # the same reviewer, a new draft
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED and outcome.approved_by == [REVIEWER]
    assert [m.body for m in world.sent("resolution")] == [CLEAN]


async def test_revision_while_awaiting_compliance_is_what_the_approval_releases(
    world: World,
) -> None:
    handle = await world.start(support.intake())
    first = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    await handle.signal("revise_response", revise(CLEAN))
    current = await drive.wait_for(
        handle, lambda s: s.draft is not None and s.draft.version == 2, "draft v2"
    )
    assert current.stage == Stage.AWAITING_COMPLIANCE
    await handle.signal("compliance_decision", APPROVE)
    await drive.outcome(handle)

    assert first.draft is not None and first.draft.text != CLEAN
    assert [m.body for m in world.sent("resolution")] == [CLEAN]
    assert [e.detail["draft_version"] for e in world.actions("compliance_approve")] == [2]


async def test_draft_quoting_an_identifier_is_held_until_a_clean_revision(world: World) -> None:
    world.answers[Department.CLINICAL] = completed(
        "The lab has your results filed under SSN 123-45-6789.", case_ref="CL-2"
    )
    handle = await world.start(support.intake())

    held = await drive.wait_for(
        handle, lambda s: s.draft is not None and not s.draft.checks_passed, "a failed check"
    )
    [notice] = await owner_notices(handle, world, 1)

    assert held.stage == Stage.DRAFTING
    assert held.draft is not None and held.draft.check_failures == [
        "contains a social security number"
    ]
    assert "failed automated checks" in notice
    assert "123-45-6789" not in notice

    await handle.signal("revise_response", revise(CLEAN))
    current = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    assert current.draft is not None and current.draft.checks_passed
    await handle.signal("compliance_decision", APPROVE)
    await drive.outcome(handle)

    assert [m.body for m in world.sent("resolution")] == [CLEAN]


async def test_privileged_legal_finding_never_reaches_the_customer(world: World) -> None:
    world.triage = triage(tier=3, flags=("LITIGATION",), categories=("billing", "legal"))
    world.answers[Department.LEGAL] = completed(PRIVILEGED, case_ref="LE-3")
    handle = await world.start(support.intake())

    composed = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    assert composed.draft is not None and composed.draft.checks_passed
    assert "settlement terms" not in composed.draft.text
    assert "PRIVILEGED" not in composed.draft.text

    quoting = "Counsel believes the duplicate charge breaches the settlement terms, so we refund."
    await handle.signal("revise_response", revise(quoting))
    held = await drive.wait_for(
        handle, lambda s: s.draft is not None and s.draft.version == 2, "draft v2"
    )
    await owner_notices(handle, world, 1)
    assert held.stage == Stage.DRAFTING
    assert held.draft is not None
    assert held.draft.check_failures == ["contains a privileged legal finding"]

    await handle.signal("revise_response", revise(CLEAN))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    await handle.signal("compliance_decision", {"reviewer_id": SENIOR, "decision": "approve"})
    refused = await drive.refusals(handle, 1)
    assert "legal_reviewer" in refused.refused_signals[0].reason
    # tier 3: four eyes, both with the legal role
    await handle.signal("compliance_decision", {"reviewer_id": LEGAL, "decision": "approve"})
    await handle.signal("compliance_decision", {"reviewer_id": LEGAL_2, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.approved_by == [LEGAL, LEGAL_2]
    [resolution] = world.sent("resolution")
    assert resolution.body == CLEAN
