"""The case file: everything the workflow knows about one inquiry, and how it may change.

Pure and deterministic (time is passed in), so the rules are unit-testable without Temporal and
replay the same. Every change is written down as an audit event in `pending`; the workflow
hands those to the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.activities import AuditEvent, SurveyAnswer, TriageResult
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
from workflows.drafting import check_draft
from workflows.policies import SYSTEM
from workflows.requests import Request
from workflows.sla import Sla
from workflows.timeline import entry as timeline_entry


class Queued(BaseModel):
    """An action decoded on arrival and waiting its turn (workflows/inbox.py): its payload, or
    why it could not be decoded."""

    ticket: int
    name: str
    payload: dict[str, Any] | None = None
    malformed: str | None = None


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
KEPT = 500  # of the timeline, refusals and unverified actions, for the status query


class Recovery(BaseModel):
    """The service recovery step under way: who has heard of the scores, and whether a tier 3
    step past its deadline has been put to people to decide."""

    told: list[str] = Field(default_factory=list)
    escalated: bool = False


class Case(BaseModel):
    """The case file. Everything but the fields marked `exclude` is carried across
    continue-as-new (workflows/continuation.py): a run may start from it mid-way."""

    # A field a later release drops is ignored in a case carried from an earlier one.
    model_config = ConfigDict(extra="ignore")

    intake: InquiryIntake
    workflow_id: str
    run_key: str
    stage: Stage = Stage.RECEIVED
    stage_since: dict[Stage, datetime] = Field(default_factory=dict)
    triage: TriageResult | None = None
    tier: int | None = None  # the triaged tier, raised by escalations
    policy: ResolvedPolicy | None = None
    owner_history: list[OwnerAssignment] = Field(default_factory=list)
    departments: dict[Department, DepartmentState] = Field(default_factory=dict)
    drafts: list[Draft] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)
    # The newest KEPT refusals and unverified actions; the audit trail keeps them all.
    refused: list[RefusedSignal] = Field(default_factory=list)
    refused_omitted: int = 0
    unverified: list[UnverifiedAction] = Field(default_factory=list)
    unverified_omitted: int = 0
    # Recorded, not yet written to the store (workflows/documentation.py).
    pending: list[AuditEvent] = Field(default_factory=list)
    # The newest KEPT events in words; the audit trail keeps them all.
    timeline: list[TimelineEntry] = Field(default_factory=list)
    timeline_omitted: int = 0
    seq: int = 0
    notes: int = 0
    sentiment_notes: int = 0  # of `notes`, how the customer feels: never released by policy
    signed_required: bool = False  # as the last actor check said (workflows/acting.py)
    checks: int = 0  # verify_actors calls made, naming each call (workflows/acting.py)
    owner_notices: int = 0
    withdrawn: bool = False
    resolution_ref: str | None = None
    release_decision: ReleaseDecision | None = None
    sla: Sla = Field(default_factory=Sla)
    # Actions that came and wait their turn, and how many have come (workflows/inbox.py).
    inbox: list[Queued] = Field(default_factory=list)
    posted: int = 0
    # What signal handlers and the timekeeper ask of the workflow that needs an activity.
    requests: list[Request] = Field(default_factory=list)
    senior_review: bool = False
    escalations: int = 0
    round: int = 0
    earlier_case_refs: set[str] = Field(default_factory=set)
    reopen_by: str | None = None
    needs_info_rounds: int = 0
    # The draft version the owner was last asked to revise (asked once, however often resumed).
    revision_asked: int | None = None
    survey: SurveyState | None = None
    answer: SurveyResponse | None = None
    # Survey answers for the store, written with the next batch of the audit trail.
    answers_to_store: list[SurveyAnswer] = Field(default_factory=list)
    recovery: Recovery = Field(default_factory=Recovery)
    # Of this run only: whether a request, or a batch of the audit trail, is in flight, and
    # whether the run is about to continue as new (no new work is taken up).
    serving: Request | None = Field(default=None, exclude=True)
    writing: bool = Field(default=False, exclude=True)
    continuing: bool = Field(default=False, exclude=True)
    # Of this run only: the lifecycle waits on people or time (a rest, a held step's pause), and
    # whether work of its own is still in flight meanwhile (departments being called). Operators
    # are shown the stage at every rest; what has been recorded is written, in one batch, once
    # the rest is quiet (workflows/documentation.py).
    idle: bool = Field(default=False, exclude=True)
    in_flight: Callable[[], bool] = Field(default=lambda: False, exclude=True)

    # --- writing it down -----------------------------------------------------------------

    @property
    def quiet(self) -> bool:
        """The lifecycle rests with nothing of its own in flight."""
        return self.idle and not self.in_flight()

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
        # Bounded: every status query carries the timeline, and an inquiry may live long.
        self.timeline_omitted += _keep_newest(self.timeline)
        return event

    def move_to(self, stage: Stage, now: datetime, actor: str = SYSTEM, **detail: Any) -> None:
        previous, self.stage = self.stage, stage
        self.stage_since[stage] = now
        self.record(
            now, actor, "stage_changed", {"from": previous.value, "to": stage.value} | detail
        )

    def refuse(self, signal: str, reason: str, now: datetime, actor: str | None = None) -> None:
        self.refused.append(RefusedSignal(signal=signal, reason=reason, at=now))
        self.refused_omitted += _keep_newest(self.refused)
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

    def unverified_action(self, signal: str, actor: str, now: datetime) -> None:
        self.unverified.append(UnverifiedAction(signal=signal, actor=actor, at=now))
        self.unverified_omitted += _keep_newest(self.unverified)
        self.record(now, actor, "action_unverified", {"signal": signal})

    # --- what the workflow asks ------------------------------------------------------------

    @property
    def closed_at(self) -> datetime | None:
        ended = [self.stage_since[s] for s in TERMINAL if s in self.stage_since]
        return ended[0] if ended else None

    @property
    def owner(self) -> str | None:
        return self.owner_history[-1].owner_id if self.owner_history else None

    @property
    def escalating(self) -> bool:
        """An escalation waits its turn or is being walked (it may change the owner)."""
        return any(r.kind == "escalate" for r in (*self.requests, self.serving) if r is not None)

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

    @property
    def released_by_policy(self) -> bool:
        return self.release_decision is not None and self.release_decision.released

    def deadlines(self, now: datetime) -> list[Deadline]:
        if self.policy is None or self.tier is None:
            return []
        return self.sla.deadlines(now, self.policy)


def _keep_newest(entries: list[Any]) -> int:
    """Drop the oldest entries beyond KEPT; how many were dropped."""
    dropped = max(0, len(entries) - KEPT)
    del entries[:dropped]
    return dropped
