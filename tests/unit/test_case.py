"""The case file (workflows/case.py) without Temporal: what it writes down, what it decides about
the checkpoint, policy release and deadlines, and what it reports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from models.activities import ActorCheck, Reviewer, StaffRoles, TriageResult
from models.contract import (
    ComplianceDecision,
    ComplianceFlag,
    Department,
    InquiryIntake,
    Sector,
    Stage,
    Urgency,
)
from models.policy import ReleasePolicy, ResolvedPolicy
from models.status import DepartmentState, Review, RuleHit
from tests import support
from workflows import acting, checkpoint, signals, views
from workflows.case import Case
from workflows.drafting import compose_draft

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
OWNER = "owner.olga"
POLICY = ResolvedPolicy(
    survey_delay=timedelta(hours=24),
    survey_reminder=timedelta(hours=72),
    survey_window=timedelta(days=7),
    compliance_sla={"1": timedelta(hours=8), "2": timedelta(hours=4), "3": timedelta(hours=1)},
    department_sla=timedelta(days=2),
    resolution_sla={"1": timedelta(days=5), "2": timedelta(days=3), "3": timedelta(days=1)},
)
REVIEWERS = {
    r.reviewer_id: r
    for r in [
        Reviewer(reviewer_id=OWNER, roles=["compliance_reviewer"]),
        Reviewer(reviewer_id="rev.rita", roles=["compliance_reviewer"]),
        Reviewer(reviewer_id="rev.ravi", roles=["senior_reviewer"]),
        Reviewer(reviewer_id="rev.lena", roles=["compliance_reviewer", "legal_reviewer"]),
        Reviewer(reviewer_id="agent.al", roles=["agent"]),
    ]
}


def make_case(
    tier: int = 2,
    flags: Iterable[str] = ("HIPAA",),
    categories: Iterable[str] = ("billing", "clinical"),
    policy: ResolvedPolicy = POLICY,
    hits: Iterable[RuleHit] = (),
) -> Case:
    """A case triaged and owned, in stage triaged."""
    intake = InquiryIntake.model_validate(
        support.intake("INQ-1", received_at="2026-11-23T09:00:00Z")
    )
    case = Case(intake=intake, workflow_id="inquiry-INQ-1", run_key="run-1")
    result = TriageResult(
        categories=[Department(c) for c in categories],
        compliance_flags=[ComplianceFlag(f) for f in flags],
        urgency=Urgency.NORMAL,
        tier=tier,
        distress=False,
        rules_fired=list(hits),
    )
    case.triaged(result, policy, NOW)
    case.assign(OWNER, "care", "least loaded", "system", NOW)
    return case


def at_checkpoint(case: Case, now: datetime = NOW) -> Case:
    """Routed, every department completed, the composed draft awaiting a decision."""
    case.move_to(Stage.ROUTING, now)
    answered(case, now)
    case.move_to(Stage.DRAFTING, now)
    case.add_draft(compose_draft(case.departments, case.flags), "system", now)
    case.move_to(Stage.AWAITING_COMPLIANCE, now)
    return case


def answered(case: Case, now: datetime = NOW) -> Case:
    """Every department routed to has completed, by its own answer."""
    for department in case.departments:
        done = DepartmentState(status="completed", case_ref="C-1", summary="All is in order.")
        case.department_update(department, done, f"department:{department.value}", now)
    return case


def decide(case: Case, reviewer: str, decision: str, version: int) -> None:
    case.review(Review(reviewer_id=reviewer, decision=decision, draft_version=version, at=NOW))


def test_every_event_has_its_own_key_and_the_stage_it_happened_in() -> None:
    case = at_checkpoint(make_case())

    keys = [e.event_key for e in case.pending]
    assert len(keys) == len(set(keys))
    assert all(k.startswith("inquiry-INQ-1:run-1:") for k in keys)
    assert keys == sorted(keys)
    assert case.pending[-1].stage == Stage.AWAITING_COMPLIANCE
    assert {e.inquiry_id for e in case.pending} == {"INQ-1"}


def test_stage_change_records_from_to_and_who() -> None:
    case = make_case()
    case.move_to(Stage.ROUTING, NOW, actor="lead.lee", departments=["billing"])

    event = case.pending[-1]
    assert (event.action, event.actor) == ("stage_changed", "lead.lee")
    assert event.detail == {"from": "triaged", "to": "routing", "departments": ["billing"]}


def test_only_an_ending_stage_sets_closed_at() -> None:
    case = at_checkpoint(make_case())
    assert case.closed_at is None

    case.move_to(Stage.WITHDRAWN, NOW + timedelta(hours=1))

    assert case.closed_at == NOW + timedelta(hours=1)
    assert views.outcome(case).closed_at == NOW + timedelta(hours=1)


def test_triage_opens_one_pending_department_per_category() -> None:
    case = make_case(categories=("legal", "billing"))

    assert {d: s.status for d, s in case.departments.items()} == {
        Department.LEGAL: "pending",
        Department.BILLING: "pending",
    }
    assert not case.routing_settled()


def test_a_late_accepted_answer_does_not_undo_a_reported_result() -> None:
    case = make_case(categories=("clinical",))
    result = DepartmentState(status="completed", case_ref="CL-1", summary="posted")
    case.department_update(Department.CLINICAL, result, "department:clinical", NOW)
    seq = case.seq

    late = DepartmentState(status="accepted", case_ref="CL-1")
    case.department_update(Department.CLINICAL, late, "department:clinical", NOW)

    assert case.departments[Department.CLINICAL].status == "completed"
    assert case.seq == seq
    assert case.routing_settled()


def test_drafts_count_up_and_carry_their_check_results() -> None:
    case = at_checkpoint(make_case())
    draft = case.add_draft("Your SSN 123-45-6789 is on file.", OWNER, NOW)

    assert (draft.version, draft.author_id, draft.checks_passed) == (2, OWNER, False)
    assert case.pending[-1].detail["failures"] == ["contains a social security number"]
    assert "123-45-6789" not in str(case.pending[-1].detail)


def test_verdict_follows_the_decisions_on_the_current_draft() -> None:
    case = at_checkpoint(make_case())
    assert checkpoint.verdict(case, 1) is None

    decide(case, "rev.rita", "reject", 1)
    assert checkpoint.verdict(case, 1) == "rejected"

    case.add_draft("A revised answer.", OWNER, NOW)
    assert checkpoint.verdict(case, 1) == "revised"
    assert checkpoint.verdict(case, 2) is None

    decide(case, "rev.rita", "approve", 2)
    assert checkpoint.verdict(case, 2) == "approved"


def test_approval_of_an_earlier_draft_does_not_count_for_the_revision() -> None:
    four_eyes = POLICY.model_copy(update={"approvals_required": {"1": 1, "2": 1, "3": 2}})
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",), policy=four_eyes))
    decide(case, "rev.lena", "approve", 1)
    assert checkpoint.verdict(case, 1) is None  # one of two

    case.add_draft("A revised answer.", OWNER, NOW)
    decide(case, "rev.ravi", "approve", 2)

    assert checkpoint.verdict(case, 2) is None
    decide(case, "rev.lena", "approve", 2)
    assert checkpoint.verdict(case, 2) == "approved"


def lena_approves_unsigned(case: Case) -> None:
    """rev.lena approves while the worker still accepts unsigned actions."""
    roles = StaffRoles(
        on_roster=True,
        reviewer_roles=list(REVIEWERS["rev.lena"].roles),
        review_sectors=[case.intake.sector],
    )
    unsigned = ActorCheck(verified=False, signed_required=False, roles=roles)
    acting.checked(case, unsigned)
    lena = ComplianceDecision(reviewer_id="rev.lena", decision="approve")
    assert signals.compliance_decision(case, lena, unsigned, NOW) is None


def test_an_approval_accepted_unsigned_stops_counting_once_signed_actions_are_required() -> None:
    """A reviewer approved while the worker still accepted unsigned actions; then the worker
    requires signed ones. Four eyes must now be two signed approvals."""
    four_eyes = POLICY.model_copy(update={"approvals_required": {"1": 1, "2": 1, "3": 2}})
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",), policy=four_eyes))
    lena_approves_unsigned(case)
    assert case.reviews[-1].verified is False

    acting.checked(case, ActorCheck(verified=True, signed_required=True))
    decide(case, "rev.sofia", "approve", 1)
    assert checkpoint.verdict(case, 1) is None  # lena's unsigned approval no longer counts

    decide(case, "rev.ravi", "approve", 1)
    assert checkpoint.verdict(case, 1) == "approved"


def test_an_approval_by_a_reviewer_made_owner_afterwards_no_longer_counts() -> None:
    """Four eyes: lena approves, then is reassigned the inquiry as its owner. The owner is not
    a second pair of eyes: the draft needs two approvals by people who never owned it."""
    four_eyes = POLICY.model_copy(update={"approvals_required": {"1": 1, "2": 1, "3": 2}})
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",), policy=four_eyes))
    decide(case, "rev.lena", "approve", 1)
    case.assign("rev.lena", "care", "cover", "mgr.mona", NOW)

    decide(case, "rev.ravi", "approve", 1)
    assert checkpoint.verdict(case, 1) is None
    decide(case, "rev.sofia", "approve", 1)
    assert checkpoint.verdict(case, 1) == "approved"


def test_a_check_the_workflow_made_itself_does_not_make_unsigned_approvals_count_again() -> None:
    """Signed actions are required; then one verify call fails (or comes back for another
    call) and the workflow refuses its actions with a check of its own. That check knows
    nothing of the worker's mode: the unsigned approval must still not count."""
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",)))
    lena_approves_unsigned(case)
    acting.checked(case, ActorCheck(verified=True, signed_required=True))
    assert checkpoint.verdict(case, 1) is None

    for refused in (ActorCheck(refusal="the actor could not be checked (X)"), acting.UNCHECKED):
        acting.checked(case, refused)
        assert checkpoint.verdict(case, 1) is None


def test_a_policy_recorded_before_four_eyes_asks_one_approval_at_every_tier() -> None:
    # POLICY has no approvals_required, as the policy of a run from before the field existed.
    case = at_checkpoint(make_case(tier=3, flags=("LITIGATION",)))

    decide(case, "rev.lena", "approve", 1)

    assert checkpoint.approvals_required(case) == 1
    assert checkpoint.verdict(case, 1) == "approved"


ROUTINE_HIT = RuleHit(
    rule_id="routine.commerce", description="order", effect="routine matter", kind="routine"
)
RELEASING = POLICY.model_copy(
    update={
        "release_by_policy": ReleasePolicy(
            enabled=True, sectors=[Sector.HEALTHCARE], categories=list(Department)
        )
    }
)


def test_policy_release_is_recorded_as_a_review_and_reported_in_the_outcome() -> None:
    case = answered(make_case(tier=1, flags=(), policy=RELEASING, hits=[ROUTINE_HIT]))
    case.add_draft("Thank you; your refund is on its way.", "system", NOW)

    decision = checkpoint.decide_release(case, NOW)

    assert decision.released
    [review] = case.reviews
    assert (review.reviewer_id, review.decision, review.draft_version) == (
        "system",
        "policy_release",
        1,
    )
    assert "routine: routine.commerce" in (review.note or "")
    assert case.pending[-1].action == "compliance_policy_release"
    assert (views.outcome(case).release, views.outcome(case).approved_by) == ("policy", [])
    assert views.status(case, NOW).release_by_policy == decision


def test_a_declined_release_is_documented_with_its_reasons_and_needs_a_reviewer() -> None:
    case = answered(make_case(tier=1, flags=(), policy=RELEASING, hits=[]))
    case.add_draft("Thank you; your refund is on its way.", "system", NOW)

    decision = checkpoint.decide_release(case, NOW)

    assert not decision.released
    assert case.reviews == []
    event = case.pending[-1]
    assert event.action == "release_by_policy_declined"
    assert event.detail["reasons"] == ["no rule recognised a routine matter"]
    assert views.outcome(case).release is None


def test_outcome_names_the_approvers_and_communication_time() -> None:
    case = at_checkpoint(make_case())
    decide(case, "rev.rita", "approve", 1)
    case.move_to(Stage.COMMUNICATING, NOW + timedelta(minutes=5))
    case.resolution_ref = "inquiry-INQ-1:run-1:resolution:v1"
    case.move_to(Stage.CLOSED, NOW + timedelta(minutes=6))

    outcome = views.outcome(case)

    assert (outcome.release, outcome.approved_by) == ("reviewer", ["rev.rita"])
    assert outcome.communicated_at == NOW + timedelta(minutes=5)
    assert outcome.triaged_at == NOW
    assert outcome.resolution_ref == "inquiry-INQ-1:run-1:resolution:v1"


def test_status_reports_the_refusals_and_the_current_draft() -> None:
    case = at_checkpoint(make_case())
    case.refuse("reopen", "inquiry can only be reopened during follow-up", NOW, "agent.al")

    status = views.status(case, NOW)

    assert status.stage == Stage.AWAITING_COMPLIANCE
    assert status.owner == OWNER
    assert status.draft is not None and status.draft.version == 1
    assert [(r.signal, r.reason) for r in status.refused_signals] == [
        ("reopen", "inquiry can only be reopened during follow-up")
    ]
    assert case.pending[-1].actor == "agent.al"
    assert views.snapshot(case, NOW).version == case.seq


def test_the_timeline_keeps_the_newest_events_and_counts_the_rest() -> None:
    case = make_case()
    recorded = case.seq
    for n in range(600):
        case.record(NOW, "agent.al", "note_added", {"kind": "note", "text": f"call {n}"})

    shown = views.status(case, NOW)
    assert len(shown.timeline) == 500
    assert shown.timeline_omitted == recorded + 600 - 500
    assert shown.timeline[-1].seq == case.seq
    assert [e.seq for e in shown.timeline] == list(range(case.seq - 499, case.seq + 1))
