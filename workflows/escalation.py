"""The escalation path: one tier up (at most 3), the tier's escalation owner takes the inquiry,
and the previous owner and the team's manager are told why. SLA breaches, an unanswered
service-recovery step below tier 3 and the manual `escalate` signal all walk this same path.

The same roster contacts tell follow-up whom a score alert or an unresolved tier 3 recovery
reaches besides the owner (`contacts_or_none`)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.roster import RosterActivities
    from models.activities import EscalationContacts, EscalationInput

from workflows import outbox, steps
from workflows.case import Case
from workflows.policies import SYSTEM


async def escalate(case: Case, by: str, reason: str) -> None:
    assert case.triage is not None
    before = case.tier or case.triage.tier
    case.tier = min(before + 1, 3)
    case.escalations += 1
    case.record(
        workflow.now(),
        by,
        "escalated",
        {"from_tier": before, "to_tier": case.tier, "reason": reason},
    )
    try:
        contacts = await contacts_for(case, case.tier)
    except ActivityError as err:
        # A roster with nobody to take the tier: the tier is raised, the owner keeps it and
        # hears why, and operators see it in the audit trail. Time keeping goes on.
        kind = getattr(err.cause, "type", None) or type(err.cause).__name__
        case.record(workflow.now(), SYSTEM, "escalation_incomplete", {"reason": kind})
        await outbox.to_owner(case, f"escalated to tier {case.tier} by {by}, but {kind}")
        return
    previous = case.owner
    if contacts.owner_id != previous:
        case.assign(contacts.owner_id, contacts.team, f"escalation: {reason}", by, workflow.now())
    # Staff notices carry no free text (a reason may quote the customer): it is in the audit.
    what = (
        f"escalated to tier {case.tier} by {by}; owner now {case.owner}; reason in the audit trail"
    )
    for recipient in dict.fromkeys(r for r in (previous, case.owner, contacts.manager) if r):
        await outbox.to_staff(case, recipient, what, "escalation_notice")
    if case.tier == 3 and before < 3:
        await notify_tier3(case, contacts)


async def notify_tier3(case: Case, contacts: EscalationContacts | None = None) -> None:
    """Legal operations and compliance hear of every tier 3 inquiry at once (if the roster can
    say who they are: else that is recorded, and the inquiry goes on)."""
    contacts = contacts or await contacts_or_none(case, 3, "tier 3 notice")
    if contacts is None:
        return
    for recipient in contacts.tier3_notify:
        await outbox.to_staff(case, recipient, "tier 3 inquiry: privilege, litigation or distress",
                              "escalation_notice")  # fmt: skip


async def contacts_or_none(case: Case, tier: int, notice: str) -> EscalationContacts | None:
    """The tier's manager and tier 3 contacts, for a `notice` the owner gets anyway; None if the
    roster cannot say, recorded so that operators see who was not told."""
    try:
        return await contacts_for(case, tier, new_owner=False)
    except ActivityError as err:
        kind = getattr(err.cause, "type", None) or type(err.cause).__name__
        case.record(
            workflow.now(), SYSTEM, "contacts_unavailable", {"notice": notice, "reason": kind}
        )
        return None


async def contacts_for(case: Case, tier: int, new_owner: bool = True) -> EscalationContacts:
    """The roster's contacts for `tier`. With `new_owner`, the escalation owner named must be
    someone other than the current owner; the manager and tier 3 contacts never depend on it."""
    assert case.triage is not None
    return await steps.local(
        case,
        RosterActivities.escalation_contacts,
        EscalationInput(
            workflow_id=case.workflow_id,
            sector=case.intake.sector,
            categories=case.triage.categories,
            tier=tier,
            # Someone new takes it, unless nobody else in the roster can.
            exclude=[case.owner] if case.owner and new_owner else [],
        ),
        f"find tier {tier} escalation contacts",
    )
