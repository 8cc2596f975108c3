"""Taking an inquiry in: what the workflow asks of the one start-up activity, and its answer."""

from __future__ import annotations

from models.activities import (
    AssignedOwner,
    Model,
    RegisterInquiryInput,
    RegisterInquiryResult,
    TriageInput,
    TriageResult,
)
from models.policy import ResolvedPolicy, ResolvePolicyInput


class TakeInInput(Model):
    registration: RegisterInquiryInput
    policy: ResolvePolicyInput
    triage: TriageInput


class TakenIn(Model):
    """`policy`, `triage` and `owner` are None when the inquiry id ran before (nothing else was
    done); `owner` alone is None when the roster has nobody eligible (workflows/ownership.py
    holds the assignment until it has)."""

    registered: RegisterInquiryResult
    policy: ResolvedPolicy | None = None
    triage: TriageResult | None = None
    owner: AssignedOwner | None = None
