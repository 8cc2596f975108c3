"""Follow-up after the resolution: the survey exactly `survey_delay` later, one reminder, closure
when the window ends; the answer stored; poor scores opening service recovery; reopen and
withdraw during follow-up; and whether the inquiry counts as resolved at first contact.
Service recovery at tier 3 and without a roster: test_service_recovery.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from models.activities import AssignedOwner
from models.contract import Department, Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    MANAGER,
    MINUTE,
    OWNER,
    REVIEWER,
    TIER2_LEAD,
    World,
    accepted,
    on_time,
    routine,
)

DELAY = timedelta(hours=24)  # the world's survey_delay
REMINDER = timedelta(hours=72)
WINDOW = timedelta(days=7)
RECOVERY = timedelta(days=2)
POOR = {"csat": 1, "comment": "nobody listened"}
WITHDRAW = {"by": OWNER, "reason": "customer asked us to stop"}


async def communicated(world: World) -> tuple[drive.Handle, datetime]:
    """A routine inquiry released by policy: in follow-up, with the time it was communicated."""
    world.triage = routine()
    handle = await world.start(support.billing_only())
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    [event] = await world.actions_done("resolution_communicated", 1)
    return handle, event.at


async def surveyed(env: WorkflowEnvironment, world: World) -> tuple[drive.Handle, datetime]:
    """As `communicated`, moved on until the survey is out; with the time it was sent."""
    handle, resolved_at = await communicated(world)
    await world.sleep_until(env, resolved_at + DELAY + MINUTE)
    await world.messages_sent("survey", 1)
    current = await drive.wait_for(handle, lambda s: s.survey is not None, "the survey")
    assert current.survey is not None and current.survey.sent_at is not None
    return handle, current.survey.sent_at


async def test_survey_is_sent_survey_delay_after_the_resolution_then_reminded_once_then_closed(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, resolved_at = await communicated(world)

    await world.sleep_until(env, resolved_at + DELAY - MINUTE)
    assert world.sent("survey") == []
    assert (await drive.status(handle)).survey is None

    await world.sleep_until(env, resolved_at + DELAY + MINUTE)
    [survey] = await world.messages_sent("survey", 1)
    [survey_at] = world.times("survey")
    assert on_time(survey_at, resolved_at + DELAY)
    state = (await drive.wait_for(handle, lambda s: s.survey is not None, "survey")).survey
    assert state is not None and state.sent_at is not None and state.survey_ref is not None
    assert state.survey_ref in survey.body
    assert survey.audience == "customer"
    assert state.closes_at == state.sent_at + WINDOW

    await world.sleep_until(env, state.sent_at + REMINDER - MINUTE)
    assert world.sent("survey_reminder") == []

    await world.sleep_until(env, state.sent_at + REMINDER + MINUTE)
    [reminder] = await world.messages_sent("survey_reminder", 1)
    assert on_time(world.times("survey_reminder")[0], state.sent_at + REMINDER)
    assert state.survey_ref in reminder.body

    await world.sleep_until(env, state.sent_at + WINDOW - MINUTE)
    assert (await drive.status(handle)).stage == Stage.FOLLOW_UP

    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert on_time(outcome.closed_at, state.sent_at + WINDOW)
    [closed] = world.actions("survey_window_closed")
    assert on_time(closed.at, state.sent_at + WINDOW)
    assert (len(world.sent("survey")), len(world.sent("survey_reminder"))) == (1, 1)
    assert outcome.survey is not None and outcome.survey.csat is None


async def test_answer_before_the_reminder_is_stored_and_no_reminder_follows(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, sent_at = await surveyed(env, world)
    [survey] = world.sent("survey")

    await handle.signal("survey_response", {"csat": 5, "nps": 9, "ces": 2, "comment": "kind"})
    outcome = await drive.outcome(handle)

    assert world.sent("survey_reminder") == []
    assert world.sent("score_alert") == []
    [stored] = world.surveys
    assert (stored.csat, stored.nps, stored.ces, stored.comment) == (5, 9, 2, "kind")
    assert stored.survey_ref in survey.body
    assert stored.inquiry_id == outcome.inquiry_id and not stored.late
    assert outcome.stage == Stage.CLOSED
    assert outcome.survey is not None
    assert (outcome.survey.csat, outcome.survey.nps, outcome.survey.ces) == (5, 9, 2)
    assert outcome.survey.answered_at is not None and outcome.survey.answered_at >= sent_at
    assert [e.detail for e in world.actions("survey_answered")] == [{"csat": 5, "nps": 9, "ces": 2}]
    assert outcome.first_contact_resolution is True


async def test_second_survey_answer_is_refused(env: WorkflowEnvironment, world: World) -> None:
    # Service recovery keeps the inquiry in follow-up after the first answer.
    handle, _ = await surveyed(env, world)
    await handle.signal("survey_response", POOR)
    await world.messages_sent("score_alert", 1)

    await handle.signal("survey_response", {"csat": 5})
    refused = await drive.refusals(handle, 1)

    assert refused.refused_signals[0].reason == "the survey has already been answered"
    assert len(world.surveys) == 1 and world.surveys[0].csat == 1


async def test_csat_1_opens_service_recovery_and_alerts_the_owner_and_the_team_manager(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, _ = await surveyed(env, world)

    await handle.signal("survey_response", POOR)
    to_owner, to_manager = await world.messages_sent("score_alert", 2)
    current = await drive.wait_for(
        handle, lambda s: s.survey is not None and bool(s.survey.alerts), "service recovery"
    )

    survey = current.survey
    assert survey is not None and survey.answered_at is not None
    assert survey.alerts == ["csat 1 <= 2"]
    assert survey.recovery_due_at is not None
    assert on_time(survey.recovery_due_at, survey.answered_at + RECOVERY)
    assert (to_owner.recipient, to_manager.recipient) == (OWNER, MANAGER)
    for alert in (to_owner, to_manager):
        assert alert.audience == "staff"
        assert "csat 1 <= 2" in alert.subject
        assert survey.recovery_due_at.isoformat() in alert.body
        assert "nobody listened" not in alert.subject + alert.body
    # the manager learns who must act; the manager of the inquiry's tier, as escalation finds
    assert f"the owner, {OWNER}, must reopen" in to_manager.body
    assert [lookup.tier for lookup in world.escalations] == [1]
    assert current.stage == Stage.FOLLOW_UP
    assert [e.detail["alerts"] for e in world.actions("service_recovery_opened")] == [
        ["csat 1 <= 2"]
    ]


async def test_a_manager_who_owns_the_inquiry_gets_one_score_alert(
    env: WorkflowEnvironment, world: World
) -> None:
    world.owner = AssignedOwner(owner_id=MANAGER, team="care", reason="least loaded")
    handle, _ = await surveyed(env, world)

    await handle.signal("survey_response", POOR)
    await world.actions_done("service_recovery_opened", 1)
    await handle.signal("close_recovery", {"by": MANAGER, "note": "called; refund agreed"})
    await drive.outcome(handle)

    assert [m.recipient for m in world.sent("score_alert")] == [MANAGER]


async def test_unanswered_service_recovery_escalates_at_its_deadline(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, _ = await surveyed(env, world)
    await handle.signal("survey_response", POOR)
    await world.messages_sent("score_alert", 1)
    current = await drive.status(handle)
    assert current.survey is not None and current.survey.answered_at is not None
    due = current.survey.recovery_due_at
    assert due is not None and on_time(due, current.survey.answered_at + RECOVERY)

    await world.sleep_until(env, due - MINUTE)
    assert world.actions("escalated") == []

    await world.sleep_until(env, due + MINUTE)
    [escalated] = await world.actions_done("escalated", 1)
    [_, _, alert] = await world.messages_sent("score_alert", 3)

    assert on_time(escalated.at, due)
    assert escalated.detail == {
        "from_tier": 1,
        "to_tier": 2,
        "reason": "service recovery deadline passed",
    }
    moved = await drive.wait_for(handle, lambda s: s.owner == TIER2_LEAD, "the tier 2 owner")
    assert moved.tier == 2
    # the new owner gets the step, with a deadline of their own
    assert alert.recipient == TIER2_LEAD
    assert moved.survey is not None and moved.survey.recovery_due_at is not None
    assert moved.survey.recovery_due_at > due
    assert {OWNER, TIER2_LEAD} <= {m.recipient for m in world.sent("escalation_notice")}
    # the manager heard of the scores once, and of the escalation by its own notice
    assert [m.recipient for m in world.sent("score_alert")] == [OWNER, MANAGER, TIER2_LEAD]
    assert MANAGER in {m.recipient for m in world.sent("escalation_notice")}


async def test_owner_closing_service_recovery_with_a_note_closes_the_inquiry(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, _ = await surveyed(env, world)
    await handle.signal("survey_response", POOR)
    await world.messages_sent("score_alert", 1)

    await handle.signal("close_recovery", {"by": "agent.al", "note": "not theirs to close"})
    # bounded tighter than drive's waits: a signal is judged in milliseconds or not at all
    refused = await asyncio.wait_for(drive.refusals(handle, 1), 3)
    assert refused.refused_signals[0].reason == (
        "only the owner may close the service-recovery step"
    )
    await handle.signal("close_recovery", {"by": OWNER, "note": "called; refund agreed"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert outcome.survey is not None and outcome.survey.recovery_closed_by == OWNER
    assert [e.detail for e in world.actions("recovery_closed")] == [
        {"note": "called; refund agreed"}
    ]
    assert world.actions("escalated") == []


async def test_reopen_in_follow_up_routes_again_with_new_cases_and_a_new_resolution_clock(
    world: World,
) -> None:
    handle, _ = await communicated(world)
    [first] = world.requests
    world.answers[Department.BILLING] = accepted("BI-R1")

    await handle.signal("reopen", {"by": OWNER, "reason": "refund never arrived"})
    routing = await drive.wait_for_department(handle, Department.BILLING, "accepted")
    [reopened] = await world.actions_done("reopened", 1)

    assert routing.stage == Stage.ROUTING
    second = world.requests[-1]
    assert first.idempotency_key.endswith(":billing")
    assert second.idempotency_key == first.idempotency_key + ":reopen-1"
    [clock] = [d for d in routing.deadlines if d.name == "resolution"]
    assert clock.state == "running"
    assert clock.due_at == reopened.at + timedelta(days=5)  # tier 1's resolution SLA

    await handle.signal(
        "department_result",
        {"department": "billing", "case_ref": "BI-R1", "status": "completed", "summary": "paid"},
    )
    # The first answer did not resolve it: policy released that one, a person reads this one.
    held = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    decision = held.release_by_policy
    assert decision is not None and not decision.released
    assert "the inquiry was reopened: a person reads the new answer" in decision.reasons
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.CLOSED
    assert outcome.reopens == 1
    assert outcome.first_contact_resolution is False
    assert len(world.sent("resolution")) == 2
    assert len({m.message_key for m in world.sent("resolution")}) == 2


async def test_withdrawal_in_follow_up_ends_the_inquiry_before_any_survey(world: World) -> None:
    handle, _ = await communicated(world)

    await handle.signal("withdraw", WITHDRAW)
    outcome = await drive.outcome(handle)

    assert outcome.stage == Stage.WITHDRAWN
    assert world.sent("survey") == []
    assert outcome.resolution_ref is not None
    assert outcome.first_contact_resolution is False
