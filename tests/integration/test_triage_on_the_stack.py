"""Triage on the real stack, driven as an intake system would: the raw `temporal` CLI and plain
JSON, the shipped rules, roster and policy. Nothing sensitive reaches the customer unreviewed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from models.status import InquiryOutcome
from tests.integration.conftest import Stack
from tests.integration.helpers import cli_start, outbox, status_when
from tests.support import intake, new_id

# The domain notes' worked example, word for word.
SEED = "an upset client who believes sensitive case documents were shared inappropriately"
TIER3_CONTACTS = {"legal.ops", "compliance.office"}


async def test_the_worked_example_is_tier_3_privileged_held_and_told_to_legal_ops_and_compliance(
    stack: Stack, tmp_path: Path
) -> None:
    inquiry_id = new_id("SEED")
    payload = intake(
        inquiry_id,
        sector="legal",
        channel="phone",
        subject="Upset client: case documents",
        body=SEED,
    )
    await cli_start(stack, payload, tmp_path, f"inquiry-{inquiry_id}")
    handle = stack.client.get_workflow_handle(f"inquiry-{inquiry_id}", result_type=InquiryOutcome)

    held = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    await asyncio.sleep(1)  # anything released would have moved on by now

    assert held.tier == 3
    assert "PRIVILEGE" in held.compliance_flags and held.distress
    assert held.release_by_policy is not None and not held.release_by_policy.released
    assert (await handle.query("status"))["stage"] == "awaiting_compliance"
    messages = outbox(stack, inquiry_id)
    told = {m.recipient for m in messages if m.kind == "escalation_notice"}
    assert TIER3_CONTACTS <= told
    assert [m.kind for m in messages if m.audience == "customer"] == ["acknowledgement"]


async def test_a_routine_order_question_is_released_and_the_same_with_a_hidden_crisis_is_not(
    stack: Stack, tmp_path: Path
) -> None:
    routine_id, crisis_id = new_id("ROUTINE"), new_id("CRISIS")
    question = "Hi, where is my order 4471? The tracking hasn't moved since Monday. Thanks"
    hidden = question + " Not that it matters, I won't be around much longer anyway."
    for inquiry_id, body in ((routine_id, question), (crisis_id, hidden)):
        payload = intake(inquiry_id, sector="ecommerce", subject="Order 4471", body=body)
        await cli_start(stack, payload, tmp_path, f"inquiry-{inquiry_id}")

    routine = stack.client.get_workflow_handle(f"inquiry-{routine_id}")
    released = await status_when(routine, lambda s: s.stage == "follow_up")
    crisis = stack.client.get_workflow_handle(f"inquiry-{crisis_id}")
    held = await status_when(crisis, lambda s: s.stage == "awaiting_compliance")

    assert released.tier == 1 and released.release_by_policy is not None
    assert released.release_by_policy.released
    assert (held.tier, held.urgency, held.distress) == (3, "critical", True)
    assert held.release_by_policy is not None and not held.release_by_policy.released
    assert not [m for m in outbox(stack, crisis_id) if m.kind == "resolution"]
    told = {m.recipient for m in outbox(stack, crisis_id) if m.kind == "escalation_notice"}
    assert TIER3_CONTACTS <= told
    [ack] = [m for m in outbox(stack, crisis_id) if m.kind == "acknowledgement"]
    assert "local emergency number" in ack.body and "need to contact us again" not in ack.body
