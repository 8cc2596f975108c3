"""Service recovery that nobody settles in time at tier 3: it is escalated once to the owner, the
team's manager and the tier 3 contacts, and waits, open, in follow-up until a person closes it,
reopens or withdraws the inquiry. And when the roster cannot name the manager, the owner is still
told and the gap is in the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.activities import EscalationContacts, EscalationInput
from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    LEGAL,
    MANAGER,
    MINUTE,
    OWNER,
    REVIEWER,
    TIER3_NOTIFY,
    World,
    on_time,
    triage,
)

DELAY = timedelta(hours=24)  # the world's survey_delay
RECOVERY = timedelta(days=2)  # the world's recovery_deadline
POOR = {"csat": 1, "comment": "nobody listened"}
ALERTS = ["csat 1 <= 2"]


@dataclass
class RosterWorld(World):
    """The fake world, with a roster that can be taken down (for good) while a test runs."""

    roster_down: bool = False

    def activities(self) -> list[Callable[..., Any]]:
        world = self
        found = super().activities()
        [original] = [a for a in found if getattr(a, "__name__", "") == "escalation_contacts"]

        @activity.defn(name="escalation_contacts")
        async def escalation_contacts(request: EscalationInput) -> EscalationContacts:
            if world.roster_down:
                raise ApplicationError(
                    "the roster names nobody", type="RosterUnavailable", non_retryable=True
                )
            contacts: EscalationContacts = await original(request)
            return contacts

        return [escalation_contacts if a is original else a for a in found]


@pytest.fixture
async def roster_world(env: WorkflowEnvironment) -> AsyncIterator[RosterWorld]:
    world = RosterWorld(env.client)
    async with world.running():
        yield world


async def answered_poorly_at_tier_3(
    env: WorkflowEnvironment, world: World, before_approval: Callable[[], None] = lambda: None
) -> drive.Handle:
    """A tier 3 inquiry approved by two reviewers, surveyed and answered poorly.
    `before_approval` runs once it awaits the reviewers (the tier 3 contacts told by then)."""
    world.triage = triage(tier=3, flags=(), categories=("billing",))
    handle = await world.start(support.billing_only())
    await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    before_approval()
    for reviewer in (REVIEWER, LEGAL):  # tier 3: two approvals
        await handle.signal("compliance_decision", {"reviewer_id": reviewer, "decision": "approve"})
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    [resolved] = await world.actions_done("resolution_communicated", 1)
    await world.sleep_until(env, resolved.at + DELAY + MINUTE)
    await world.messages_sent("survey", 1)
    await handle.signal("survey_response", POOR)
    return handle


async def recovering_at_tier_3(
    env: WorkflowEnvironment, world: World
) -> tuple[drive.Handle, datetime]:
    """A tier 3 inquiry answered, surveyed and scored poorly: service recovery is open. With the
    recovery's deadline."""
    handle = await answered_poorly_at_tier_3(env, world)
    await world.actions_done("service_recovery_opened", 1)
    current = await drive.wait_for(
        handle, lambda s: s.survey is not None and bool(s.survey.alerts), "service recovery"
    )
    assert current.tier == 3 and current.survey is not None
    assert current.survey.answered_at is not None and current.survey.recovery_due_at is not None
    due = current.survey.recovery_due_at
    assert on_time(due, current.survey.answered_at + RECOVERY)
    return handle, due


def notices_after_triage(world: World) -> list[str]:
    """Recipients of escalation notices, less the tier 3 contacts' notice at triage."""
    return [m.recipient for m in world.sent("escalation_notice")][len(TIER3_NOTIFY) :]


async def test_tier_3_recovery_past_its_deadline_is_escalated_and_stays_open_until_closed(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, due = await recovering_at_tier_3(env, world)
    assert [m.recipient for m in await world.messages_sent("score_alert", 2)] == [OWNER, MANAGER]

    await world.sleep_until(env, due - MINUTE)
    assert world.actions("recovery_escalated") == []
    assert notices_after_triage(world) == []

    await world.sleep_until(env, due + MINUTE)
    [escalated] = await world.actions_done("recovery_escalated", 1)
    notices = await world.messages_sent("escalation_notice", len(TIER3_NOTIFY) + 4)

    assert on_time(escalated.at, due) and escalated.detail == {"alerts": ALERTS}
    assert notices_after_triage(world) == [OWNER, MANAGER, *TIER3_NOTIFY]
    for notice in notices[len(TIER3_NOTIFY) :]:
        assert notice.audience == "staff"
        assert "unresolved past its deadline" in notice.body
        assert "needs a decision" in notice.body
        assert due.isoformat() in notice.body
        assert "nobody listened" not in notice.subject + notice.body
    waiting = await drive.status(handle)
    assert waiting.stage == Stage.FOLLOW_UP and waiting.tier == 3 and waiting.owner == OWNER
    assert waiting.survey is not None
    assert waiting.survey.recovery_due_at == due and waiting.survey.recovery_closed_by is None
    said = [e.text for e in waiting.timeline]
    assert (
        "service recovery unresolved past its deadline at tier 3 (csat 1 <= 2): "
        "the manager and the tier 3 contacts are asked for a decision"
    ) in said

    # One escalation, then it waits for people: no new deadline, no second round of notices.
    await world.sleep_until(env, due + 5 * RECOVERY)
    still = await drive.status(handle)
    assert still.stage == Stage.FOLLOW_UP
    assert len(world.actions("recovery_escalated")) == 1
    assert len(world.sent("escalation_notice")) == len(TIER3_NOTIFY) + 4
    assert len(world.sent("score_alert")) == 2
    assert world.actions("escalated") == []

    await handle.signal("close_recovery", {"by": OWNER, "note": "called; refund agreed"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert outcome.survey is not None and outcome.survey.recovery_closed_by == OWNER
    assert [e.detail for e in world.actions("recovery_closed")] == [
        {"note": "called; refund agreed"}
    ]


async def test_an_escalated_tier_3_recovery_may_be_settled_by_reopening(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, due = await recovering_at_tier_3(env, world)
    await world.sleep_until(env, due + MINUTE)
    await world.actions_done("recovery_escalated", 1)

    await handle.signal("reopen", {"by": MANAGER, "reason": "the refund never arrived"})
    [reopened] = await world.actions_done("reopened", 1)

    moved = await drive.wait_for(handle, lambda s: s.stage != Stage.FOLLOW_UP, "a new round")

    assert reopened.actor == MANAGER and reopened.detail == {"round": 1}
    assert moved.stage in (Stage.ROUTING, Stage.DRAFTING, Stage.AWAITING_COMPLIANCE)
    assert len(world.requests) == 2  # a new billing case for the new round


async def test_without_a_roster_the_owner_still_hears_of_the_scores_and_of_the_deadline(
    env: WorkflowEnvironment, roster_world: RosterWorld
) -> None:
    world = roster_world

    def roster_fails() -> None:  # the tier 3 contacts were told at triage; the roster fails now
        world.roster_down = True

    handle = await answered_poorly_at_tier_3(env, world, roster_fails)
    [gap] = await world.actions_done("contacts_unavailable", 1)
    current = await drive.status(handle)
    assert current.survey is not None and current.survey.recovery_due_at is not None

    await world.sleep_until(env, current.survey.recovery_due_at + MINUTE)
    await world.actions_done("recovery_escalated", 1)
    _, gap_too = await world.actions_done("contacts_unavailable", 2)
    await world.messages_sent("escalation_notice", len(TIER3_NOTIFY) + 1)

    assert [m.recipient for m in world.sent("score_alert")] == [OWNER]
    assert notices_after_triage(world) == [OWNER]
    assert gap.detail == {"notice": "score_alert", "reason": "RosterUnavailable"}
    assert gap_too.detail == {"notice": "escalation_notice", "reason": "RosterUnavailable"}
    waiting = await drive.status(handle)
    assert waiting.stage == Stage.FOLLOW_UP
    said = [e.text for e in waiting.timeline]
    assert "escalation contacts failed (RosterUnavailable): score alert sent to the owner only" in (
        said
    )
