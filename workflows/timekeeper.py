"""Time in the workflow: one durable timer at a time, for the next SLA warning or breach.

The timekeeper asks the SLA state for the earliest mark over every running clock and sleeps
until then, or until a clock changes (started, paused, resumed, stopped), whichever is first.
It also serves the requests signal handlers leave behind (an escalation, an owner notice),
since those need activities and handlers cannot wait for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contract import DepartmentState, Stage

from workflows import escalation, messages, outbox
from workflows.case import SETTLED, Case
from workflows.clocks import Clock
from workflows.policies import SYSTEM


async def until(ready: Callable[[], bool], timeout: timedelta, summary: str) -> bool:
    """Wait for `ready` at most `timeout`: True if it came true, False if the time ran out."""
    if ready():
        return True
    if timeout <= timedelta(0):
        return False
    try:
        await workflow.wait_condition(ready, timeout=timeout, timeout_summary=summary)
    except TimeoutError:
        return False
    return True


async def keep_time(case: Case, finished: Callable[[], bool]) -> None:
    while not finished():
        assert case.policy is not None
        mark = case.sla.next_mark(case.policy)
        changed = _changed(case, case.sla.version, finished)
        if mark is None:
            await workflow.wait_condition(changed)
            continue
        clock, at, share = mark
        label = "breach" if share is None else f"{share:.0%} warning"
        if await until(changed, at - workflow.now(), f"{clock.name} SLA {label}"):
            continue
        if share is None:
            await breach(case, clock)
        else:
            await warn(case, clock, share)


def _changed(case: Case, version: int, finished: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: case.sla.version != version or finished()


async def warn(case: Case, clock: Clock, share: float) -> None:
    assert case.policy is not None
    case.sla.warned(clock, share)
    due = clock.due_at(case.policy.business_windows)
    case.record(workflow.now(), SYSTEM, "sla_warning", {"clock": clock.name, "share": share})
    if share in case.policy.warning_thresholds:
        when = due.isoformat() if due else "unknown"
        what = f"{clock.name} SLA {share:.0%} used, due {when}"
        await outbox.to_owner(case, what, "sla_warning")
    if clock.name == "resolution" and share == case.policy.progress_update_at:
        subject, body = messages.progress_update(case.intake.inquiry_id, case.owner or "", due)
        await outbox.to_customer(case, "progress_update", f"progress:{case.round}", subject, body)


async def breach(case: Case, clock: Clock) -> None:
    case.sla.breached(clock)
    now = workflow.now()
    case.record(now, SYSTEM, "sla_breached", {"clock": clock.name})
    if clock.name == "department" and case.stage == Stage.ROUTING:
        for department, state in case.departments.items():
            if state.status not in SETTLED - {"needs_info"}:
                overdue = DepartmentState(
                    status="overdue", case_ref=state.case_ref, detail="department SLA passed"
                )
                case.department_update(department, overdue, SYSTEM, now)
    if clock.name == "compliance":
        case.senior_review = True
    await escalation.escalate(case, SYSTEM, f"{clock.name} SLA breached")


async def attend(case: Case, finished: Callable[[], bool]) -> None:
    """Serve what signal handlers asked for, in the order they asked."""
    while True:
        await workflow.wait_condition(lambda: bool(case.requests) or finished())
        if not case.requests:
            return
        kind, actor, reason = case.requests.pop(0)
        if kind == "escalate":
            await escalation.escalate(case, actor, reason)
        else:
            await outbox.to_owner(case, reason)
