"""The compliance checkpoint: a draft is composed, checked automatically, and held until the
required reviewers approve it (or policy releases a routine one: workflows/release.py). A failed
check or a rejection sends it back to the owner, who revises it."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contract import Stage

from workflows import continuation, outbox
from workflows.case import Case
from workflows.drafting import compose_draft
from workflows.policies import SYSTEM


async def resolve(case: Case) -> None:
    """Each turn looks at the current draft and does what is left for it, so a continued run
    re-enters here at the wait it rested in."""
    if case.stage not in (Stage.DRAFTING, Stage.AWAITING_COMPLIANCE):
        case.move_to(Stage.DRAFTING, workflow.now())
        case.add_draft(compose_draft(case.departments, case.flags), SYSTEM, workflow.now())
    while True:
        continuation.unless_withdrawn(case)
        draft = case.draft
        assert draft is not None and case.policy is not None
        verdict = case.verdict(draft.version)
        if not draft.checks_passed:
            await back_to_owner(case, draft.version, "the draft failed automated checks")
        elif verdict == "rejected":
            await back_to_owner(case, draft.version, "a reviewer sent the draft back")
        elif verdict == "approved":
            case.stop_clock("compliance", workflow.now())
            return
        elif case.decide_release(workflow.now()).released:
            return
        else:
            await_compliance(case)
            await continuation.rest(
                case,
                lambda v=draft.version: case.verdict(v) is not None,  # type: ignore[misc]
            )


def await_compliance(case: Case) -> None:
    if case.stage == Stage.AWAITING_COMPLIANCE:
        return
    case.move_to(Stage.AWAITING_COMPLIANCE, workflow.now())
    if case.policy is not None:
        budget = case.policy.compliance_sla[str(case.tier)]  # type: ignore[index]
        case.sla.start("compliance", budget, workflow.now(), case.policy)


async def back_to_owner(case: Case, version: int, why: str) -> None:
    """Drafting again: the owner is told why and the workflow waits for a revision."""
    if case.stage != Stage.DRAFTING:
        case.move_to(Stage.DRAFTING, workflow.now(), reason=why)
    case.stop_clock("compliance", workflow.now())
    if case.revision_asked != version:
        await outbox.to_owner(case, f"{why}; please revise the response")
        case.revision_asked = version
    await continuation.rest(case, lambda: case.draft is not None and case.draft.version > version)
