"""Routing: the inquiry goes to each department it concerns, all at once, over HTTP.

Answers come back inline from the activity or later by the `department_result` signal. The wait
ends when every department has settled or the department SLA passes; a department that refuses
the case is put before the owner, and the workflow goes on.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from activities.departments import DepartmentActivities
    from models.activities import DepartmentRequest
    from models.contract import Department, Stage
    from models.status import DepartmentState

from workflows import continuation, disclosure, outbox, policies
from workflows.case import SETTLED, Case
from workflows.policies import SYSTEM


async def route(case: Case) -> None:
    """Route, or go on waiting for the departments where a continued run rested."""
    assert case.policy is not None and case.triage is not None
    if case.stage != Stage.ROUTING:
        departments = [d.value for d in case.departments]
        case.move_to(Stage.ROUTING, workflow.now(), departments=departments)
        # The department clock bounds the wait: its breach (timekeeper) marks the stragglers
        # overdue and escalates; a customer owing information pauses it.
        case.sla.start("department", case.policy.department_sla, workflow.now(), case.policy)
    unsent = [d for d, state in case.departments.items() if state.status == "pending"]
    calls = [asyncio.create_task(route_one(case, d)) for d in unsent]
    try:
        await continuation.rest(
            case, case.routing_settled, busy=lambda: not all(call.done() for call in calls)
        )
    finally:
        # Withdrawn meanwhile, or settled: what is still being routed is not waited for.
        for call in calls:
            call.cancel()
        # Let the cancelled calls finish unwinding here, not after the run has returned.
        await asyncio.gather(*calls, return_exceptions=True)
    case.sla.stop("department", workflow.now(), case.policy)


async def route_one(case: Case, department: Department) -> None:
    assert case.triage is not None and case.policy is not None
    subject, body = disclosure.words_for(
        department,
        case.intake.subject,
        case.intake.body,
        case.triage.compliance_flags,
        case.policy.minimum_necessary,
    )
    request = DepartmentRequest(
        workflow_id=case.workflow_id,
        inquiry_id=case.intake.inquiry_id,
        department=department,
        sector=case.intake.sector,
        tier=case.tier or case.triage.tier,
        urgency=case.triage.urgency,
        compliance_flags=case.triage.compliance_flags,
        categories=case.triage.categories,
        customer_id=case.intake.customer.customer_id,
        subject=subject,
        body=body,
        round=case.round,
    )
    try:
        answer = await workflow.execute_activity_method(
            DepartmentActivities.route_to_department,
            request,
            start_to_close_timeout=policies.DEPARTMENT_ATTEMPT_TIMEOUT,
            schedule_to_close_timeout=case.policy.department_sla,
            retry_policy=policies.DEPARTMENT_RETRY,
            summary=f"route to {department.value}",
        )
    except ActivityError as err:
        if isinstance(err.cause, CancelledError):
            return  # routing ended (withdrawn, or the SLA passed): no failure to report
        if case.departments[department].status in SETTLED:
            return  # the department SLA passed first and marked it overdue; the owner knows
        # A refusal or a protocol fault is the owner's to resolve, never a failed workflow.
        kind = getattr(err.cause, "type", None) or type(err.cause).__name__
        # The owner hears of it before the department counts as settled: settling ends the
        # routing wait, which cancels whatever routing work is still in flight.
        await outbox.to_owner(case, f"routing to {department.value} failed ({kind})")
        failed = DepartmentState(status="failed", detail=f"routing failed: {kind}")
        case.department_update(department, failed, SYSTEM, workflow.now())
        return
    state = DepartmentState(status=answer.status, case_ref=answer.case_ref, summary=answer.summary)
    case.department_update(department, state, f"department:{department.value}", workflow.now())
