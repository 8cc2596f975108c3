"""SLA clocks on the time-skipping server: warnings at 50 / 75 / 90 % once each, the breach at the
due time escalating once, the customer's progress update, a clock paused while the customer owes
information, and business-time clocks that skip the weekend and holidays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from models.activities import AuditEvent
from models.contract import Department, Stage
from models.status import Deadline, InquiryStatus
from tests import support
from tests.workflows import drive
from tests.workflows.world import (
    MANAGER,
    MINUTE,
    OFFICE_HOURS,
    OWNER,
    REVIEWER,
    SENIOR,
    SENIOR_2,
    TIER2_LEAD,
    TIER3_LEAD,
    World,
    accepted,
    on_time,
    triage,
)
from workflows.visibility import SLA_BREACHED

H = timedelta(hours=1)
SHARES = [0.5, 0.75, 0.9]
FRIDAY, TUESDAY = 4, 1
CASE = "CL-1"


def clock(current: InquiryStatus, name: str) -> Deadline:
    [found] = [d for d in current.deadlines if d.name == name]
    return found


def clock_is(name: str) -> Callable[[AuditEvent], bool]:
    def pick(event: AuditEvent) -> bool:
        return event.detail.get("clock") == name

    return pick


def share(event: AuditEvent) -> float:
    value = event.detail["share"]
    assert isinstance(value, float)
    return value


def next_day_at(after: datetime, weekday: int, hour: int) -> datetime:
    """The first `weekday` (0 = Monday) after today, at `hour`:00 UTC."""
    day = after.date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=UTC)


def result(status: str) -> dict[str, str]:
    return {"department": "clinical", "case_ref": CASE, "status": status, "summary": "noted"}


async def status_now(handle: drive.Handle) -> InquiryStatus:
    """The status as of now: a query sees the workflow's clock as of its last task, so a note
    gives it a task at the current time first."""
    notes = (await drive.status(handle)).notes
    await handle.signal("add_note", {"author_id": OWNER, "text": "checking the clocks"})
    return await drive.wait_for(handle, lambda s: s.notes > notes, "the note")


async def held_in_routing(world: World, **policy: str) -> tuple[drive.Handle, datetime]:
    """An inquiry whose clinical case is accepted and not answered; with its received_at."""
    world.answers[Department.CLINICAL] = accepted(CASE)
    intake = support.intake(policy=policy) if policy else support.intake()
    handle = await world.start(intake)
    await drive.wait_for_department(handle, Department.CLINICAL, "accepted")
    return handle, datetime.fromisoformat(intake["received_at"])


@pytest.mark.parametrize(
    ("tier", "budget"), [(1, timedelta(days=5)), (2, timedelta(days=3)), (3, timedelta(days=1))]
)
async def test_resolution_clock_warns_at_50_75_90_and_breaches_at_its_tier_due_time_once(
    env: WorkflowEnvironment, world: World, tier: int, budget: timedelta
) -> None:
    world.triage = triage(tier=tier)
    handle, received = await held_in_routing(world, department_sla="P30D")
    due = received + budget
    running = clock(await drive.status(handle), "resolution")
    assert (running.due_at, running.state, running.business_time) == (due, "running", False)

    await world.sleep_until(env, due - MINUTE)
    warnings = await world.actions_done("sla_warning", 3, clock_is("resolution"))
    before = await status_now(handle)

    assert [share(e) for e in warnings] == SHARES
    for event in warnings:
        assert on_time(event.at, received + budget * share(event))
    notices = world.sent("sla_warning")
    assert [m.recipient for m in notices] == [OWNER] * 3
    for notice, percent in zip(notices, ("50%", "75%", "90%"), strict=True):
        assert f"resolution SLA {percent} used" in notice.subject
    [update] = world.sent("progress_update")
    assert update.audience == "customer"
    assert on_time(world.times("progress_update")[0], received + budget * 0.75)
    assert world.actions("sla_breached") == [] and before.sla_breaches == []
    assert clock(before, "resolution").elapsed_share == pytest.approx(1 - MINUTE / budget, abs=1e-3)

    await world.sleep_until(env, due + budget / 2)  # long past due: still one breach
    [breach] = await world.actions_done("sla_breached", 1)
    [escalated] = await world.actions_done("escalated", 1)
    after = await drive.wait_for(handle, lambda s: s.owner != OWNER, "the escalation owner")

    assert on_time(breach.at, due) and breach.detail == {"clock": "resolution"}
    to_tier = min(tier + 1, 3)
    assert escalated.detail == {
        "from_tier": tier,
        "to_tier": to_tier,
        "reason": "resolution SLA breached",
    }
    assert (after.tier, after.owner) == (to_tier, {2: TIER2_LEAD, 3: TIER3_LEAD}[to_tier])
    assert after.sla_breaches == ["resolution"]
    assert clock(after, "resolution").state == "breached"
    await world.messages_sent("escalation_notice", 3)
    assert {OWNER, after.owner, MANAGER} <= {m.recipient for m in world.sent("escalation_notice")}
    # no warning repeated after the breach
    assert len([e for e in world.actions("sla_warning") if e.detail["clock"] == "resolution"]) == 3
    assert len(world.sent("progress_update")) == 1


async def test_compliance_breach_escalates_once_and_only_the_senior_pool_may_then_approve(
    env: WorkflowEnvironment, world: World
) -> None:
    handle = await world.start(support.intake())  # tier 2: compliance_sla PT4H
    waiting = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    [entered] = await world.actions_done(
        "stage_changed", 1, lambda e: e.detail["to"] == "awaiting_compliance"
    )
    due = entered.at + 4 * H
    assert clock(waiting, "compliance").due_at == due

    await world.sleep_until(env, due - MINUTE)
    warnings = await world.actions_done("sla_warning", 3, clock_is("compliance"))
    assert [share(e) for e in warnings] == SHARES
    assert all(on_time(e.at, entered.at + 4 * H * share(e)) for e in warnings)
    assert world.actions("sla_breached") == []

    await world.sleep_until(env, due + 4 * H)
    [breach] = await world.actions_done("sla_breached", 1)
    [escalated] = await world.actions_done("escalated", 1)
    assert on_time(breach.at, due) and breach.detail == {"clock": "compliance"}
    assert escalated.detail["reason"] == "compliance SLA breached"

    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    refused = await drive.refusals(handle, 1)
    assert "senior_reviewer" in refused.refused_signals[0].reason
    await handle.signal("compliance_decision", {"reviewer_id": SENIOR, "decision": "approve"})
    one = await drive.wait_for(handle, lambda s: len(s.compliance) == 1, "one approval")
    # the breach escalated the inquiry to tier 3, where two reviewers must approve
    assert (one.tier, one.stage) == (3, Stage.AWAITING_COMPLIANCE)
    await handle.signal("compliance_decision", {"reviewer_id": SENIOR_2, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.approved_by == [SENIOR, SENIOR_2]
    assert outcome.sla_breaches == ["compliance"]
    assert outcome.escalations == 1
    assert outcome.first_contact_resolution is False


async def test_department_breach_marks_the_silent_department_overdue_and_escalates_once(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, _ = await held_in_routing(world, department_sla="PT2H")
    [routed] = await world.actions_done("stage_changed", 1, lambda e: e.detail["to"] == "routing")
    due = routed.at + 2 * H
    assert clock(await drive.status(handle), "department").due_at == due

    await world.sleep_until(env, due - MINUTE)
    warnings = await world.actions_done("sla_warning", 3, clock_is("department"))
    assert all(on_time(e.at, routed.at + 2 * H * share(e)) for e in warnings)
    assert (await drive.status(handle)).stage == Stage.ROUTING

    await world.sleep_until(env, due + MINUTE)
    moved_on = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    [breach] = await world.actions_done("sla_breached", 1)
    [overdue] = world.actions("department_overdue")

    assert on_time(breach.at, due) and breach.detail == {"clock": "department"}
    assert on_time(overdue.at, due) and overdue.detail["department"] == "clinical"
    assert moved_on.departments[Department.CLINICAL].status == "overdue"
    [escalated] = await world.actions_done("escalated", 1)
    assert escalated.detail["reason"] == "department SLA breached"
    assert clock(moved_on, "department").state == "breached"


async def test_clocks_pause_while_the_customer_owes_information_and_never_breach_then(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, received = await held_in_routing(world, resolution_sla="PT10H", department_sla="PT4H")
    await world.sleep_until(env, received + H)

    await handle.signal("department_result", result("needs_info"))
    paused = await drive.wait_for(
        handle, lambda s: clock(s, "resolution").state == "paused", "paused clocks"
    )
    assert clock(paused, "department").state == "paused"
    [asked] = await world.messages_sent("owner_notice", 1)
    assert "needs more information" in asked.subject

    await world.sleep_until(env, received + 24 * H)  # far past both wall-clock due times
    waiting = await drive.status(handle)

    assert waiting.stage == Stage.ROUTING
    assert waiting.sla_breaches == []
    assert world.actions("sla_breached") == [] and world.actions("escalated") == []
    assert world.actions("sla_warning") == []
    assert clock(waiting, "resolution").elapsed_share == pytest.approx(0.1, abs=0.002)
    assert clock(waiting, "department").elapsed_share == pytest.approx(0.25, abs=0.002)
    assert [clock(waiting, n).state for n in ("resolution", "department")] == ["paused"] * 2

    await handle.signal("department_result", result("completed"))
    [answered] = await world.actions_done(
        "department_completed", 1, lambda e: e.detail["department"] == "clinical"
    )
    resumed = await drive.wait_for_stage(handle, Stage.AWAITING_COMPLIANCE)
    resolution = clock(resumed, "resolution")
    assert resolution.state == "running" and resolution.due_at is not None
    # nine hours of the ten were left when the clock paused
    assert abs(resolution.due_at - (answered.at + 9 * H)) < MINUTE
    assert clock(resumed, "department").state == "stopped"

    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    outcome = await drive.outcome(handle)

    assert outcome.sla_breaches == []
    assert outcome.first_contact_resolution is False  # a round of waiting on the customer


async def test_business_clock_started_friday_afternoon_skips_the_weekend(
    env: WorkflowEnvironment, world: World
) -> None:
    world.policy = {"business_clocks": ["resolution"]}  # Mon-Fri 09:00-17:00 UTC
    friday = next_day_at(await world.now(), FRIDAY, 16)
    await world.sleep_until(env, friday)
    handle, received = await held_in_routing(world, resolution_sla="PT8H", department_sla="P10D")
    assert received - friday < MINUTE
    due = received + 72 * H  # one hour on Friday, seven on Monday: Monday 16:00
    running = clock(await drive.status(handle), "resolution")
    assert (running.due_at, running.business_time) == (due, True)

    await world.sleep_until(env, friday + 20 * H)  # Saturday noon
    weekend = clock(await status_now(handle), "resolution")
    assert weekend.state == "running"
    assert weekend.elapsed_share == pytest.approx(1 / 8, abs=0.002)  # Friday's last hour only
    assert world.actions("sla_warning") == []

    await world.sleep_until(env, due - MINUTE)
    warnings = await world.actions_done("sla_warning", 3, clock_is("resolution"))
    assert world.actions("sla_breached") == []
    for event, hours_left in zip(warnings, (4, 2, 0.8), strict=True):
        assert on_time(event.at, due - hours_left * H)  # Monday 12:00, 14:00, 15:12

    await world.sleep_until(env, due + MINUTE)
    [breach] = await world.actions_done("sla_breached", 1)
    assert on_time(breach.at, due)
    assert breach.at.weekday() == 0 and breach.at.hour == 16


async def test_business_clock_skips_a_holiday(env: WorkflowEnvironment, world: World) -> None:
    tuesday = next_day_at(await world.now(), TUESDAY, 16)
    wednesday = tuesday + 24 * H
    world.policy = {
        "business_clocks": ["resolution"],
        "calendar": OFFICE_HOURS | {"holidays": [wednesday.date().isoformat()]},
    }
    await world.sleep_until(env, tuesday)
    handle, received = await held_in_routing(world, resolution_sla="PT8H", department_sla="P10D")
    due = received + 48 * H  # Tuesday's last hour, no Wednesday, seven hours on Thursday
    assert clock(await drive.status(handle), "resolution").due_at == due

    await world.sleep_until(env, wednesday + MINUTE)  # when it would be due without the holiday
    assert world.actions("sla_breached") == []

    await world.sleep_until(env, due + MINUTE)
    [breach] = await world.actions_done("sla_breached", 1)
    assert on_time(breach.at, due)


async def test_breach_sets_the_sla_breached_search_attribute(
    env: WorkflowEnvironment, world: World
) -> None:
    handle, received = await held_in_routing(world, resolution_sla="PT1H", department_sla="P10D")
    described = await handle.describe()
    assert described.typed_search_attributes.get(SLA_BREACHED) is False

    await world.sleep_until(env, received + H + MINUTE)
    await world.actions_done("sla_breached", 1)
    await world.actions_done("escalated", 1)

    async def breached() -> None:
        while (await handle.describe()).typed_search_attributes.get(SLA_BREACHED) is not True:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(breached(), 3)


async def test_acknowledgement_promises_the_business_time_due(
    env: WorkflowEnvironment, world: World
) -> None:
    world.policy = {"business_clocks": ["resolution"]}
    await world.sleep_until(env, next_day_at(await world.now(), FRIDAY, 16))
    handle, _ = await held_in_routing(world, resolution_sla="PT8H", department_sla="P10D")
    due = clock(await drive.status(handle), "resolution").due_at
    [acknowledgement] = world.sent("acknowledgement")

    assert due is not None
    assert due.strftime("%A %d %B %Y, %H:%M UTC") in acknowledgement.body  # Monday 16:00
