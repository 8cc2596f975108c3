"""What each contract signal may do to a case, and when it is refused.

Each rule applies a valid signal to the case and returns None, or returns the reason it was
refused and changes nothing. Reasons name the rule, never the payload's content. `check` is
the actor's check (workflows/acting.py): whether they are proven, and what the roster lets them do.

Separation of duties: nobody who owned the inquiry or wrote a version of its draft reviews it;
four eyes are distinct people (each reviewer counts once per draft); only an operator or the
manager of the inquiry's team reassigns it; only staff on the roster act on it at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from models.activities import ActorCheck
from models.contract import (
    AddNote,
    CloseRecovery,
    ComplianceDecision,
    ComplianceFlag,
    DepartmentResult,
    Escalate,
    ReassignOwner,
    Reopen,
    ReviseResponse,
    Stage,
    SurveyResponse,
    Withdraw,
)
from models.policy import ClockName
from models.status import DepartmentState, Review
from workflows.case import OPEN_FOR_WITHDRAWAL, SETTLED, TERMINAL, Case
from workflows.requests import Escalation, OwnerNotice

REVIEW_ROLES = {"compliance_reviewer", "senior_reviewer"}
LEGAL_ROLE = "legal_reviewer"
SENIOR_ROLE = "senior_reviewer"
LEGAL_MATTERS = {ComplianceFlag.PRIVILEGE, ComplianceFlag.LITIGATION}
DRAFT_STAGES = {Stage.DRAFTING, Stage.AWAITING_COMPLIANCE}
CUSTOMER_PAUSES: tuple[ClockName, ...] = ("resolution", "department")
ON_ROSTER = "only staff on the roster may take this action"
NOT_AN_OWNER = "owner_id is not on the roster as staff who own inquiries"


def compliance_decision(
    case: Case, signal: ComplianceDecision, check: ActorCheck, now: datetime
) -> str | None:
    draft = case.draft
    if case.stage != Stage.AWAITING_COMPLIANCE or draft is None:
        return "no draft awaits a compliance decision"
    if signal.draft_version is not None and signal.draft_version != draft.version:
        return "decision was for another draft version"
    if signal.reviewer_id == case.owner:
        return "the owner may not review their own draft"
    if signal.reviewer_id in {a.owner_id for a in case.owner_history}:
        return "a former owner of the inquiry may not review its draft"
    if signal.reviewer_id in {d.author_id for d in case.drafts}:
        return "an author of the draft may not review it"
    # The roster as it stands when the decision comes: a reviewer removed since decides nothing.
    authorised = REVIEW_ROLES & set(check.roles.reviewer_roles)
    if not authorised or case.intake.sector not in check.roles.review_sectors:
        return "reviewer is not authorised to review this inquiry"
    for role in roles_needed(case):
        if role in check.roles.reviewer_roles:
            continue
        if role == SENIOR_ROLE:
            return f"the review SLA was breached: it needs a reviewer with the {role} role"
        return f"a privileged or litigation matter needs a reviewer with the {role} role"
    if any(
        r.reviewer_id == signal.reviewer_id
        for r in case.reviews
        if r.draft_version == draft.version
    ):
        return "reviewer has already decided on this draft"
    case.review(
        Review(
            reviewer_id=signal.reviewer_id,
            decision=signal.decision,
            note=signal.note,
            draft_version=draft.version,
            at=now,
            verified=check.verified,
        )
    )
    return None


def roles_needed(case: Case) -> list[str]:
    """The roles a reviewer must hold for this draft, beyond being a reviewer at all: a
    privileged or litigation matter needs a legal reviewer, and after a breached review the
    senior pool decides (a privileged matter then needs a senior legal reviewer)."""
    needed = [LEGAL_ROLE] if LEGAL_MATTERS & set(case.flags) else []
    return needed + [SENIOR_ROLE] if case.senior_review else needed


def department_result(
    case: Case, signal: DepartmentResult, check: ActorCheck, now: datetime
) -> str | None:
    state = case.departments.get(signal.department)
    if state is None:
        return "inquiry was not routed to this department"
    if case.stage != Stage.ROUTING:
        return "inquiry is not waiting on departments"
    if signal.case_ref in case.earlier_case_refs:
        return "case_ref belongs to an earlier round of this inquiry"
    if state.case_ref is not None and state.case_ref != signal.case_ref:
        return "case_ref does not match the case opened with this department"
    if state.status in SETTLED - {"needs_info"}:
        return "department has already reported a final result"
    actor = f"department:{signal.department.value}"
    case.department_update(
        signal.department,
        DepartmentState(
            status=signal.status,
            case_ref=signal.case_ref,
            summary=signal.summary,
            unverified=not check.verified,
        ),
        actor,
        now,
    )
    if case.policy is not None:
        if signal.status == "needs_info":
            if state.status != "needs_info":  # asked again while waiting: told once
                case.needs_info_rounds += 1
                what = f"{signal.department.value} needs more information from the customer"
                case.requests.append(OwnerNotice(actor=actor, text=what))
            # Time spent waiting on the customer does not count against us, when the
            # department itself says so: an unsigned result (anyone's, in development mode)
            # never stops the clocks.
            if check.verified:
                case.sla.pause(CUSTOMER_PAUSES, now, case.policy)
        elif not case.waiting_on_customer():
            case.sla.resume(CUSTOMER_PAUSES, now)
    return None


def revise_response(
    case: Case, signal: ReviseResponse, check: ActorCheck, now: datetime
) -> str | None:
    if case.stage not in DRAFT_STAGES:
        return "no draft is open for revision"
    if signal.author_id != case.owner:
        return "only the owner may revise the draft"
    case.add_draft(signal.text, signal.author_id, now)
    return None


def reassign_owner(
    case: Case, signal: ReassignOwner, check: ActorCheck, now: datetime
) -> str | None:
    if case.stage in TERMINAL or case.owner is None:
        return "inquiry has no owner to reassign"
    if not check.roles.operator and case.team not in check.roles.manages:
        return "only an operator or the manager of the inquiry's team may reassign it"
    if signal.owner_id == case.owner:
        return "inquiry is already owned by that owner"
    if case.escalating:
        # An escalation asked before may change the owner: applied after this, it would undo it.
        return "an escalation of the inquiry is under way; reassign it once that is done"
    # The roster decides who may own an inquiry: verify_actors looked the new owner up with
    # the actor, so an id it does not know never becomes the owner (nor InquiryOwner).
    proposed = check.proposed_owner
    if proposed is None or proposed.staff_id != signal.owner_id or not proposed.found:
        return NOT_AN_OWNER
    case.assign(signal.owner_id, proposed.team, signal.reason, signal.by, now)
    return None


def escalate(case: Case, signal: Escalate, check: ActorCheck, now: datetime) -> str | None:
    if not check.roles.on_roster:
        return ON_ROSTER
    if case.stage in TERMINAL or case.tier is None:
        return "inquiry cannot be escalated at this stage"
    # The escalation path needs the roster and the outbox: the workflow walks it.
    case.requests.append(Escalation(actor=signal.by, reason=signal.reason))
    case.record(now, signal.by, "escalation_requested", {"reason": signal.reason})
    return None


def survey_response(
    case: Case, signal: SurveyResponse, check: ActorCheck, now: datetime
) -> str | None:
    survey = case.survey
    if case.stage != Stage.FOLLOW_UP or survey is None or survey.sent_at is None:
        return "no survey awaits an answer"
    if survey.answered_at is not None:
        return "the survey has already been answered"
    case.answer = signal
    case.survey = survey.model_copy(
        update={"csat": signal.csat, "nps": signal.nps, "ces": signal.ces, "answered_at": now}
    )
    scores = {"csat": signal.csat, "nps": signal.nps, "ces": signal.ces}
    case.record(now, "customer", "survey_answered", scores)
    return None


def reopen(case: Case, signal: Reopen, check: ActorCheck, now: datetime) -> str | None:
    if not check.roles.on_roster:
        return ON_ROSTER
    if case.stage != Stage.FOLLOW_UP:
        return "inquiry can only be reopened during follow-up"
    # Reopening opens new department cases and sends a new resolution.
    if not in_charge(case, signal.by, check):
        return f"only {IN_CHARGE} may reopen it"
    if case.reopen_by is not None:
        return "inquiry is already being reopened"
    case.reopen_by = signal.by
    case.record(now, signal.by, "reopen_requested", {"reason": signal.reason})
    return None


def close_recovery(
    case: Case, signal: CloseRecovery, check: ActorCheck, now: datetime
) -> str | None:
    if not case.recovery_open or case.survey is None:
        return "no service-recovery step is open"
    if signal.by != case.owner:
        return "only the owner may close the service-recovery step"
    case.survey = case.survey.model_copy(update={"recovery_closed_by": signal.by})
    case.record(now, signal.by, "recovery_closed", {"note": signal.note})
    return None


def withdraw(case: Case, signal: Withdraw, check: ActorCheck, now: datetime) -> str | None:
    if not check.roles.on_roster:
        return ON_ROSTER
    if case.stage not in OPEN_FOR_WITHDRAWAL or case.withdrawn:
        return "inquiry can no longer be withdrawn"
    if not in_charge(case, signal.by, check):
        return f"only {IN_CHARGE} may withdraw it"
    case.withdrawn = True
    case.record(now, signal.by, "withdrawal_requested", {"reason": signal.reason})
    return None


def add_note(case: Case, signal: AddNote, check: ActorCheck, now: datetime) -> str | None:
    if not check.roles.on_roster:
        return ON_ROSTER
    case.notes += 1
    if signal.kind == "sentiment":
        case.sentiment_notes += 1
    case.record(now, signal.author_id, "note_added", {"kind": signal.kind, "text": signal.text})
    return None


IN_CHARGE = "the owner, the manager of the inquiry's team or an operator"


def in_charge(case: Case, actor: str, check: ActorCheck) -> bool:
    """Who may change an inquiry's course (end it, reopen it): whoever answers for it."""
    return actor == case.owner or check.roles.operator or case.team in check.roles.manages


def actor_of(payload: Any) -> str | None:
    """Who sent a signal, for the audit row of a refusal."""
    for field in ("reviewer_id", "author_id", "by"):
        value = getattr(payload, field, None)
        if isinstance(value, str):
            return value
    department = getattr(payload, "department", None)
    return f"department:{department.value}" if department is not None else None


RULES: dict[str, Callable[[Case, Any, ActorCheck, datetime], str | None]] = {
    "compliance_decision": compliance_decision,
    "department_result": department_result,
    "revise_response": revise_response,
    "reassign_owner": reassign_owner,
    "escalate": escalate,
    "survey_response": survey_response,
    "reopen": reopen,
    "withdraw": withdraw,
    "add_note": add_note,
    "close_recovery": close_recovery,
}
