"""The inquiry's own steps between the others' modules: take it in (register the id for good,
resolve the policy, triage, choose the first owner), start its resolution clock, acknowledge it,
and communicate the approved resolution. Routing, the checkpoint and the follow-up have modules
of their own (workflows/routing.py, checkpoint.py, follow_up.py)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.intake import IntakeActivities
    from models.activities import RegisterInquiryInput, TriageInput
    from models.contract import Stage, Urgency
    from models.policy import ResolvePolicyInput
    from models.take_in import TakeInInput, TakenIn

from workflows import continuation, escalation, messages, outbox, ownership, steps
from workflows.case import Case
from workflows.policies import SYSTEM


async def take_in(case: Case) -> TakenIn:
    """Register the id for good, resolve the policy, triage, choose the first owner: one
    activity (activities/intake.py)."""
    info = workflow.info()
    intake = case.intake
    taken = await steps.local(
        case,
        IntakeActivities.take_in,
        TakeInInput(
            registration=RegisterInquiryInput(
                inquiry_id=intake.inquiry_id,
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                sector=intake.sector,
                received_at=intake.received_at,
                customer_id=intake.customer.customer_id,
            ),
            policy=ResolvePolicyInput(overrides=intake.policy, starts_at=intake.received_at),
            triage=TriageInput(intake=intake),
        ),
        "take the inquiry in",
    )
    if not taken.registered.accepted:
        # Temporal allows a new run once the first has closed; the store remembers for good.
        raise ApplicationError(
            f"inquiry already exists: first run {taken.registered.first_run_id}",
            type="InquiryAlreadyExists",
            non_retryable=True,
        )
    return taken


async def triage_and_assign(case: Case, taken: TakenIn) -> None:
    policy, triage = taken.policy, taken.triage
    assert policy is not None and triage is not None
    case.triaged(triage, policy, workflow.now())
    # Nobody eligible when taken in: held until the roster has someone (ownership.py).
    owner = taken.owner or await ownership.first_owner(case, triage)
    case.assign(owner.owner_id, owner.team, owner.reason, SYSTEM, workflow.now())
    budget = policy.resolution_sla[str(triage.tier)]  # type: ignore[index]
    # The resolution SLA runs from intake, however long the intake took to reach us, and
    # the customer is promised what the clock says (business time included).
    case.sla.start("resolution", budget, case.intake.received_at, policy)


async def acknowledge(case: Case) -> None:
    """The customer hears who owns the inquiry and by when to expect an answer; tier 3
    contacts hear of a tier 3 inquiry."""
    policy, triage = case.policy, case.triage
    assert policy is not None and triage is not None and case.owner is not None
    due = case.sla.clocks["resolution"].due_at(policy.business_windows) or (
        case.intake.received_at + policy.resolution_sla[str(triage.tier)]  # type: ignore[index]
    )
    continuation.unless_withdrawn(case)  # withdrawn while being triaged: tell nobody more
    subject, body = messages.acknowledgement(
        case.intake.inquiry_id,
        case.owner,
        due,
        distress=triage.distress,
        critical=triage.urgency == Urgency.CRITICAL,
    )
    await outbox.to_customer(case, "acknowledgement", "ack", subject, body)
    if triage.tier == 3:
        await escalation.notify_tier3(case)


async def communicate(case: Case) -> None:
    continuation.unless_withdrawn(case)
    draft = case.draft
    assert draft is not None
    case.move_to(Stage.COMMUNICATING, workflow.now(), draft_version=draft.version)
    subject = messages.resolution_subject(case.intake.inquiry_id)
    case.resolution_ref = await outbox.to_customer(
        case, "resolution", f"resolution:v{draft.version}", subject, draft.text
    )
    if case.resolution_ref is None:
        # Refused by the channel: the owner was told to reach the customer another way, and
        # the resolution clock runs on until the inquiry closes, escalating if it must.
        case.record(workflow.now(), SYSTEM, "resolution_undelivered", {})
        return
    case.record(
        workflow.now(), SYSTEM, "resolution_communicated", {"message_key": case.resolution_ref}
    )
    case.stop_clock("resolution", workflow.now())
