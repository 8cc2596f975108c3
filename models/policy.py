"""The policy an inquiry runs by: timers, approvals, thresholds, release by policy and minimum
necessary. Resolved from config/policy.toml and the intake's overrides by an activity when the
inquiry starts, so it sits in the history and replays the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from models.activities import Model
from models.contract import Department, Policy, Sector

ClockName = Literal["resolution", "compliance", "department"]


class ResolvePolicyInput(Model):
    overrides: Policy | None = None
    # Business windows are resolved from this instant on (the intake's received_at).
    starts_at: datetime | None = None


def _one_each() -> dict[Literal["1", "2", "3"], int]:
    return {"1": 1, "2": 1, "3": 1}


class ScoreThresholds(Model):
    """A survey answer at or past any of these opens service recovery."""

    csat_at_most: int | None = 2
    nps_at_most: int | None = 6
    ces_at_least: int | None = 5


class ReleasePolicy(Model):
    """When a draft may reach the customer without a reviewer: only where this is enabled, for an
    inquiry in an allowed sector whose categories are all allowed. Everything else the workflow
    decides (routine evidence, no sensitivity signal, tier 1, the system's own draft, checks)."""

    enabled: bool = False
    sectors: list[Sector] = Field(default_factory=list)
    categories: list[Department] = Field(default_factory=list)


class MinimumNecessary(Model):
    """What of the customer's words each department is sent (workflows/disclosure.py)."""

    privileged_to_legal_only: bool
    sentences_about: dict[Department, list[str]] = Field(default_factory=dict)


class ResolvedPolicy(Model):
    """Every timer with its value for each tier, fixed in history when the inquiry starts."""

    survey_delay: timedelta
    survey_reminder: timedelta
    survey_window: timedelta
    compliance_sla: dict[Literal["1", "2", "3"], timedelta]
    department_sla: timedelta
    resolution_sla: dict[Literal["1", "2", "3"], timedelta]
    # Off unless the policy file turns it on: a reviewer is the default for every draft.
    release_by_policy: ReleasePolicy = Field(default_factory=ReleasePolicy)
    # The policy file always gives the fields below; these defaults serve policies built by
    # hand (tests), and each is the cautious reading: privileged words go to legal only.
    minimum_necessary: MinimumNecessary = Field(
        default_factory=lambda: MinimumNecessary(privileged_to_legal_only=True)
    )
    approvals_required: dict[Literal["1", "2", "3"], int] = Field(default_factory=_one_each)
    warning_thresholds: list[float] = Field(default_factory=list)
    progress_update_at: float | None = None
    business_clocks: list[ClockName] = Field(default_factory=list)
    # Working time as UTC windows [start, end), resolved from the calendar (time zone, working
    # hours, holidays) when the inquiry starts: the workflow needs no time zone rules.
    business_windows: list[tuple[datetime, datetime]] = Field(default_factory=list)
    recovery_deadline: timedelta = timedelta(days=2)
    score_alerts: ScoreThresholds | None = None
