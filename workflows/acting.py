"""Who is acting: every staff action, department result and survey answer is put to the
`verify_actors` activity before the rules see it (identity/ checks the signed assertion or the
survey reference, the roster says what the actor may do). The workflow then applies what only
it knows: a decision's assertion is for the draft now under review, and a survey reference is
for the survey now out (the activity has spent each assertion: it counts once, for good). An
action accepted without an assertion (signed actions not required) is documented as
unverified, in the audit trail and in the status."""

from __future__ import annotations

from collections.abc import Sequence
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
    from models.activities import ActorCheck, VerifyActorInput, VerifyActorsInput

from workflows import steps
from workflows.case import Case

UNCHECKED = ActorCheck()  # nobody proven, no roles
NOT_THIS_CALL = "the actor check that came back was not made for this action"


def needs_identity(action: str) -> bool:
    return action in AUTHENTICATED_ACTIONS


async def verify(case: Case, actions: Sequence[tuple[str, Any]]) -> list[ActorCheck]:
    """Each action's check, in one activity for all of them. Checks that do not name this
    call, or do not come one per action, are not this call's: every action is refused."""
    now = workflow.now()
    # Counted, not random: a reset run's random seed changes between its first execution and a
    # replay of it, and the call must read the same in both. The run id keeps runs apart.
    case.checks += 1
    call = f"{workflow.info().run_id}:{case.checks}"
    checks = await steps.local(
        case,
        IdentityActivities.verify_actors,
        VerifyActorsInput(
            actions=[
                VerifyActorInput(
                    action=action,
                    actor=actor_of(action, payload),
                    inquiry_id=case.intake.inquiry_id,
                    workflow_id=case.workflow_id,
                    digest=content_digest(payload),
                    assertion=assertion_of(action, payload),
                    now=now,
                    proposed_owner=(
                        getattr(payload, "owner_id", None) if action == "reassign_owner" else None
                    ),
                )
                for action, payload in actions
            ],
            call=call,
        ),
        "verify who acts",
    )
    if len(checks) != len(actions) or any(check.call != call for check in checks):
        return [ActorCheck(refusal=NOT_THIS_CALL)] * len(actions)
    return checks


def refusal(case: Case, action: str, check: ActorCheck) -> str | None:
    """The reason to refuse the action given its check, as the case stands when it is applied:
    a decision must be for the draft now under review, an answer for the survey now out."""
    if check.refusal is not None:
        return check.refusal
    if check.verified:
        if action == SURVEY_ACTION and check.survey != case.survey_key:
            return "survey reference is for another survey of this inquiry"
        draft = case.draft
        if action == "compliance_decision" and (
            draft is None or check.draft_version != draft.version
        ):
            return "assertion was signed for another draft version"
    return None


def checked(case: Case, check: ActorCheck) -> None:
    """What a check made by the worker says of its mode: once signed actions are required,
    approvals accepted unsigned before no longer count towards a release (checkpoint.approvals).
    A check the workflow made itself says nothing of the mode, and changes nothing."""
    if check.signed_required is not None:
        case.signed_required = check.signed_required


def accepted(case: Case, action: str, payload: Any, check: ActorCheck, now: datetime) -> None:
    """An action passed the rules: unless it was proven, it is documented as unverified (a
    decision records that itself, in its review)."""
    if not check.verified:
        case.unverified_action(action, actor_of(action, payload), now)
