"""The compliance checkpoint: a draft is composed, checked automatically, and held until the
required reviewers approve it (or policy releases a routine one: workflows/release.py). A failed
check or a rejection sends it back to the owner, who revises it."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contract import Stage
    from models.status import ReleaseDecision, Review

from workflows import continuation, outbox, release
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
        decided = verdict(case, draft.version)
        if not draft.checks_passed:
            await back_to_owner(case, draft.version, "the draft failed automated checks")
        elif decided == "rejected":
            await back_to_owner(case, draft.version, "a reviewer sent the draft back")
        elif decided == "approved":
            case.stop_clock("compliance", workflow.now())
            return
        elif decide_release(case, workflow.now()).released:
            return
        else:
            await_compliance(case)
            await continuation.rest(
                case,
                lambda v=draft.version: verdict(case, v) is not None,  # type: ignore[misc]
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


# --- where the checkpoint stands: pure, from the case ------------------------------------------


def decisions(case: Case, version: int, decision: str) -> list[Review]:
    return [r for r in case.reviews if r.draft_version == version and r.decision == decision]


def approvals(case: Case, version: int) -> list[Review]:
    """The approvals of a draft that count: while signed actions are required, only signed ones
    (one accepted unsigned before does not); and never one by someone who has owned the inquiry
    (a reviewer who approved and was then made its owner no longer counts as a second pair of
    eyes)."""
    owners = {a.owner_id for a in case.owner_history}
    return [
        r
        for r in decisions(case, version, "approve")
        if (r.verified or not case.signed_required) and r.reviewer_id not in owners
    ]


def approvals_required(case: Case) -> int:
    """Distinct reviewers who must approve, by tier (four eyes at tier 3 by default)."""
    tier = str(case.tier or 3)
    return case.policy.approvals_required.get(tier, 1) if case.policy else 1  # type: ignore[call-overload]


def verdict(case: Case, version: int) -> str | None:
    """Where the checkpoint stands for a draft: revised, rejected, approved, or still open."""
    if case.draft is None or case.draft.version != version:
        return "revised"
    if decisions(case, version, "reject"):
        return "rejected"
    if len(approvals(case, version)) >= approvals_required(case):
        return "approved"
    return None


def decide_release(case: Case, now: datetime) -> ReleaseDecision:
    """Release by policy or not, for the current draft: decided once per draft, documented
    either way."""
    assert case.draft is not None and case.triage is not None and case.policy is not None
    draft = case.draft
    decided = case.release_decision
    if decided is not None and decided.draft_version == draft.version:
        return decided
    decision = release.decide(
        case.policy.release_by_policy,
        case.intake.sector,
        case.triage,
        case.tier or 3,
        draft,
        sentiment_notes=case.sentiment_notes,
        departments=case.departments,
        reopened=case.round > 0,
    )
    case.release_decision = decision
    if not decision.released:
        detail = {"draft_version": draft.version, "reasons": decision.reasons}
        case.record(now, SYSTEM, "release_by_policy_declined", detail)
        return decision
    note = "; ".join(decision.reasons)
    case.review(
        Review(
            reviewer_id=SYSTEM,
            decision="policy_release",
            note=note,
            draft_version=draft.version,
            at=now,
        )
    )
    return decision
