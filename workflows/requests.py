"""What the signal rules, the timekeeper and follow-up ask of the workflow that needs an activity
(the roster, the outbox), typed. They are queued in the case (`case.requests`, carried across
continue-as-new) and served one at a time, in the order asked, by workflows/attendant.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Escalation(BaseModel):
    """Up one tier (an SLA breach, a passed recovery deadline, a person's `escalate`)."""

    kind: Literal["escalate"] = "escalate"
    actor: str
    reason: str


class OwnerNotice(BaseModel):
    """Something the owner must hear of (a department needs the customer's information)."""

    kind: Literal["notify"] = "notify"
    actor: str
    text: str


class SlaWarning(BaseModel):
    """A share of an SLA used up, for the owner."""

    kind: Literal["warn"] = "warn"
    text: str


class ProgressUpdate(BaseModel):
    """The customer's update that the inquiry is in hand, and when the answer is due."""

    kind: Literal["progress"] = "progress"
    due: datetime | None = None


Request = Annotated[
    Escalation | OwnerNotice | SlaWarning | ProgressUpdate,
    Field(discriminator="kind"),
]
