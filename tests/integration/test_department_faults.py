"""Department systems that misbehave: 503s are retried until the department recovers; a 400 is
put before the owner as a failed routing, and the inquiry goes on; a department down for longer
than the department SLA is marked overdue, the inquiry escalates and completes without it."""

from __future__ import annotations

from models.contract import Department
from tests.integration.conftest import Stack
from tests.integration.helpers import approve, audit, outbox, start, status_when
from tests.support import intake


async def test_a_department_answering_503_is_retried_until_it_recovers(stack: Stack) -> None:
    stack.simulator.desk.configure(Department.BILLING, fail_next=[503, 503], retry_after="0")
    handle = await start(stack, intake())
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    assert status.departments[Department.BILLING].status == "completed"
    billing = [r for r in stack.simulator.desk.requests if r["department"] == "billing"]
    assert [r["answer_status"] for r in billing] == [503, 503, 200]
    assert len({r["headers"]["idempotency-key"] for r in billing}) == 1
    await approve(handle)
    await handle.result()


async def test_a_department_answering_400_reaches_the_owner_as_a_failed_routing(
    stack: Stack,
) -> None:
    stack.simulator.desk.configure(Department.LEGAL, fail_next=[400])
    payload = intake()
    handle = await start(stack, payload)
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance")
    legal = status.departments[Department.LEGAL]
    assert legal.status == "failed" and "DepartmentRejected" in (legal.detail or "")
    notices = [m for m in outbox(stack, payload["inquiry_id"]) if m.kind == "owner_notice"]
    assert [n.recipient for n in notices] == [status.owner]
    assert "legal" in notices[0].subject
    legal_requests = [r for r in stack.simulator.desk.requests if r["department"] == "legal"]
    assert len(legal_requests) == 1  # not retried
    await approve(handle)
    assert (await handle.result()).stage == "closed"


async def test_a_department_down_past_its_sla_is_overdue_and_the_inquiry_goes_on(
    stack: Stack,
) -> None:
    # Down: every answer a 503, for longer than the retries' patience (the department SLA).
    stack.simulator.desk.configure(Department.BILLING, fail_next=[503] * 10_000, retry_after="0")
    payload = intake(policy={"department_sla": "PT4S"})
    handle = await start(stack, payload)
    status = await status_when(handle, lambda s: s.stage == "awaiting_compliance", timeout_s=60)
    # Whichever ends the wait first: the SLA's breach (overdue, escalated) or the activity's own
    # schedule-to-close timeout, bounded by the same SLA (failed, the owner told).
    assert status.departments[Department.BILLING].status in ("overdue", "failed")
    assert status.departments[Department.CLINICAL].status == "completed"

    # Back: the retries have stopped, so no late case reaches it; the inquiry completes.
    stack.simulator.desk.configure(Department.BILLING, fail_next=[])
    tried = [r for r in stack.simulator.desk.requests if r["department"] == "billing"]
    assert tried and all(r["answer_status"] == 503 for r in tried)
    await approve(handle, "reviewer.rita")
    await approve(handle, "reviewer.victor")  # four eyes, if the breach escalated it to tier 3
    assert (await handle.result()).stage == "closed"
    after = [r for r in stack.simulator.desk.requests if r["department"] == "billing"]
    assert len(after) == len(tried)
    actions = [r.action for r in audit(stack, payload["inquiry_id"])]
    assert actions.count("resolution_communicated") == 1
    told = [m for m in outbox(stack, payload["inquiry_id"]) if m.kind == "owner_notice"]
    assert "escalated" in actions or any("billing" in m.subject for m in told)
