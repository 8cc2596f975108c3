"""The public wire contract, what callers send (shared/CONTRACT.md): the vocabularies, the intake
and the actions (signals and Updates). What we answer (status, outcome, verdicts) is in
`models.status`.

Every model here is a promise to a system outside this code base. Fields are only ever added
(optional, with defaults), never renamed, so running workflows keep decoding their history.
Models that arrive from outside forbid unknown fields; models we send out allow readers to ignore
what they do not know.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.fields import FieldInfo

InquiryId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
ActorId = Annotated[str, Field(min_length=1, max_length=128)]


class Inbound(BaseModel):
    """A payload written by someone else: unknown fields are an error, not a silent drop."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Outbound(BaseModel):
    """A payload we produce: readers may ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        # Some clients (the temporal CLI's JSON output among them) render [] and {} as null.
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if value is not None or _null_is_meaningful(cls.model_fields.get(key))
        }


def _null_is_meaningful(field: FieldInfo | None) -> bool:
    return field is None or field.default_factory is None


# --- vocabularies -------------------------------------------------------------------------


class Sector(StrEnum):
    HEALTHCARE = "healthcare"
    LEGAL = "legal"
    ECOMMERCE = "ecommerce"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    PORTAL = "portal"
    LETTER = "letter"


class Department(StrEnum):
    BILLING = "billing"
    CLINICAL = "clinical"
    LEGAL = "legal"


class ComplianceFlag(StrEnum):
    HIPAA = "HIPAA"
    GDPR = "GDPR"
    PRIVILEGE = "PRIVILEGE"
    LITIGATION = "LITIGATION"
    PCI = "PCI"


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class Stage(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    ROUTING = "routing"
    DRAFTING = "drafting"
    AWAITING_COMPLIANCE = "awaiting_compliance"
    COMMUNICATING = "communicating"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


Tier = Literal[1, 2, 3]


# --- intake -------------------------------------------------------------------------------


class Customer(Inbound):
    customer_id: Annotated[str, Field(min_length=1, max_length=128)]
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    preferred_contact: Literal["email", "sms", "phone", "letter"] | None = None


MAX_DURATION = timedelta(days=365)


def _iso_duration(value: Any) -> Any:
    """ISO 8601 durations only, and none in months or years, whose length varies."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not value.strip().upper().startswith("P"):
        raise ValueError("must be an ISO 8601 duration string such as PT8H or P2D")
    date_part = value.upper().split("T", 1)[0]
    if "Y" in date_part or "M" in date_part:
        raise ValueError("durations in months or years are not accepted; use days (P30D)")
    return value


def _at_most_a_year(value: timedelta) -> timedelta:
    if value > MAX_DURATION:
        raise ValueError("must be at most a year (P365D)")
    return value


def iso_days(value: timedelta) -> str:
    """A duration as ISO 8601 in days and seconds (P400DT30S), never in years: pydantic's own
    form ("P1Y35D") is one our validator refuses, so a policy would not survive its round trip."""
    days, seconds = value.days, value.seconds + value.microseconds / 1_000_000
    time = f"T{seconds:g}S" if seconds else ""
    return f"P{days}D{time}" if days or not time else f"P{time}"


Duration = Annotated[
    timedelta,
    BeforeValidator(_iso_duration),
    AfterValidator(_at_most_a_year),
    PlainSerializer(iso_days, return_type=str, when_used="json"),
]
PerTier = Duration | dict[Literal["1", "2", "3"], Duration]


class Policy(Inbound):
    """Timer overrides, ISO 8601 durations; a per-tier key takes one duration or one per tier."""

    survey_delay: Duration | None = None
    survey_reminder: Duration | None = None
    survey_window: Duration | None = None
    compliance_sla: PerTier | None = None
    department_sla: Duration | None = None
    resolution_sla: PerTier | None = None

    @model_validator(mode="after")
    def _positive(self) -> Policy:
        for name in type(self).model_fields:
            value = getattr(self, name)
            values = value.values() if isinstance(value, dict) else [value]
            if any(v is not None and v <= timedelta(0) for v in values):
                raise ValueError(f"{name} must be a positive duration")
        return self


# How far `received_at` may be ahead of the clock that takes the inquiry in (clocks drift): an
# intake received in the future would start its SLA clocks there, and they would never run out.
# A department's finding, by signal or in its HTTP answer: the same bound for both, well under
# Temporal's 2 MiB payload limit (an answer over it would fail its activity for ever).
SUMMARY_MAX_CHARS = 20000
CASE_REF_MAX_CHARS = 128

RECEIVED_AT_SKEW = timedelta(minutes=5)
FUTURE_RECEIVED_AT = "received_at: later than the inquiry was taken in"


class InquiryIntake(Inbound):
    inquiry_id: InquiryId
    sector: Sector
    channel: Channel
    received_at: AwareDatetime
    customer: Customer
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=20000)]
    topics: list[Department] | None = None
    policy: Policy | None = None

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.inquiry_id)


def workflow_id_for(inquiry_id: str) -> str:
    return f"inquiry-{inquiry_id}"


# --- signals ------------------------------------------------------------------------------


class Acting(Inbound):
    """An action sent by someone who must be known: staff (the issuer's signed assertion) or a
    department (signed with its token). The format is in identity/assertions.py and the README's
    "Who is acting"; without one the action is accepted as unverified only where signed actions
    are not required."""

    assertion: str | None = Field(default=None, min_length=1, max_length=8192)


class ComplianceDecision(Acting):
    reviewer_id: ActorId
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=4000)
    # Optional: the draft version the reviewer read (`status.draft.version`). Given, a decision
    # for any other version is refused, so a revision that lands first is never approved
    # unread. (A signed assertion binds the version in any case.)
    draft_version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _reject_needs_note(self) -> ComplianceDecision:
        if self.decision == "reject" and not self.note:
            raise ValueError("note is required when the decision is reject")
        return self


class DepartmentResult(Acting):
    department: Department
    case_ref: Annotated[str, Field(min_length=1, max_length=CASE_REF_MAX_CHARS)]
    status: Literal["completed", "failed", "needs_info"]
    summary: str | None = Field(default=None, max_length=SUMMARY_MAX_CHARS)


class ReviseResponse(Acting):
    author_id: ActorId
    text: Annotated[str, Field(min_length=1, max_length=20000)]


class ReassignOwner(Acting):
    owner_id: ActorId
    by: ActorId
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class Escalate(Acting):
    by: ActorId
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class SurveyResponse(Inbound):
    # The signed reference the survey message carried (README: "Who is acting"): proves the
    # answer comes from the survey's recipient; required where signed actions are.
    survey_ref: str | None = Field(default=None, min_length=1, max_length=4096)
    # Strict: `true` is not a score of 1.
    csat: int | None = Field(default=None, ge=1, le=5, strict=True)
    nps: int | None = Field(default=None, ge=0, le=10, strict=True)
    ces: int | None = Field(default=None, ge=1, le=7, strict=True)
    comment: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _at_least_one_score(self) -> SurveyResponse:
        if self.csat is None and self.nps is None and self.ces is None:
            raise ValueError("at least one of csat, nps, ces is required")
        return self


class Reopen(Acting):
    by: ActorId
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class Withdraw(Acting):
    by: ActorId
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class AddNote(Acting):
    author_id: ActorId
    text: Annotated[str, Field(min_length=1, max_length=20000)]
    kind: Literal["note", "sentiment"] = "note"


class CloseRecovery(Acting):
    """Added to the contract's signals: the owner closes a service-recovery step with a note."""

    by: ActorId
    note: Annotated[str, Field(min_length=1, max_length=4000)]


SIGNAL_PAYLOADS: dict[str, type[Inbound]] = {
    "compliance_decision": ComplianceDecision,
    "department_result": DepartmentResult,
    "revise_response": ReviseResponse,
    "reassign_owner": ReassignOwner,
    "escalate": Escalate,
    "survey_response": SurveyResponse,
    "reopen": Reopen,
    "withdraw": Withdraw,
    "add_note": AddNote,
    "close_recovery": CloseRecovery,
}
