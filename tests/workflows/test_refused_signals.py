"""Signals that are wrong in content or in state change nothing, are recorded as refused (in the
status query and the audit trail) with a reason that never echoes the payload, and leave the
workflow running to its normal end."""

from __future__ import annotations

from typing import Any

from models.contract import Department, Stage
from models.status import InquiryStatus
from tests import support
from tests.workflows import drive
from tests.workflows.world import AGENT, OWNER, REVIEWER, World, accepted

SSN = "123-45-6789"  # fake, planted in payloads to prove reasons never quote them
WITHDRAW = {"by": AGENT, "reason": f"customer asked; SSN {SSN}"}


async def signal_and_expect_refusal(
    handle: drive.Handle, name: str, *args: Any, reason: str
) -> InquiryStatus:
    before = len((await drive.status(handle)).refused_signals)
    await handle.signal(name, args=list(args))
    current = await drive.refusals(handle, before + 1)
    refused = current.refused_signals[before]
    assert (refused.signal, refused.reason) == (name, reason)
    return current


async def test_refused_signals_are_recorded_and_the_inquiry_still_completes(
    world: World,
) -> None:
    world.answers[Department.CLINICAL] = accepted("CL-7")
    handle = await world.start(support.intake())
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")

    # While routing: in the wrong state for the signal.
    refuse = signal_and_expect_refusal
    await refuse(
        handle,
        "compliance_decision",
        {"reviewer_id": REVIEWER, "decision": "approve", "note": SSN},
        reason="no draft awaits a compliance decision",
    )
    await refuse(
        handle,
        "department_result",
        {"department": "clinical", "case_ref": "CL-8", "status": "completed", "summary": SSN},
        reason="case_ref does not match the case opened with this department",
    )
    await refuse(
        handle,
        "reopen",
        {"by": AGENT, "reason": SSN},
        reason="inquiry can only be reopened during follow-up",
    )
    await refuse(
        handle, "survey_response", {"csat": 5, "comment": SSN}, reason="no survey awaits an answer"
    )
    # Malformed: each would otherwise withdraw or decide.
    await refuse(
        handle,
        "withdraw",
        f"withdraw {SSN}",
        reason="malformed payload: expected a JSON object, got a string",
    )
    await refuse(
        handle, "withdraw", reason="malformed payload: expected one JSON object, got 0 arguments"
    )
    await refuse(
        handle,
        "withdraw",
        WITHDRAW,
        WITHDRAW,
        reason="malformed payload: expected one JSON object, got 2 arguments",
    )
    await refuse(
        handle,
        "withdraw",
        WITHDRAW | {"ssn": SSN, SSN: "key"},
        reason="malformed payload: payload: 2 unknown fields (not in the contract)",
    )
    await refuse(
        handle,
        "compliance_decision",
        {"reviewer_id": REVIEWER, "decision": "reject"},
        reason="malformed payload: payload: note is required when the decision is reject",
    )
    assert (await drive.status(handle)).stage == Stage.ROUTING

    await handle.signal(
        "department_result",
        {"department": "clinical", "case_ref": "CL-7", "status": "completed", "summary": "done"},
    )
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    # At the checkpoint: the wrong people.
    await refuse(
        handle,
        "compliance_decision",
        {"reviewer_id": OWNER, "decision": "approve", "note": SSN},
        reason="the owner may not review their own draft",
    )
    await refuse(
        handle,
        "compliance_decision",
        {"reviewer_id": "stranger.sam", "decision": "approve"},
        reason="reviewer is not authorised to review this inquiry",
    )
    await refuse(
        handle,
        "compliance_decision",
        {"reviewer_id": AGENT, "decision": "approve"},
        reason="reviewer is not authorised to review this inquiry",
    )
    current = await refuse(
        handle,
        "revise_response",
        {"author_id": AGENT, "text": f"Your SSN is {SSN}"},
        reason="only the owner may revise the draft",
    )
    assert current.stage == Stage.AWAITING_COMPLIANCE
    assert current.draft is not None and current.draft.version == 1
    assert current.compliance == []

    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED and outcome.approved_by == [REVIEWER]
    audited = world.actions("signal_refused")
    assert [(e.detail["signal"], e.detail["reason"]) for e in audited] == [
        (r.signal, r.reason) for r in current.refused_signals
    ]
    assert len(audited) == 13
    assert all(SSN not in r.reason for r in current.refused_signals)
    assert all(SSN not in str(e.detail) and SSN not in e.actor for e in audited)
    # the actor of a refusal is the sender where the payload names one
    assert [e.actor for e in audited][-4:] == [OWNER, "stranger.sam", AGENT, AGENT]


async def test_department_result_for_a_department_not_routed_is_refused(world: World) -> None:
    world.answers[Department.CLINICAL] = accepted("CL-1")
    handle = await world.start(support.intake())
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")

    current = await signal_and_expect_refusal(
        handle,
        "department_result",
        {"department": "legal", "case_ref": "LE-1", "status": "completed", "summary": "x"},
        reason="inquiry was not routed to this department",
    )

    assert Department.LEGAL not in current.departments
    assert current.stage == Stage.ROUTING


async def test_a_verdict_made_for_another_call_approves_nothing(world: World) -> None:
    """An actor check that comes back naming another call (an earlier verdict of this inquiry,
    completed again by hand while the real check waited) is not this action's: refused."""
    handle = await world.start(support.intake())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    world.replayed_verdicts = True

    current = await signal_and_expect_refusal(
        handle, "compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"},
        reason="the actor check that came back was not made for this action",
    )  # fmt: skip

    assert current.stage == Stage.AWAITING_COMPLIANCE and current.compliance == []
    world.replayed_verdicts = False
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    assert (await drive.outcome(handle)).approved_by == [REVIEWER]
