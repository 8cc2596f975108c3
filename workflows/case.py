"""The case file: everything the workflow knows about one inquiry, and how it may change.

Pure and deterministic (time is passed in), so the rules are unit-testable without Temporal and
replay the same. Every change is written down as an audit event in `pending`; the workflow
hands those to the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from models.activities import AuditEvent, Reviewer, TriageResult
from models.contract import Department, InquiryIntake, Stage, SurveyResponse
from models.policy import ClockName, ResolvedPolicy
from models.status import (
    Deadline,
    DepartmentState,
    Draft,
    OwnerAssignment,
    RefusedSignal,
    ReleaseDecision,
    Review,
    SurveyState,
    TimelineEntry,
    UnverifiedAction,
)
from workflows import release
from workflows.drafting import check_draft
from workflows.policies import SYSTEM
from workflows.sla import Sla
from workflows.timeline import entry as timeline_entry


class Request(NamedTuple):
    """Something a signal handler or the timekeeper asks of the workflow that needs an activity:
    `kind` (escalate, notify, warn, progress, reassign), who asked, a text (a reason, a notice),
    and for a reassignment the staff id asked for."""

    kind: str
    actor: str
    text: str
    target: str = ""


OPEN_FOR_WITHDRAWAL = {
    Stage.RECEIVED,
    Stage.TRIAGED,
    Stage.ROUTING,
    Stage.DRAFTING,
    Stage.AWAITING_COMPLIANCE,
    Stage.FOLLOW_UP,
}
TERMINAL = {Stage.CLOSED, Stage.WITHDRAWN}
SETTLED = {"completed", "failed", "needs_info", "overdue"}
TIMELINE_KEPT = 500


class Case:
    def __init__(self, intake: InquiryIntake, workflow_id: str, run_key: str) -> None:
        self.intake = intake
        self.workflow_id = workflow_id
        self.run_key = run_key
        self.stage = Stage.RECEIVED
        self.stage_since: dict[Stage, datetime] = {}
        self.triage: TriageResult | None = None
        self.tier: int | None = None
        self.policy: ResolvedPolicy | None = None
        self.owner_history: list[OwnerAssignment] = []
        self.departments: dict[Department, DepartmentState] = {}
        self.drafts: list[Draft] = []
        self.reviews: list[Review] = []
        self.reviewers: dict[str, Reviewer] = {}
        self.refused: list[RefusedSignal] = []
        self.unverified: list[UnverifiedAction] = []
        self.pending: list[AuditEvent] = []
        # The newest TIMELINE_KEPT events in words; the audit trail keeps them all.
        self.timeline: list[TimelineEntry] = []
        self.timeline_omitted = 0
        self.seq = 0
        self.notes = 0
        self.owner_notices = 0
        self.withdrawn = False
        self.resolution_ref: str | None = None
        self.release_decision: ReleaseDecision | None = None
        self.closed_at: datetime | None = None
        self.sla = Sla()
        # What signal handlers and the timekeeper ask of the workflow that needs an activity.
        self.requests: list[Request] = []
        self.serving = False  # the attendant is walking one of those requests
        self.senior_review = False
        self.escalations = 0
        self.round = 0
        self.earlier_case_refs: set[str] = set()
        self.reopen_by: str | None = None
        self.needs_info_rounds = 0
        self.survey: SurveyState | None = None
        self.answer: SurveyResponse | None = None

    # --- writing it down -----------------------------------------------------------------

    def record(
        self, now: datetime, actor: str, action: str, detail: dict[str, Any] | None = None
    ) -> AuditEvent:
        self.seq += 1
        event = AuditEvent(
            event_key=f"{self.workflow_id}:{self.run_key}:{self.seq:06d}",
            inquiry_id=self.intake.inquiry_id,
            workflow_id=self.workflow_id,
            at=now,
            actor=actor,
            action=action,
            stage=self.stage,
            detail=detail or {},
        )
        self.pending.append(event)
        self.timeline.append(timeline_entry(event, self.seq))
        if len(self.timeline) > TIMELINE_KEPT:
            # Bounded: every status query carries the timeline, and an inquiry may live long.
            del self.timeline[0]
            self.timeline_omitted += 1
        return event

    def move_to(self, stage: Stage, now: datetime, actor: str = SYSTEM, **detail: Any) -> None:
        previous, self.stage = self.stage, stage
        self.stage_since[stage] = now
        if stage in TERMINAL:
            self.closed_at = now
        self.record(
            now, actor, "stage_changed", {"from": previous.value, "to": stage.value} | detail
        )

    def refuse(self, signal: str, reason: str, now: datetime, actor: str | None = None) -> None:
        self.refused.append(RefusedSignal(signal=signal, reason=reason, at=now))
        self.record(now, actor or "unknown", "signal_refused", {"signal": signal, "reason": reason})

    # --- facts the workflow steps write ----------------------------------------------------

    def triaged(self, result: TriageResult, policy: ResolvedPolicy, now: datetime) -> None:
        self.triage, self.policy, self.tier = result, policy, result.tier
        self.departments = {d: DepartmentState() for d in result.categories}
        self.move_to(
            Stage.TRIAGED,
            now,
            tier=result.tier,
            urgency=result.urgency.value,
            categories=[c.value for c in result.categories],
            compliance_flags=[f.value for f in result.compliance_flags],
            rules_fired=[hit.rule_id for hit in result.rules_fired],
        )

    def assign(self, owner_id: str, team: str | None, reason: str, by: str, now: datetime) -> None:
        entry = OwnerAssignment(owner_id=owner_id, team=team, by=by, reason=reason, assigned_at=now)
        self.owner_history.append(entry)
        self.record(now, by, "owner_assigned", entry.model_dump(mode="json"))

    def department_update(
        self, department: Department, state: DepartmentState, actor: str, now: datetime
    ) -> None:
        current = self.departments[department]
        if current.status in SETTLED and state.status == "accepted":
            return  # the result signal overtook the activity's own answer
        self.departments[department] = state.model_copy(update={"updated_at": now})
        self.record(
            now,
            actor,
            "department_" + state.status,
            {"department": department.value, "case_ref": state.case_ref, "detail": state.detail},
        )

    def add_draft(self, text: str, author: str, now: datetime) -> Draft:
        failures = check_draft(text, self.departments, self.flags)
        draft = Draft(
            version=len(self.drafts) + 1,
            author_id=author,
            text=text,
            created_at=now,
            checks_passed=not failures,
            check_failures=failures,
        )
        self.drafts.append(draft)
        self.record(
            now,
            author,
            "draft_written",
            {"version": draft.version, "checks_passed": draft.checks_passed, "failures": failures},
        )
        return draft

    def review(self, review: Review) -> None:
        self.reviews.append(review)
        self.record(
            review.at,
            review.reviewer_id,
            "compliance_" + review.decision,
            {"draft_version": review.draft_version, "note": review.note},
        )

    # --- what the workflow asks ------------------------------------------------------------

    @property
    def owner(self) -> str | None:
        return self.owner_history[-1].owner_id if self.owner_history else None

    @property
    def survey_key(self) -> str:
        """Which survey of the inquiry is out: a reopened inquiry sends a new one."""
        return f"{self.workflow_id}:{self.run_key}:survey:{self.round}"

    @property
    def team(self) -> str | None:
        return self.owner_history[-1].team if self.owner_history else None

    @property
    def flags(self) -> list[Any]:
        return list(self.triage.compliance_flags) if self.triage else []

    @property
    def draft(self) -> Draft | None:
        return self.drafts[-1] if self.drafts else None

    def routing_settled(self) -> bool:
        # A department's `needs_info` is waited out: the customer owes an answer.
        settled = SETTLED - {"needs_info"}
        return all(state.status in settled for state in self.departments.values())

    def waiting_on_customer(self) -> bool:
        return any(state.status == "needs_info" for state in self.departments.values())

    @property
    def recovery_open(self) -> bool:
        s = self.survey
        return bool(s and s.recovery_due_at and not s.recovery_closed_by)

    def decisions(self, version: int, decision: str) -> list[Review]:
        return [r for r in self.reviews if r.draft_version == version and r.decision == decision]

    def verdict(self, version: int) -> str | None:
        """Where the checkpoint stands for a draft: revised, rejected, approved, or still open."""
        if self.draft is None or self.draft.version != version:
            return "revised"
        if self.decisions(version, "reject"):
            return "rejected"
        if len(self.decisions(version, "approve")) >= self.approvals_required():
            return "approved"
        return None

    def reopen(self, now: datetime) -> None:
        """Back to routing with a new round: new department cases, a new resolution clock."""
        assert self.policy is not None and self.triage is not None
        self.round += 1
        self.earlier_case_refs |= {s.case_ref for s in self.departments.values() if s.case_ref}
        self.departments = {d: DepartmentState() for d in self.triage.categories}
        self.resolution_ref, self.release_decision = None, None
        self.record(now, self.reopen_by or SYSTEM, "reopened", {"round": self.round})
        budget = self.policy.resolution_sla[str(self.tier)]  # type: ignore[index]
        self.sla.start("resolution", budget, now, self.policy)

    def stop_clock(self, name: ClockName, now: datetime) -> None:
        if self.policy is not None:
            self.sla.stop(name, now, self.policy)

    def approvals_required(self) -> int:
        """Distinct reviewers who must approve, by tier (four eyes at tier 3 by default)."""
        tier = str(self.tier or 3)
        return self.policy.approvals_required.get(tier, 1) if self.policy else 1  # type: ignore[call-overload]

    @property
    def released_by_policy(self) -> bool:
        return self.release_decision is not None and self.release_decision.released

    def decide_release(self, now: datetime) -> ReleaseDecision:
        """Release by policy or not, for the current draft: decided once, documented either way."""
        assert self.draft is not None and self.triage is not None and self.policy is not None
        draft = self.draft
        decision = release.decide(
            self.policy.release_by_policy, self.intake.sector, self.triage, self.tier or 3, draft
        )
        self.release_decision = decision
        if not decision.released:
            detail = {"draft_version": draft.version, "reasons": decision.reasons}
            self.record(now, SYSTEM, "release_by_policy_declined", detail)
            return decision
        note = "; ".join(decision.reasons)
        self.review(
            Review(
                reviewer_id=SYSTEM,
                decision="policy_release",
                note=note,
                draft_version=draft.version,
                at=now,
            )
        )
        return decision

    def deadlines(self, now: datetime) -> list[Deadline]:
        if self.policy is None or self.tier is None:
            return []
        return self.sla.deadlines(now, self.policy)
