"""Time in the workflow: one durable timer at a time, for the next SLA warning or breach.

The timekeeper asks the SLA state for the earliest mark over every running clock and sleeps
until then, or until a clock changes (started, paused, resumed, stopped), whichever is first.
It also serves the requests signal handlers leave behind (an escalation, an owner notice),
since those need activities and handlers cannot wait for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.roster import RosterActivities
    from models.activities import FindOwnerInput
    from models.contract import Stage
    from models.status import DepartmentState

from workflows import escalation, messages, outbox, steps
from workflows.case import SETTLED, TERMINAL, Case, Request
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
        # The timer and the awaited change can land in one activation: the change wins.
        return ready()
    return True


async def keep_time(case: Case, finished: Callable[[], bool]) -> None:
    """Records warnings and breaches as they fall due and queues what they call for; it never
    waits on an activity, so an outbox outage cannot hold up a breach."""
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
        # What landed in the same activation as the timer runs first (conditions are checked
        # only once nothing else is ready): a resolution sent just in time stops its clock.
        await workflow.wait_condition(lambda: True)
        if changed():
            continue
        if share is None:
            breach(case, clock)
        else:
            warn(case, clock, share)


def _changed(case: Case, version: int, finished: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: case.sla.version != version or finished()


def warn(case: Case, clock: Clock, share: float) -> None:
    assert case.policy is not None
    case.sla.warned(clock, share)
    due = clock.due_at(case.policy.business_windows)
    case.record(workflow.now(), SYSTEM, "sla_warning", {"clock": clock.name, "share": share})
    if share in case.policy.warning_thresholds:
        when = due.isoformat() if due else "unknown"
        case.requests.append(
            Request("warn", SYSTEM, f"{clock.name} SLA {share:.0%} used, due {when}")
        )
    if clock.name == "resolution" and share == case.policy.progress_update_at:
        case.requests.append(Request("progress", SYSTEM, due.isoformat() if due else ""))


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
    case.requests.append(Request("escalate", SYSTEM, f"{clock.name} SLA breached"))


async def attend(case: Case, finished: Callable[[], bool]) -> None:
    """The one place that walks escalations and sends what the timekeeper and the signal
    handlers asked for, in the order they asked. A step that fails for good is recorded and
    the next one is served: time keeping must not stop over one undeliverable notice."""
    while True:
        # Nothing new is taken up while the run continues as new: the queue is carried.
        await workflow.wait_condition(
            lambda: (bool(case.requests) and not case.continuing) or finished()
        )
        if not case.requests:
            return
        request = case.requests.pop(0)
        case.serving = True
        try:
            await _serve(case, request)
        except ActivityError as err:
            cause = getattr(err.cause, "type", None) or type(err.cause).__name__
            detail = {"request": request.kind, "cause": cause}
            case.record(workflow.now(), SYSTEM, "request_failed", detail)
        finally:
            case.serving = False


async def _serve(case: Case, request: Request) -> None:
    kind, actor, text, target = request
    if kind == "reassign":
        await _reassign(case, actor, text, target)
    elif kind == "escalate":
        if case.stage in TERMINAL:
            case.record(workflow.now(), actor, "escalation_skipped", {"reason": "inquiry ended"})
            return
        await escalation.escalate(case, actor, text)
    elif kind == "warn":
        await outbox.to_owner(case, text, "sla_warning")
    elif kind == "progress":
        due = datetime.fromisoformat(text) if text else None
        subject, body = messages.progress_update(case.intake.inquiry_id, case.owner or "", due)
        await outbox.to_customer(case, "progress_update", f"progress:{case.round}", subject, body)
    else:
        await outbox.to_owner(case, text)


async def _reassign(case: Case, by: str, reason: str, staff_id: str) -> None:
    """Ownership moves only to someone the roster lets own inquiries: any other id is refused
    like any refused signal, and never reaches InquiryOwner or the UI's details."""
    on_roster = await steps.local(
        case,
        RosterActivities.find_owner,
        FindOwnerInput(staff_id=staff_id),
        "check the new owner on the roster",
    )
    now = workflow.now()
    if not on_roster.found:
        case.refuse("reassign_owner", "owner_id is not on the roster as staff who own inquiries",
                    now, by)  # fmt: skip
    elif case.stage in TERMINAL or staff_id == case.owner:
        case.record(now, by, "reassignment_skipped", {"reason": "inquiry ended or owner unchanged"})
    else:
        case.assign(staff_id, on_roster.team, reason, by, now)
