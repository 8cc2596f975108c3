"""Routing to the department systems: a case accepted now and answered later by signal, a
department that refuses the case, and one that never answers within the department SLA (which
then escalates)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    MANAGER,
    OWNER,
    TIER3_LEAD,
    World,
    accepted,
    rejected,
    triage,
)

RESULT = {
    "department": "clinical",
    "case_ref": "CL-42",
    "status": "completed",
    "summary": "Your lab results were posted to you on Monday.",
}


async def test_accepted_case_waits_in_routing_until_the_department_reports(
    env: WorkflowEnvironment, world: World
) -> None:
    world.answers[Department.CLINICAL] = accepted("CL-42")
    handle = await world.start(support.intake())
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")
    await env.sleep(timedelta(hours=6))

    assert (await drive.status(handle)).stage == Stage.ROUTING

    await handle.signal("department_result", RESULT)
    current = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    clinical = current.departments[Department.CLINICAL]
    assert (clinical.status, clinical.case_ref) == ("completed", "CL-42")
    assert current.draft is not None and RESULT["summary"] in current.draft.text
    assert [e.actor for e in world.actions("department_completed")] == [
        "department:billing",
        "department:clinical",
    ]


async def test_department_refusing_the_case_is_put_before_the_owner(world: World) -> None:
    world.triage = triage(categories=("billing", "legal"))
    world.answers[Department.LEGAL] = rejected(Department.LEGAL)
    handle = await world.start(support.intake())

    current = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    legal = current.departments[Department.LEGAL]
    assert legal.status == "failed"
    assert legal.detail is not None and "DepartmentRejected" in legal.detail
    assert current.departments[Department.BILLING].status == "completed"
    [notice] = world.sent("owner_notice")
    assert notice.recipient == OWNER and "routing to legal failed" in notice.subject
    assert [r.department for r in world.requests].count(Department.LEGAL) == 1  # not retried


async def test_each_department_refusing_at_once_is_its_own_owner_notice(world: World) -> None:
    world.triage = triage(categories=("clinical", "legal"))
    world.answers[Department.CLINICAL] = rejected(Department.CLINICAL)
    world.answers[Department.LEGAL] = rejected(Department.LEGAL)
    world.owner_notices_together = 2
    handle = await world.start(support.intake())

    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    notices = world.sent("owner_notice")
    assert sorted(m.subject.split(": ")[1] for m in notices) == [
        "routing to clinical failed (DepartmentRejected)",
        "routing to legal failed (DepartmentRejected)",
    ]
    # the outbox keeps one message per key: a shared key would drop one of them
    assert len({m.message_key for m in notices}) == 2


async def test_department_sla_marks_the_silent_department_overdue_and_drafting_begins(
    env: WorkflowEnvironment, world: World
) -> None:
    world.answers[Department.CLINICAL] = accepted("CL-9")
    handle = await world.start(support.intake(policy={"department_sla": "PT2H"}))
    routing = await drive.wait_for_department(handle, Department.CLINICAL, "accepted")
    [deadline] = [d for d in routing.deadlines if d.name == "department"]
    assert routing.updated_at is not None and deadline.due_at is not None
    assert (
        timedelta(hours=1, minutes=59) < deadline.due_at - routing.updated_at <= timedelta(hours=2)
    )

    await env.sleep(timedelta(hours=1, minutes=59))
    before = await drive.status(handle)
    assert before.stage == Stage.ROUTING
    assert before.departments[Department.CLINICAL].status == "accepted"
    assert world.sent("owner_notice") == []

    await env.sleep(timedelta(minutes=2))
    after = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    assert after.departments[Department.CLINICAL].status == "overdue"
    assert after.departments[Department.BILLING].status == "completed"
    assert after.draft is not None and "still working" in after.draft.text
    # the breach walks the escalation path: the owner hears of it along with the new owner
    [escalated] = await world.actions_done("escalated", 1)
    assert escalated.detail["reason"] == "department SLA breached"
    await world.messages_sent("escalation_notice", 3)
    assert {OWNER, TIER3_LEAD, MANAGER} <= {m.recipient for m in world.sent("escalation_notice")}


async def test_each_department_is_sent_only_the_words_it_needs(world: World) -> None:
    world.triage = triage(
        tier=3, flags=("HIPAA", "PRIVILEGE"), categories=("billing", "clinical", "legal")
    )
    body = "My biopsy came back positive. I was charged twice on my invoice. My lawyer advised me."
    handle = await world.start(support.intake(body=body))
    await drive.wait_for(handle, lambda _: len(world.requests) == 3, "three departments sent")

    sent = {r.department: r for r in world.requests}
    assert sent[Department.LEGAL].body == body
    for department in (Department.BILLING, Department.CLINICAL):
        assert "biopsy" not in sent[department].body and "lawyer" not in sent[department].body
        assert sent[department].subject == "Privileged legal matter"


async def test_billing_is_not_sent_clinical_sentences(world: World) -> None:
    body = "My biopsy came back positive. I was charged twice on my invoice."
    handle = await world.start(support.intake(body=body))
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)

    sent = {r.department: r for r in world.requests}
    assert sent[Department.BILLING].body.startswith("I was charged twice on my invoice.")
    assert "biopsy" not in sent[Department.BILLING].body
    assert sent[Department.CLINICAL].body == body
