"""Time in the workflow: one durable timer at a time, for the next SLA warning or breach.

The timekeeper asks the SLA state for the earliest mark over every running clock and sleeps
until then, waking too when a clock changes (started, paused, resumed, stopped).
What a warning or a breach calls for (a notice, an escalation) is queued as a request for
workflows/attendant.py: the timekeeper never waits on an activity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.contract import Stage
    from models.status import DepartmentState

from workflows.case import SETTLED, Case
from workflows.clocks import Clock
from workflows.policies import SYSTEM
from workflows.requests import Escalation, ProgressUpdate, SlaWarning


async def until(ready: Callable[[], bool], timeout: timedelta, summary: str) -> bool:
    """Wait for `ready` at most `timeout`: True if it came true, False if the time ran out."""
    if ready():
        return True
    if timeout <= timedelta(0):
        return False
    try:
        await workflow.wait_condition(ready, timeout=timeout, timeout_summary=summary)
    except TimeoutError:
        # The timer and the awaited change can land in one activation: the change wins.
        return ready()
    return True


async def keep_time(case: Case, finished: Callable[[], bool]) -> None:
    """Records warnings and breaches as they fall due and queues what they call for; it never
    waits on an activity, so an outbox outage cannot hold up a breach.

    One timer, armed for the earliest mark and re-armed only when a mark comes due sooner (a
    clock started or resumed). A mark that moves later (a clock stopped or paused) keeps the
    timer: it wakes early, finds nothing due and is armed for the next mark, which costs no more
    than re-arming at once and nothing at all for an inquiry that closes first."""
    assert case.policy is not None
    policy = case.policy

    def earliest() -> tuple[str, datetime, float | None] | None:
        mark = case.sla.next_mark(policy)
        return None if mark is None else (mark[0].name, mark[1], mark[2])

    alarm = Alarm()
    try:
        while not finished():
            mark = earliest()
            if mark is None:
                alarm.disarm()  # no clock runs: nothing to wake for (a cancel is not billed)
            elif mark[1] > workflow.now():
                name, at, share = mark
                alarm.arm(at, f"{name} SLA {'breach' if share is None else f'{share:.0%} warning'}")
            if mark is None or mark[1] > workflow.now():

                def woken(mark: tuple[str, datetime, float | None] | None = mark) -> bool:
                    return earliest() != mark or finished() or alarm.rang()

                await workflow.wait_condition(woken)
                if not alarm.rang():
                    continue
                alarm.disarm()
            # What landed in the same activation as the timer runs first (conditions are checked
            # only once nothing else is ready): a resolution sent just in time stops its clock.
            await workflow.wait_condition(lambda: True)
            due = earliest()
            if finished() or due is None or due[1] > workflow.now():
                continue
            clock = case.sla.clocks[due[0]]
            if due[2] is None:
                breach(case, clock)
            else:
                warn(case, clock, due[2])
    finally:
        alarm.disarm()


class Alarm:
    """The one durable timer: armed for an instant, re-armed only for a sooner one."""

    def __init__(self) -> None:
        self._timer: asyncio.Task[None] | None = None
        self._at: datetime | None = None

    def arm(self, at: datetime, summary: str) -> None:
        if self._at is not None and self._at <= at:
            return
        self.disarm()
        self._timer = asyncio.create_task(workflow.sleep(at - workflow.now(), summary=summary))
        self._at = at

    def rang(self) -> bool:
        return self._timer is not None and self._timer.done()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._at = None, None


def warn(case: Case, clock: Clock, share: float) -> None:
    assert case.policy is not None
    case.sla.warned(clock, share)
    due = clock.due_at(case.policy.business_windows)
    case.record(workflow.now(), SYSTEM, "sla_warning", {"clock": clock.name, "share": share})
    if share in case.policy.warning_thresholds:
        when = due.isoformat() if due else "unknown"
        case.requests.append(SlaWarning(text=f"{clock.name} SLA {share:.0%} used, due {when}"))
    if clock.name == "resolution" and share == case.policy.progress_update_at:
        case.requests.append(ProgressUpdate(due=due))


def breach(case: Case, clock: Clock) -> None:
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
    case.requests.append(Escalation(actor=SYSTEM, reason=f"{clock.name} SLA breached"))
