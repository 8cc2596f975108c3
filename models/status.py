"""The public wire contract, what we answer (shared/CONTRACT.md): the `status` query, the
outcome of a run, and the verdict of an action sent as an Update. What callers send (intake and
actions) and the shared vocabularies are in `models.contract`.

Outbound models: readers may ignore fields they do not know; fields are only ever added.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from models.contract import (
    Channel,
    ComplianceFlag,
    Department,
    Outbound,
    Sector,
    Stage,
    Urgency,
)


class RuleHit(Outbound):
    """One triage rule that fired: what it decided and the terms (`<list>:<term>`) that matched.
    `kind`: `routine` is evidence of a known-answer matter, `signal` anything sensitive."""

    rule_id: str
    description: str
    effect: str
    kind: Literal["routine", "signal", "neutral"] = "neutral"
    terms: list[str] = Field(default_factory=list)


class ReleaseDecision(Outbound):
    """Whether a draft went to the customer without a reviewer, and why (or why not)."""

    draft_version: int
    released: bool
    reasons: list[str]


class OwnerAssignment(Outbound):
    owner_id: str
    team: str | None = None
    by: str
    reason: str
    assigned_at: datetime | None = None


class DepartmentState(Outbound):
    status: Literal["pending", "accepted", "completed", "failed", "needs_info", "overdue"] = (
        "pending"
    )
    case_ref: str | None = None
    summary: str | None = None
    detail: str | None = None
    updated_at: datetime | None = None
    # Taken from a department_result whose sender was not proven (signed actions not required):
    # never released to the customer without a reviewer (workflows/release.py).
    unverified: bool = False


class Draft(Outbound):
    version: int
    author_id: str
    text: str
    created_at: datetime
    checks_passed: bool
    check_failures: list[str] = Field(default_factory=list)


class Review(Outbound):
    reviewer_id: str
    decision: Literal["approve", "reject", "policy_release"]
    note: str | None = None
    draft_version: int
    at: datetime
    # False for a decision accepted without a signed assertion (signed actions not required).
    verified: bool = True


class Deadline(Outbound):
    name: str
    due_at: datetime | None
    state: Literal["running", "paused", "stopped", "breached"] = "running"
    # The share used as of `as_of`: the workflow's last step (a query cannot read the clock
    # deterministically). The timekeeper steps at every warning threshold and breach.
    elapsed_share: float | None = None
    as_of: datetime | None = None
    business_time: bool = False


class ActionVerdict(Outbound):
    """What an Update of a staff or customer action answers: whether it counted, why not (rule
    or field names, never the values sent), and the stage after it."""

    accepted: bool
    reason: str | None = None
    stage: Stage | None = None


class RefusedSignal(Outbound):
    signal: str
    reason: str
    at: datetime


class UnverifiedAction(Outbound):
    """An action accepted without a signed assertion (signed actions not required)."""

    signal: str
    actor: str
    at: datetime


class TimelineEntry(Outbound):
    """One audit event in words; `seq` is the event's number in the audit trail."""

    seq: int
    at: datetime
    actor: str
    action: str
    text: str


class SurveyState(Outbound):
    sent_at: datetime | None = None
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    answered_at: datetime | None = None
    survey_ref: str | None = None
    reminded_at: datetime | None = None
    closes_at: datetime | None = None
    alerts: list[str] = Field(default_factory=list)
    recovery_due_at: datetime | None = None
    recovery_closed_by: str | None = None


class InquiryStatus(Outbound):
    inquiry_id: str
    sector: Sector
    channel: Channel
    stage: Stage
    tier: int | None = None
    urgency: Urgency | None = None
    categories: list[Department] = Field(default_factory=list)
    compliance_flags: list[ComplianceFlag] = Field(default_factory=list)
    distress: bool = False
    rules_fired: list[RuleHit] = Field(default_factory=list)
    owner: str | None = None
    owner_history: list[OwnerAssignment] = Field(default_factory=list)
    departments: dict[Department, DepartmentState] = Field(default_factory=dict)
    draft: Draft | None = None
    compliance: list[Review] = Field(default_factory=list)
    # Whether the latest checked draft could skip the reviewer; absent before the first.
    release_by_policy: ReleaseDecision | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    sla_breaches: list[str] = Field(default_factory=list)
    survey: SurveyState | None = None
    # The newest 500 of each list; older ones are counted in *_omitted and kept in the audit trail.
    refused_signals: list[RefusedSignal] = Field(default_factory=list)
    refused_omitted: int = 0
    # Actions accepted without a signed assertion, where signed actions are not required.
    unverified_actions: list[UnverifiedAction] = Field(default_factory=list)
    unverified_omitted: int = 0
    notes: int = 0
    # The audit events so far, oldest first, as a person reads them; the oldest are left out
    # (counted in timeline_omitted, kept in the audit trail) once there are more than 500.
    timeline: list[TimelineEntry] = Field(default_factory=list)
    timeline_omitted: int = 0
    # Events not yet in the audit trail: a moment's worth normally, more while the store refuses.
    undocumented_events: int = 0
    resolution_ref: str | None = None
    received_at: datetime
    updated_at: datetime | None = None


class InquiryOutcome(Outbound):
    inquiry_id: str
    stage: Stage
    owner: str | None
    owner_history: list[OwnerAssignment]
    tier: int | None
    urgency: Urgency | None = None
    categories: list[Department] = Field(default_factory=list)
    compliance_flags: list[ComplianceFlag] = Field(default_factory=list)
    departments: dict[Department, DepartmentState]
    resolution_ref: str | None
    approved_by: list[str] = Field(default_factory=list)
    release: Literal["reviewer", "policy"] | None = None
    survey: SurveyState | None = None
    sla_breaches: list[str] = Field(default_factory=list)
    received_at: datetime
    triaged_at: datetime | None = None
    communicated_at: datetime | None = None
    closed_at: datetime
    first_contact_resolution: bool | None = None
    reopens: int = 0
    escalations: int = 0
