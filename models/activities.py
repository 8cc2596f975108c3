"""Inputs and results of the activities: one model each way, evolved by adding optional fields.

These travel through workflow history as payloads (so a payload codec encrypts them); personal
data may appear here, never in the error messages or log lines that the activities produce.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.contract import (
    CASE_REF_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    ComplianceFlag,
    Department,
    InquiryIntake,
    Sector,
    Stage,
    Urgency,
)
from models.status import RuleHit


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- triage, policy, ownership, reviewers ----------------------------------------------------


class TriageInput(Model):
    intake: InquiryIntake


class TriageResult(Model):
    categories: list[Department]
    compliance_flags: list[ComplianceFlag]
    urgency: Urgency
    tier: Literal[1, 2, 3]
    distress: bool
    rules_fired: list[RuleHit]
    # VADER's compound score of the most negative sentence (-1 to 1).
    sentiment: float | None = None


class AssignOwnerInput(Model):
    workflow_id: str
    sector: Sector
    categories: list[Department]
    tier: int
    exclude: list[str] = Field(default_factory=list)


class AssignedOwner(Model):
    owner_id: str
    team: str
    reason: str


class EscalationInput(Model):
    workflow_id: str
    sector: Sector
    categories: list[Department]
    tier: int
    exclude: list[str] = Field(default_factory=list)


class EscalationContacts(Model):
    """Who takes an inquiry at a tier, who manages them, and who hears of every tier 3."""

    owner_id: str
    team: str
    manager: str
    tier3_notify: list[str] = Field(default_factory=list)


class OwnerOnRoster(Model):
    """Whether a staff id may own inquiries (a team member, manager or escalation owner), and
    the first team that names it."""

    staff_id: str
    team: str | None = None

    @property
    def found(self) -> bool:
        return self.team is not None


class Reviewer(Model):
    reviewer_id: str
    roles: list[str]


# --- who is acting ----------------------------------------------------------------------------


class VerifyActorInput(Model):
    """An action's actor and assertion to verify; `now` is the workflow's clock."""

    action: str
    actor: str
    inquiry_id: str
    workflow_id: str
    digest: str  # identity.assertions.content_digest of the payload
    assertion: str | None = None
    now: datetime
    # For a reassignment: the staff id proposed as owner, looked up on the roster with the actor,
    # so the action's verdict already says whether that person may own inquiries.
    proposed_owner: str | None = None


class VerifyActorsInput(Model):
    """Actions that came together, verified in one call and applied in this order. `call` names
    this call (the run and a count); every check comes back naming it, so a verdict of another
    call (an earlier one of the inquiry, completed again by hand) is not taken."""

    actions: list[VerifyActorInput]
    call: str = ""


class SurveyRefInput(Model):
    """A survey reference to sign: which inquiry and survey, and until when it is good."""

    workflow_id: str
    inquiry_id: str
    survey: str
    now: datetime
    expires: datetime


class StaffRoles(Model):
    """What the roster lets a staff id do (config/roster.toml), read when the action arrives."""

    on_roster: bool = False
    operator: bool = False
    manages: list[str] = Field(default_factory=list)  # team ids
    owns_in: str | None = None  # the team in which they may own inquiries
    reviewer_roles: list[str] = Field(default_factory=list)
    review_sectors: list[Sector] = Field(default_factory=list)  # where those roles apply


class ActorCheck(Model):
    """Whether the actor is proven (`verified`), or why the action must be refused; with the
    accepted assertion's id and draft version, and the actor's roles."""

    verified: bool = False
    refusal: str | None = None
    jti: str | None = None
    draft_version: int | None = None
    survey: str | None = None  # for a survey answer: which survey its reference is for
    roles: StaffRoles = Field(default_factory=StaffRoles)
    proposed_owner: OwnerOnRoster | None = None  # for a reassignment
    # The worker requires signed actions now (REQUIRE_SIGNED_ACTIONS): approvals accepted
    # unsigned before it did no longer count (workflows/acting.py). None: the workflow made
    # this check itself (the call failed, or came back for another call): the mode is unknown.
    signed_required: bool | None = None
    call: str = ""  # VerifyActorsInput.call of the call that made this check


# --- departments ----------------------------------------------------------------------------


class DepartmentRequest(Model):
    """What one department is sent: the case, and no contact details."""

    workflow_id: str
    inquiry_id: str
    department: Department
    sector: Sector
    tier: int
    urgency: Urgency
    compliance_flags: list[ComplianceFlag]
    categories: list[Department]
    customer_id: str
    subject: str
    body: str

    # 0 for the first routing; n for the n-th reopening, which must open a new case.
    round: int = 0

    @property
    def idempotency_key(self) -> str:
        key = f"{self.workflow_id}:{self.department.value}"
        return f"{key}:reopen-{self.round}" if self.round else key


class DepartmentAnswer(Model):
    """A department's HTTP answer, held to the bounds of a department_result signal."""

    case_ref: str = Field(min_length=1, max_length=CASE_REF_MAX_CHARS)
    status: Literal["completed", "accepted"]
    summary: str | None = Field(default=None, max_length=SUMMARY_MAX_CHARS)


# --- the store: registry, audit trail, read model, outbox -------------------------------------


class RegisterInquiryInput(Model):
    inquiry_id: str
    workflow_id: str
    run_id: str
    sector: Sector
    received_at: datetime
    customer_id: str  # stored only as a pseudonym


class RegisterInquiryResult(Model):
    accepted: bool
    first_run_id: str


class AuditEvent(Model):
    """One documented step. `event_key` is unique: a retried write never adds a second row."""

    event_key: str
    inquiry_id: str
    workflow_id: str
    at: datetime
    actor: str
    action: str
    stage: Stage
    detail: dict[str, object] = Field(default_factory=dict)


class InquirySnapshot(Model):
    """The read model's row for one inquiry; `version` only grows, so late writes lose."""

    inquiry_id: str
    workflow_id: str
    version: int
    sector: Sector
    stage: Stage
    tier: int | None = None
    urgency: Urgency | None = None
    categories: list[Department] = Field(default_factory=list)
    compliance_flags: list[ComplianceFlag] = Field(default_factory=list)
    owner: str | None = None
    sla_breached: bool = False
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    resolution_ref: str | None = None


MessageKind = Literal[
    "acknowledgement",
    "resolution",
    "owner_notice",
    "progress_update",
    "survey",
    "survey_reminder",
    "sla_warning",
    "escalation_notice",
    "score_alert",
]


# Where a survey message's body holds its signed reference until the send fills it in.
SURVEY_REF_SLOT = "<survey reference>"


class OutboxMessage(Model):
    """A message to a customer or a staff member. `message_key` is unique in the outbox.

    With `survey`, the send signs that reference and puts it in the body at SURVEY_REF_SLOT: the
    reference, which lets its holder answer the survey, is never in the workflow's history."""

    message_key: str
    inquiry_id: str
    workflow_id: str
    kind: MessageKind
    audience: Literal["customer", "staff"]
    recipient: str
    channel: str
    subject: str
    body: str
    survey: SurveyRefInput | None = None


class SurveyAnswer(Model):
    """One follow-up survey answer for the store; `late` when it came after the inquiry closed."""

    inquiry_id: str
    workflow_id: str
    survey_ref: str
    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    comment: str | None = None
    answered_at: datetime
    late: bool = False


class RecordInput(Model):
    """One write of the documentation: audit events, the read model, and survey answers that
    came since the last write (stored once per survey, in the same transaction)."""

    events: list[AuditEvent] = Field(default_factory=list)
    snapshot: InquirySnapshot | None = None
    survey_answers: list[SurveyAnswer] = Field(default_factory=list)


class MessageReceipt(Model):
    message_key: str
    status: Literal["sent", "queued"]
    sent_at: datetime | None = None
