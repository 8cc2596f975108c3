"""Who is acting: every staff action, department result and survey answer is put to the
`verify_actor` activity before the rules see it (identity/ checks the signed assertion or the
survey reference, the roster says what the actor may do). The workflow then applies what only
it knows: a decision's assertion is for the draft now under review, and a survey reference is
for the survey now out (the activity has spent each assertion: it counts once, for good). An
action accepted without an assertion (signed actions not required) is documented as
unverified, in the audit trail and in the status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.identity import IdentityActivities
    from identity.assertions import (
        AUTHENTICATED_ACTIONS,
        SURVEY_ACTION,
        actor_of,
        assertion_of,
        content_digest,
    )
    from models.activities import ActorCheck, StaffRoles, VerifyActorInput
    from models.status import UnverifiedAction

from workflows import steps
from workflows.case import Case

NOBODY = StaffRoles()


def needs_identity(action: str) -> bool:
    return action in AUTHENTICATED_ACTIONS


async def identify(case: Case, action: str, payload: Any) -> tuple[ActorCheck, str | None]:
    """The actor's check, and the reason to refuse the action, if any."""
    check = await steps.local(
        case,
        IdentityActivities.verify_actor,
        VerifyActorInput(
            action=action,
            actor=actor_of(action, payload),
            inquiry_id=case.intake.inquiry_id,
            workflow_id=case.workflow_id,
            digest=content_digest(payload),
            assertion=assertion_of(action, payload),
            now=workflow.now(),
        ),
        "verify who acts",
    )
    if check.refusal is not None:
        return check, check.refusal
    if check.verified:
        if action == SURVEY_ACTION and check.survey != case.survey_key:
            return check, "survey reference is for another survey of this inquiry"
        draft = case.draft
        if action == "compliance_decision" and (
            draft is None or check.draft_version != draft.version
        ):
            return check, "assertion was signed for another draft version"
    return check, None


def accepted(case: Case, action: str, payload: Any, check: ActorCheck, now: datetime) -> None:
    """An action passed the rules: unless it was proven, it is documented as unverified."""
    if check.verified:
        return
    actor = actor_of(action, payload)
    case.unverified.append(UnverifiedAction(signal=action, actor=actor, at=now))
    case.record(now, actor, "action_unverified", {"signal": action})
